//! `PATCH /me`, `POST /me/email/confirm`, `POST /me/password`: a user's own profile.

use actix_web::{HttpResponse, patch, post, web};
use peken_kernel::auth::{AnyRole, Auth};
use peken_kernel::contact::check_indonesian_phone;
use peken_kernel::error::{Problem, Validation, check_email, check_password, check_text};
use peken_kernel::patch::present;
use peken_kernel::{ApiResult, AppState};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::auth::MeResponse;
use crate::profile::{self, ProfileChange};

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(update)
        .service(confirm_email)
        .service(change_password);
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PatchMeRequest {
    /// Up to 200 characters.
    pub name: Option<String>,
    /// An Indonesian phone number; `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Value>,
    /// A new address: a code is mailed to it, and the address changes once the code is sent
    /// to `POST /me/email/confirm`.
    pub email: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProfileResponse {
    #[serde(flatten)]
    pub me: MeResponse,
    /// The address waiting for its confirmation code, when a change was asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_email: Option<String>,
}

/// Change the caller's name or phone; ask to change the e-mail address (a code goes to the new
/// address; the old one stays until the code is confirmed).
#[utoipa::path(
    tag = "me",
    operation_id = "update_me",
    security(("bearer" = [])),
    request_body = PatchMeRequest,
    responses(
        (status = 200, description = "The caller after the change", body = ProfileResponse),
        (status = 409, description = "The new e-mail address belongs to another user (`email_taken`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many e-mail changes this hour", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/me")]
async fn update(
    state: web::Data<AppState>,
    auth: Auth<AnyRole>,
    body: web::Json<PatchMeRequest>,
) -> ApiResult<web::Json<ProfileResponse>> {
    let mut v = Validation::new();
    let mut change = ProfileChange::default();
    if let Some(name) = &body.name {
        change.name = check_text(&mut v, "name", name, 200);
    }
    match &body.phone {
        None => {}
        Some(Value::Null) => change.phone = Some(None),
        Some(Value::String(p)) => {
            change.phone = check_indonesian_phone(&mut v, "phone", p).map(Some);
        }
        Some(_) => v.push("phone", "invalid_type", "a string or null".to_owned()),
    }
    if let Some(email) = &body.email {
        change.email = check_email(&mut v, "email", email);
    }
    v.finish()?;
    let changed = profile::update(&state, &auth, change).await?;
    Ok(web::Json(ProfileResponse {
        me: MeResponse::from_model(changed.user)?,
        pending_email: changed.pending_email,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ConfirmEmailRequest {
    /// The code from the mail sent to the new address.
    pub code: String,
}

/// Confirm an e-mail change with the code mailed to the new address. The old address is told.
#[utoipa::path(
    tag = "me",
    security(("bearer" = [])),
    request_body = ConfirmEmailRequest,
    responses(
        (status = 200, description = "The caller with the new address", body = MeResponse),
        (status = 400, description = "Wrong, spent or expired code (`invalid_email_change_code`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The address was taken meanwhile (`email_taken`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/me/email/confirm")]
async fn confirm_email(
    state: web::Data<AppState>,
    auth: Auth<AnyRole>,
    body: web::Json<ConfirmEmailRequest>,
) -> ApiResult<web::Json<MeResponse>> {
    let saved = profile::confirm_email(&state, &auth, body.code.trim()).await?;
    Ok(web::Json(MeResponse::from_model(saved)?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    /// 10 to 128 characters.
    pub new_password: String,
}

/// Change the caller's password. Needs the current one; every other session of the caller
/// ends (this one stays logged in).
#[utoipa::path(
    tag = "me",
    security(("bearer" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "Changed; other sessions ended"),
        (status = 422, description = "Wrong current password (`wrong_password`), a new password too short or the same", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/me/password")]
async fn change_password(
    state: web::Data<AppState>,
    auth: Auth<AnyRole>,
    body: web::Json<ChangePasswordRequest>,
) -> ApiResult<HttpResponse> {
    let mut v = Validation::new();
    let new = check_password(&mut v, "new_password", &body.new_password);
    v.require(
        !body.current_password.is_empty() && body.current_password.len() <= 1024,
        "current_password",
        "required",
        "the current password is required",
    );
    let (new,) = v.finish_with((new,))?;
    profile::change_password(&state, &auth, &body.current_password, &new).await?;
    Ok(HttpResponse::NoContent().finish())
}
