//! `/me/addresses`: a buyer's address book.

use actix_web::{HttpResponse, delete, get, patch, post, web};
use peken_kernel::auth::{Auth, BuyerOnly};
use peken_kernel::contact::{check_coordinates, check_indonesian_phone};
use peken_kernel::error::{Problem, Validation, check_text};
use peken_kernel::patch::present;
use peken_kernel::{ApiResult, AppState};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::addresses::{self, Address, AddressChange, NewAddress, check_city_kelurahan};

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list)
        .service(create)
        .service(get_one)
        .service(update)
        .service(remove);
}

const LABEL_MAX: usize = 40;
const RECIPIENT_MAX: usize = 100;
const STREET_MAX: usize = 300;
const NOTES_MAX: usize = 300;

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateAddressRequest {
    /// Up to 40 characters, e.g. `Rumah`.
    pub label: String,
    /// Who receives the goods; up to 100 characters.
    pub recipient: String,
    /// An Indonesian phone number (`0812…`, `62812…` or `+62812…`); stored as `+62…`.
    pub phone: String,
    /// An official kelurahan of the city (`35.78.KK.1NNN`).
    pub kelurahan_code: String,
    /// Street, number, RT/RW; up to 300 characters.
    pub street: String,
    /// Directions for the courier; up to 300 characters.
    pub notes: Option<String>,
    /// With `longitude`, or neither; inside Indonesia.
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    /// Make this the default address (the first address always is).
    #[serde(default)]
    pub is_default: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PatchAddressRequest {
    pub label: Option<String>,
    pub recipient: Option<String>,
    pub phone: Option<String>,
    pub kelurahan_code: Option<String>,
    pub street: Option<String>,
    /// `null` removes the notes.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub notes: Option<Value>,
    /// Give both coordinates, or `null` for both to remove them.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<f64>)]
    pub latitude: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<f64>)]
    pub longitude: Option<Value>,
    /// `true` makes this the default address.
    pub is_default: Option<bool>,
}

/// The notes, or `None` when there are none; a bad value is recorded in `v`.
fn check_notes(v: &mut Validation, notes: Option<&str>) -> Option<String> {
    notes
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .and_then(|n| check_text(v, "notes", n, NOTES_MAX))
}

/// A coordinate of a PATCH body.
enum Coordinate {
    Absent,
    Null,
    Number(f64),
}

fn coordinate(v: &mut Validation, field: &str, value: Option<&Value>) -> Coordinate {
    match value {
        None => Coordinate::Absent,
        Some(Value::Null) => Coordinate::Null,
        Some(Value::Number(n)) => n.as_f64().map_or(Coordinate::Null, Coordinate::Number),
        Some(_) => {
            v.push(field, "invalid_type", "a number or null".to_owned());
            Coordinate::Absent
        }
    }
}

/// The buyer's addresses, the default first.
#[utoipa::path(
    tag = "me",
    operation_id = "list_addresses",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's addresses, the default first", body = Vec<Address>),
        (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a buyer", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me/addresses")]
async fn list(
    state: web::Data<AppState>,
    auth: Auth<BuyerOnly>,
) -> ApiResult<web::Json<Vec<Address>>> {
    Ok(web::Json(addresses::list(&state, &auth.user_id).await?))
}

/// Add an address (at most 20). The first one, or one sent with `is_default`, is the default.
#[utoipa::path(
    tag = "me",
    operation_id = "create_address",
    security(("bearer" = [])),
    request_body = CreateAddressRequest,
    responses(
        (status = 201, description = "Created", body = Address,
            headers(("Location" = String, description = "The address: `/api/v1/me/addresses/{id}`"))),
        (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a buyer", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Twenty addresses already (`too_many_addresses`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields: `kelurahan_outside_city`, `unknown_region`, `invalid_phone`, `coordinates_off_map`, `coordinates_incomplete`, …", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/me/addresses")]
async fn create(
    state: web::Data<AppState>,
    auth: Auth<BuyerOnly>,
    body: web::Json<CreateAddressRequest>,
) -> ApiResult<HttpResponse> {
    let mut v = Validation::new();
    let label = check_text(&mut v, "label", &body.label, LABEL_MAX);
    let recipient = check_text(&mut v, "recipient", &body.recipient, RECIPIENT_MAX);
    let phone = check_indonesian_phone(&mut v, "phone", &body.phone);
    let kelurahan = check_city_kelurahan(
        &state.regions,
        &mut v,
        "kelurahan_code",
        &body.kelurahan_code,
    );
    let street = check_text(&mut v, "street", &body.street, STREET_MAX);
    let notes = check_notes(&mut v, body.notes.as_deref());
    let location = check_coordinates(&mut v, body.latitude, body.longitude);
    let (label, recipient, phone, kelurahan_code, street) =
        v.finish_with((label, recipient, phone, kelurahan, street))?;
    let created = addresses::create(
        &state,
        &auth.user_id,
        NewAddress {
            label,
            recipient,
            phone,
            kelurahan_code,
            street,
            notes,
            location,
            is_default: body.is_default,
        },
    )
    .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/me/addresses/{}", created.id)))
        .json(created))
}

/// One of the buyer's addresses.
#[utoipa::path(
    tag = "me",
    operation_id = "get_address",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Address id")),
    responses(
        (status = 200, description = "The address", body = Address),
        (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a buyer", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not one of the caller's addresses", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me/addresses/{id}")]
async fn get_one(
    state: web::Data<AppState>,
    auth: Auth<BuyerOnly>,
    id: web::Path<String>,
) -> ApiResult<web::Json<Address>> {
    Ok(web::Json(addresses::get(&state, &auth.user_id, &id).await?))
}

/// Change an address. Orders already placed keep the address they were sent to.
#[utoipa::path(
    tag = "me",
    operation_id = "update_address",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Address id")),
    request_body = PatchAddressRequest,
    responses(
        (status = 200, description = "The changed address", body = Address),
        (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a buyer", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not one of the caller's addresses", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/me/addresses/{id}")]
async fn update(
    state: web::Data<AppState>,
    auth: Auth<BuyerOnly>,
    id: web::Path<String>,
    body: web::Json<PatchAddressRequest>,
) -> ApiResult<web::Json<Address>> {
    let mut v = Validation::new();
    let mut change = AddressChange {
        make_default: body.is_default == Some(true),
        ..AddressChange::default()
    };
    if let Some(label) = &body.label {
        change.label = check_text(&mut v, "label", label, LABEL_MAX);
    }
    if let Some(recipient) = &body.recipient {
        change.recipient = check_text(&mut v, "recipient", recipient, RECIPIENT_MAX);
    }
    if let Some(phone) = &body.phone {
        change.phone = check_indonesian_phone(&mut v, "phone", phone);
    }
    if let Some(code) = &body.kelurahan_code {
        change.kelurahan_code =
            check_city_kelurahan(&state.regions, &mut v, "kelurahan_code", code);
    }
    if let Some(street) = &body.street {
        change.street = check_text(&mut v, "street", street, STREET_MAX);
    }
    match &body.notes {
        None => {}
        Some(Value::Null) => change.notes = Some(None),
        Some(Value::String(n)) => change.notes = Some(check_notes(&mut v, Some(n))),
        Some(_) => v.push("notes", "invalid_type", "a string or null".to_owned()),
    }
    let latitude = coordinate(&mut v, "latitude", body.latitude.as_ref());
    let longitude = coordinate(&mut v, "longitude", body.longitude.as_ref());
    match (latitude, longitude) {
        (Coordinate::Absent, Coordinate::Absent) => {}
        (Coordinate::Null, Coordinate::Null) => change.location = Some(None),
        (Coordinate::Number(lat), Coordinate::Number(lon)) => {
            change.location = Some(check_coordinates(&mut v, Some(lat), Some(lon)));
        }
        (lat, _) => v.push(
            if matches!(lat, Coordinate::Absent) {
                "latitude"
            } else {
                "longitude"
            },
            "coordinates_incomplete",
            "give both latitude and longitude (or null for both)".to_owned(),
        ),
    }
    v.finish()?;
    Ok(web::Json(
        addresses::update(&state, &auth.user_id, &id, change).await?,
    ))
}

/// Delete an address. When it was the default, the most recently changed other one becomes it.
#[utoipa::path(
    tag = "me",
    operation_id = "delete_address",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Address id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a buyer", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not one of the caller's addresses", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/me/addresses/{id}")]
async fn remove(
    state: web::Data<AppState>,
    auth: Auth<BuyerOnly>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    addresses::delete(&state, &auth.user_id, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}
