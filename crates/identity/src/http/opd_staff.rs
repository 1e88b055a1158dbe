//! The OPD admin's management of its purchasing staff and settings: `/opd/staff`,
//! `/opd/purchasing-settings`.

use actix_web::{HttpResponse, get, post, put, web};
use peken_kernel::auth::Auth;
use peken_kernel::error::{Problem, Validation, check_email, check_password, check_text};
use peken_kernel::{ApiResult, AppState, Rupiah, role_set};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::opd_staff::{self, Duty, OpdStaffMember, PurchasingSettings};

role_set!(pub OpdAdminOnly = [OpdAdmin]);
role_set!(pub OpdPeople = [OpdAdmin, OpdStaff]);

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_opd_staff)
        .service(list_opd_staff)
        .service(set_opd_staff_duties)
        .service(get_purchasing_settings)
        .service(set_purchasing_settings);
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateOpdStaffRequest {
    pub name: String,
    pub email: String,
    pub password: String,
    /// Any of `buyer`, `ppk`, `receiver`, `treasurer`.
    #[serde(default)]
    pub duties: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DutiesRequest {
    /// The duties held afterwards: any of `buyer`, `ppk`, `receiver`, `treasurer`.
    pub duties: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PurchasingSettingsRequest {
    /// Orders whose total is above this wait for the PPK's approval (whole rupiah, ≥ 0).
    pub approval_threshold: Rupiah,
}

fn parse_duties(v: &mut Validation, raw: &[String]) -> Vec<Duty> {
    let mut out = Vec::new();
    for (i, d) in raw.iter().enumerate() {
        match Duty::parse(d.trim()) {
            Some(duty) if !out.contains(&duty) => out.push(duty),
            Some(_) => {}
            None => v.push(
                &format!("duties[{i}]"),
                "invalid_duty",
                "one of buyer, ppk, receiver, treasurer".into(),
            ),
        }
    }
    out.sort();
    out
}

/// Create a purchasing staff member of the caller's OPD with its duties (audited).
#[utoipa::path(
    tag = "opd",
    security(("bearer" = [])),
    request_body = CreateOpdStaffRequest,
    responses(
        (status = 201, description = "Created", body = OpdStaffMember),
        (status = 409, description = "E-mail taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/opd/staff")]
async fn create_opd_staff(
    state: web::Data<AppState>,
    auth: Auth<OpdAdminOnly>,
    body: web::Json<CreateOpdStaffRequest>,
) -> ApiResult<HttpResponse> {
    let mut v = Validation::new();
    let email = check_email(&mut v, "email", &body.email);
    let name = check_text(&mut v, "name", &body.name, 120);
    let password = check_password(&mut v, "password", &body.password);
    let duties = parse_duties(&mut v, &body.duties);
    let (name, password, email) = v.finish_with((name, password, email))?;
    let hash = state.passwords.hash(&password).await?;
    let created = opd_staff::create(&state, &auth, name, email, hash, duties).await?;
    Ok(HttpResponse::Created().json(created))
}

/// The purchasing staff of the caller's OPD with their duties.
#[utoipa::path(
    tag = "opd",
    security(("bearer" = [])),
    responses((status = 200, description = "The staff, by name", body = Vec<OpdStaffMember>))
)]
#[get("/opd/staff")]
async fn list_opd_staff(
    state: web::Data<AppState>,
    auth: Auth<OpdAdminOnly>,
) -> ApiResult<web::Json<Vec<OpdStaffMember>>> {
    Ok(web::Json(opd_staff::list(&state, &auth).await?))
}

/// Grant and revoke duties: the staff member holds exactly the given duties afterwards
/// (audited with what was granted and revoked). Another OPD's user is 404.
#[utoipa::path(
    tag = "opd",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The staff member's user id")),
    request_body = DutiesRequest,
    responses(
        (status = 200, description = "The staff member now", body = OpdStaffMember),
        (status = 404, description = "No staff member of this OPD", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown duty", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/opd/staff/{id}/duties")]
async fn set_opd_staff_duties(
    state: web::Data<AppState>,
    auth: Auth<OpdAdminOnly>,
    path: web::Path<String>,
    body: web::Json<DutiesRequest>,
) -> ApiResult<web::Json<OpdStaffMember>> {
    let mut v = Validation::new();
    let duties = parse_duties(&mut v, &body.duties);
    v.finish()?;
    Ok(web::Json(
        opd_staff::set_duties(&state, &auth, &path, duties).await?,
    ))
}

/// The caller's OPD's purchasing settings (its approval threshold).
#[utoipa::path(
    tag = "opd",
    security(("bearer" = [])),
    responses((status = 200, description = "The settings", body = PurchasingSettings))
)]
#[get("/opd/purchasing-settings")]
async fn get_purchasing_settings(
    state: web::Data<AppState>,
    auth: Auth<OpdPeople>,
) -> ApiResult<web::Json<PurchasingSettings>> {
    let opd_id = opd_staff::caller_opd(&auth)?;
    Ok(web::Json(opd_staff::settings(&state.db, opd_id).await?))
}

/// Set the caller's OPD's approval threshold (audited).
#[utoipa::path(
    tag = "opd",
    security(("bearer" = [])),
    request_body = PurchasingSettingsRequest,
    responses(
        (status = 200, description = "The settings now", body = PurchasingSettings),
        (status = 422, description = "Negative threshold", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/opd/purchasing-settings")]
async fn set_purchasing_settings(
    state: web::Data<AppState>,
    auth: Auth<OpdAdminOnly>,
    body: web::Json<PurchasingSettingsRequest>,
) -> ApiResult<web::Json<PurchasingSettings>> {
    let mut v = Validation::new();
    v.require(
        body.approval_threshold.get() >= 0,
        "approval_threshold",
        "invalid_amount",
        "must not be negative",
    );
    v.finish()?;
    Ok(web::Json(
        opd_staff::set_threshold(&state, &auth, body.approval_threshold).await?,
    ))
}
