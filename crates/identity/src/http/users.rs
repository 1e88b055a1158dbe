//! Admin management of staff users, OPDs and ASN.

use actix_web::{HttpResponse, get, post, web};
use peken_kernel::auth::{AdminOnly, Auth, Role};
use peken_kernel::error::{Problem, Validation, check_email, check_password, check_text};
use peken_kernel::ids::{AsnKind, AsnNumber};
use peken_kernel::pagination::Page;
use peken_kernel::{ApiError, ApiResult, AppState};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::auth::MeResponse;
use crate::service::{self, NewUser};
use crate::store::opd;

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_user)
        .service(create_opd)
        .service(list_opds)
        .service(create_asn)
        .service(import_roster)
        .service(reclaim_nik);
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NikReclaimRequest {
    /// The 16-digit NIK its owner proved in person (KTP checked at the office).
    pub nik: String,
    /// Why, for the audit log: e.g. the KTP checked and the owner's statement.
    pub reason: String,
}

/// Give a NIK back to its owner: the public buyer account holding it is closed and loses the
/// NIK (its sessions end, its orders stay, its holder is mailed), so the owner can register.
/// For the person whose NIK someone else registered; audited with the reason.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    request_body = NikReclaimRequest,
    responses(
        (status = 200, description = "The account that held the NIK, now closed", body = MeResponse),
        (status = 404, description = "No account holds this NIK", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The NIK belongs to an ASN or merchant account (`nik_not_reclaimable`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/admin/nik-reclaims")]
async fn reclaim_nik(
    state: web::Data<AppState>,
    auth: Auth<AdminOnly>,
    body: web::Json<NikReclaimRequest>,
) -> ApiResult<web::Json<MeResponse>> {
    let (nik, reason) = crate::registration::check_reclaim(&body.nik, &body.reason)?;
    let closed = crate::registration::reclaim_nik(&state, &auth, nik.expose(), &reason).await?;
    Ok(web::Json(MeResponse::from_model(closed)?))
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StaffRole {
    Admin,
    Treasury,
    OpdAdmin,
    Camat,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateUserRequest {
    pub role: StaffRole,
    pub email: String,
    pub password: String,
    pub name: String,
    /// Required for `opd_admin`: the OPD whose ASN it oversees.
    pub opd_id: Option<String>,
    /// Required for `camat`: the kecamatan (`35.78.KK`) whose reports and shops it reads.
    pub kecamatan_code: Option<String>,
}

/// Create an admin, treasury, OPD admin or camat user.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    request_body = CreateUserRequest,
    responses(
        (status = 201, description = "Created", body = MeResponse),
        (status = 409, description = "E-mail taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/admin/users")]
async fn create_user(
    state: web::Data<AppState>,
    auth: Auth<AdminOnly>,
    body: web::Json<CreateUserRequest>,
) -> ApiResult<HttpResponse> {
    let mut v = Validation::new();
    let email = check_email(&mut v, "email", &body.email);
    let name = check_text(&mut v, "name", &body.name, 120);
    let password = check_password(&mut v, "password", &body.password);
    let role = match body.role {
        StaffRole::Admin => Role::Admin,
        StaffRole::Treasury => Role::Treasury,
        StaffRole::OpdAdmin => Role::OpdAdmin,
        StaffRole::Camat => Role::Camat,
    };
    let opd_id = match (&body.opd_id, role) {
        (Some(id), Role::OpdAdmin) => {
            let found = service::find_opd(&state.db, id).await?;
            v.require(
                found.is_some(),
                "opd_id",
                "unknown_opd",
                "no OPD with this id",
            );
            found.map(|o| o.id)
        }
        (None, Role::OpdAdmin) => {
            v.push("opd_id", "required", "an OPD admin needs an opd_id".into());
            None
        }
        (Some(_), _) => {
            v.push(
                "opd_id",
                "not_allowed",
                "only an OPD admin has an opd_id".into(),
            );
            None
        }
        (None, _) => None,
    };
    let kecamatan_code = match (&body.kecamatan_code, role) {
        (Some(code), Role::Camat) => {
            let found = state.regions.kecamatan(code);
            v.require(
                found.is_some(),
                "kecamatan_code",
                "unknown_region",
                "not a kecamatan of Surabaya",
            );
            found.map(|c| c.as_str().to_owned())
        }
        (None, Role::Camat) => {
            v.push(
                "kecamatan_code",
                "required",
                "a camat needs a kecamatan_code".into(),
            );
            None
        }
        (Some(_), _) => {
            v.push(
                "kecamatan_code",
                "not_allowed",
                "only a camat has a kecamatan_code".into(),
            );
            None
        }
        (None, _) => None,
    };
    let (name, password) = v.finish_with((name, password))?;
    let hash = state.passwords.hash(&password).await?;
    let mut new = NewUser::new(role, name, hash);
    new.email = email;
    new.opd_id = opd_id;
    new.kecamatan_code = kecamatan_code;
    let created = service::create_staff(&state, &auth, new).await?;
    Ok(HttpResponse::Created().json(MeResponse::from_model(created)?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateOpdRequest {
    /// Short code of the department, e.g. `DINKOPUMDAG`.
    pub code: String,
    pub name: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OpdResponse {
    pub id: String,
    pub code: String,
    pub name: String,
}

impl From<opd::Model> for OpdResponse {
    fn from(o: opd::Model) -> Self {
        Self {
            id: o.id,
            code: o.code,
            name: o.name,
        }
    }
}

fn check_code(v: &mut Validation, field: &str, value: &str) -> Option<String> {
    let code = value.trim().to_ascii_uppercase();
    let ok = (1..=32).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
    v.require(
        ok,
        field,
        "invalid_code",
        "1 to 32 letters, digits, '_', '-' or '.'",
    );
    ok.then_some(code)
}

/// Create an OPD (city department).
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    request_body = CreateOpdRequest,
    responses(
        (status = 201, description = "Created", body = OpdResponse),
        (status = 409, description = "Code taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/admin/opds")]
async fn create_opd(
    state: web::Data<AppState>,
    _auth: Auth<AdminOnly>,
    body: web::Json<CreateOpdRequest>,
) -> ApiResult<HttpResponse> {
    let mut v = Validation::new();
    let code = check_code(&mut v, "code", &body.code);
    let name = check_text(&mut v, "name", &body.name, 200);
    let (code, name) = v.finish_with((code, name))?;
    let created = service::create_opd(&state, code, name).await?;
    Ok(HttpResponse::Created().json(OpdResponse::from(created)))
}

/// List every OPD.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    responses((status = 200, description = "All OPDs", body = Page<OpdResponse>))
)]
#[get("/admin/opds")]
async fn list_opds(
    state: web::Data<AppState>,
    _auth: Auth<AdminOnly>,
) -> ApiResult<web::Json<Page<OpdResponse>>> {
    let items = service::list_opds(&state)
        .await?
        .into_iter()
        .map(OpdResponse::from)
        .collect();
    Ok(web::Json(Page {
        items,
        next_cursor: None,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateAsnRequest {
    /// 18-digit NIP (PNS) or NI PPPK.
    pub nip: String,
    /// `pns` or `pppk`; when absent the layout of the number decides, PNS first.
    pub asn_kind: Option<AsnKind>,
    pub name: String,
    pub email: String,
    pub password: String,
    pub opd_id: String,
    /// Position class that decides the monthly minimum, e.g. `camat` or `staf`.
    pub position_class: String,
    /// Kelurahan of the KTP domicile; absent when the ASN lives outside Surabaya.
    pub domicile_kelurahan_code: Option<String>,
    /// Kelurahan of the work location; required when there is no domicile in Surabaya.
    pub work_kelurahan_code: Option<String>,
}

/// Checks a position class: a lowercase slug.
pub fn check_position_class(v: &mut Validation, field: &str, value: &str) -> Option<String> {
    let class = value.trim().to_ascii_lowercase();
    let ok = (1..=50).contains(&class.len())
        && class
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    v.require(
        ok,
        field,
        "invalid_position_class",
        "1 to 50 of a-z, 0-9 and '_'",
    );
    ok.then_some(class)
}

/// Create one ASN.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    request_body = CreateAsnRequest,
    responses(
        (status = 201, description = "Created", body = MeResponse),
        (status = 409, description = "NIP or e-mail taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/admin/asn")]
async fn create_asn(
    state: web::Data<AppState>,
    _auth: Auth<AdminOnly>,
    body: web::Json<CreateAsnRequest>,
) -> ApiResult<HttpResponse> {
    let mut v = Validation::new();
    let nip = v.check(
        "nip",
        match body.asn_kind {
            Some(kind) => AsnNumber::parse_as(&body.nip, kind),
            None => AsnNumber::parse(&body.nip),
        },
    );
    let name = check_text(&mut v, "name", &body.name, 120);
    let email = check_email(&mut v, "email", &body.email);
    let password = check_password(&mut v, "password", &body.password);
    let class = check_position_class(&mut v, "position_class", &body.position_class);
    let opd = service::find_opd(&state.db, &body.opd_id).await?;
    v.require(
        opd.is_some(),
        "opd_id",
        "unknown_opd",
        "no OPD with this id",
    );
    let domicile = check_kelurahan(
        &state,
        &mut v,
        "domicile_kelurahan_code",
        body.domicile_kelurahan_code.as_deref(),
    );
    let work = check_kelurahan(
        &state,
        &mut v,
        "work_kelurahan_code",
        body.work_kelurahan_code.as_deref(),
    );
    v.require(
        domicile.is_some() || work.is_some() || !v.is_empty(),
        "work_kelurahan_code",
        "required",
        "an ASN living outside Surabaya needs a work kelurahan",
    );
    let (nip, name, password, class, opd) = v.finish_with((nip, name, password, class, opd))?;
    let hash = state.passwords.hash(&password).await?;
    let mut new = NewUser::new(Role::Asn, name, hash);
    new.nip = Some((nip.as_str().to_owned(), nip.kind()));
    new.email = email;
    new.opd_id = Some(opd.id);
    new.position_class = Some(class);
    new.domicile_kelurahan_code = domicile;
    new.work_kelurahan_code = work;
    let now = state.now();
    let txn = sea_orm::TransactionTrait::begin(&state.db).await?;
    let created = service::insert_user(&txn, new, now).await?;
    if let Some(opd_id) = &created.opd_id {
        crate::roster::record_opd(&txn, &created.id, opd_id, now).await?;
    }
    txn.commit().await?;
    Ok(HttpResponse::Created().json(MeResponse::from_model(created)?))
}

/// Import the city's ASN roster (CSV with a header line: `nip,name,email,opd_code,
/// position_class,domicile_kelurahan_code,work_kelurahan_code`). Known NIPs are updated, new
/// ones created; bad lines are reported and skipped; nobody is deactivated.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    request_body(content = String, content_type = "text/csv", description = "The roster"),
    responses(
        (status = 200, description = "What was created, updated and refused", body = crate::roster::ImportReport),
        (status = 415, description = "Not CSV", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unreadable file or missing columns", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/admin/asn/import")]
async fn import_roster(
    state: web::Data<AppState>,
    _auth: Auth<AdminOnly>,
    req: actix_web::HttpRequest,
    body: web::Bytes,
) -> ApiResult<web::Json<crate::roster::ImportReport>> {
    let content_type = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !(content_type.starts_with("text/csv") || content_type.starts_with("application/csv")) {
        return Err(ApiError::new(
            actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        )
        .with_detail("send the roster as text/csv"));
    }
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::unprocessable("invalid_encoding", "the roster must be UTF-8"))?;
    Ok(web::Json(crate::roster::import(&state, text).await?))
}

/// Checks an optional kelurahan code against the official table.
pub fn check_kelurahan(
    state: &AppState,
    v: &mut Validation,
    field: &str,
    code: Option<&str>,
) -> Option<String> {
    let code = code.map(str::trim).filter(|c| !c.is_empty())?;
    let found = state.regions.kelurahan(code);
    v.require(
        found.is_some(),
        field,
        "unknown_region",
        "not an official kelurahan code",
    );
    found.map(|c| c.as_str().to_owned())
}
