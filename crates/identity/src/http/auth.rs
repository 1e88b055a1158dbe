//! Login, token refresh, logout, public registration and `/me`.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use peken_kernel::auth::{AnyRole, Auth, Role};
use peken_kernel::error::{
    Problem, Validation, check_email, check_password, check_phone, check_text,
};
use peken_kernel::ids::{Nik, mask_nik_str};
use peken_kernel::{ApiError, ApiResult, AppState};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::registration;
use crate::service;
use crate::store::user;

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(login)
        .service(refresh)
        .service(logout)
        .service(register)
        .service(confirm_registration)
        .service(me);
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    /// NIP (ASN), NIK (public buyer) or e-mail address.
    pub login: String,
    pub password: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Lifetime of the access token in seconds.
    pub expires_in: u64,
}

impl From<service::Session> for TokenResponse {
    fn from(s: service::Session) -> Self {
        Self {
            access_token: s.access_token,
            refresh_token: s.refresh_token,
            token_type: "Bearer".into(),
            expires_in: s.expires_in,
        }
    }
}

/// Log in with NIP, NIK or e-mail and a password.
#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = TokenResponse),
        (status = 401, description = "Wrong login or password, or account locked", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/login")]
async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<LoginRequest>,
) -> ApiResult<web::Json<TokenResponse>> {
    if body.login.len() > 254 || body.password.len() > 1024 {
        return Err(ApiError::unauthorized(
            "invalid_credentials",
            "login or password is wrong",
        ));
    }
    let session = service::login(
        &state,
        &body.login,
        &body.password,
        &peken_kernel::net::client_address(&req),
    )
    .await?;
    Ok(web::Json(session.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// Spend a refresh token for a new token pair. Reusing a spent token ends the session.
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "New token pair", body = TokenResponse),
        (status = 401, description = "Invalid, expired or reused token", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many refreshes from this address (PEKEN_REFRESH_IP_PER_MINUTE)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/refresh")]
async fn refresh(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<RefreshRequest>,
) -> ApiResult<web::Json<TokenResponse>> {
    service::limit_refresh(&state, &peken_kernel::net::client_address(&req)).await?;
    if body.refresh_token.len() > 256 {
        return Err(ApiError::unauthorized(
            "invalid_refresh_token",
            "the refresh token is invalid",
        ));
    }
    Ok(web::Json(
        service::refresh(&state, &body.refresh_token).await?.into(),
    ))
}

/// End the current session: its refresh tokens and access tokens stop working.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Logged out"),
        (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/logout")]
async fn logout(state: web::Data<AppState>, auth: Auth<AnyRole>) -> ApiResult<HttpResponse> {
    service::logout(&state, &auth).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RegisterRequest {
    /// 16-digit NIK.
    pub nik: String,
    pub name: String,
    pub email: String,
    pub phone: String,
    pub password: String,
    /// Official kelurahan code of the domicile, e.g. `35.78.01.1001`.
    pub kelurahan_code: String,
}

/// Who the caller is.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MeResponse {
    pub id: String,
    pub role: Role,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// In E.164 form (`+62…`) when set through `PATCH /me`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merchant_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opd_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nip: Option<String>,
    /// The NIK with its middle digits hidden, e.g. `3578********0001`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nik_masked: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position_class: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domicile_kelurahan_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub work_kelurahan_code: Option<String>,
    /// A camat's kecamatan.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kecamatan_code: Option<String>,
}

impl MeResponse {
    pub fn from_model(u: user::Model) -> ApiResult<Self> {
        let role = Role::parse(&u.role)
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("unknown role {}", u.role)))?;
        Ok(Self {
            id: u.id,
            role,
            name: u.name,
            email: u.email,
            phone: u.phone,
            merchant_id: u.merchant_id,
            opd_id: u.opd_id,
            nip: u.nip,
            nik_masked: u.nik.as_deref().map(mask_nik_str),
            position_class: u.position_class,
            domicile_kelurahan_code: u.domicile_kelurahan_code,
            work_kelurahan_code: u.work_kelurahan_code,
            kecamatan_code: u.kecamatan_code,
        })
    }
}

/// The same answer for every well-formed registration, whether or not the NIK or the address
/// is registered already.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RegistrationAccepted {
    /// Always `accepted`.
    pub status: String,
    pub detail: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RegistrationConfirm {
    /// The code from the confirmation mail.
    pub token: String,
}

/// Register as a public buyer with NIK. The answer is the same whatever is registered already:
/// a mail goes to the address, with a code that creates the account (valid 24 hours), or, when
/// the address has an account, a note to its owner, or, when another account holds the NIK, how
/// to reclaim it at the cooperatives office.
#[utoipa::path(
    tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 202, description = "Accepted; a mail is on its way to the address", body = RegistrationAccepted),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many registrations from this address, for this e-mail address or from everyone (PEKEN_REGISTRATION_IP_PER_MINUTE, PEKEN_REGISTRATION_PER_MINUTE, 5 an hour per e-mail address)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/register")]
async fn register(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<RegisterRequest>,
) -> ApiResult<HttpResponse> {
    service::limit_registration(&state, &peken_kernel::net::client_address(&req)).await?;
    let mut v = Validation::new();
    let nik = v.check("nik", Nik::parse(&body.nik));
    let name = check_text(&mut v, "name", &body.name, 120);
    let email = check_email(&mut v, "email", &body.email);
    let phone = check_phone(&mut v, "phone", &body.phone);
    let password = check_password(&mut v, "password", &body.password);
    let kelurahan = state.regions.kelurahan(body.kelurahan_code.trim());
    v.require(
        kelurahan.is_some(),
        "kelurahan_code",
        "unknown_region",
        "not an official kelurahan code",
    );
    let (nik, name, email, phone, password, kelurahan) =
        v.finish_with((nik, name, email, phone, password, kelurahan))?;
    registration::register(
        &state,
        registration::Form {
            nik: nik.expose().to_owned(),
            name,
            email,
            phone,
            password,
            kelurahan_code: kelurahan.as_str().to_owned(),
        },
    )
    .await?;
    Ok(HttpResponse::Accepted().json(RegistrationAccepted {
        status: "accepted".into(),
        detail: "a mail has been sent to the address; follow it to finish the registration".into(),
    }))
}

/// Finish a registration with the code from its mail: the account is created and can log in
/// with its NIK and password.
#[utoipa::path(
    tag = "auth",
    request_body = RegistrationConfirm,
    responses(
        (status = 201, description = "Registered", body = MeResponse),
        (status = 400, description = "Invalid, expired or used code (`invalid_registration_token`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The NIK or the address was registered since (`nik_taken`, `email_taken`)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/register/confirm")]
async fn confirm_registration(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<RegistrationConfirm>,
) -> ApiResult<HttpResponse> {
    let created = registration::confirm(
        &state,
        body.token.trim(),
        &peken_kernel::net::client_address(&req),
    )
    .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", "/api/v1/me"))
        .json(MeResponse::from_model(created)?))
}

/// The caller's own profile.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = MeResponse),
        (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me")]
async fn me(state: web::Data<AppState>, auth: Auth<AnyRole>) -> ApiResult<web::Json<MeResponse>> {
    let found = service::find_user(&state.db, &auth.user_id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("invalid_token", "the user no longer exists"))?;
    Ok(web::Json(MeResponse::from_model(found)?))
}
