//! Forgotten password and account activation: ask for a code by mail, then set a password
//! with it.

use actix_web::{HttpRequest, HttpResponse, post, web};
use peken_kernel::error::{Problem, Validation, check_password};
use peken_kernel::{ApiResult, AppState};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::password;

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(request_reset).service(confirm_reset);
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordResetRequest {
    /// NIP (ASN), NIK (public buyer) or e-mail address, as at login.
    pub login: String,
}

/// The same answer for every request, whether or not the account exists.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PasswordResetAccepted {
    /// Always `accepted`.
    pub status: String,
    pub detail: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordResetConfirm {
    /// The code from the reset or activation mail.
    pub token: String,
    /// The new password: 10 to 128 characters.
    pub password: String,
}

/// Ask for a password reset code. If the login names an active account with an e-mail
/// address, a single-use code valid for two hours is mailed to it. The answer is the same
/// whether or not the account exists.
#[utoipa::path(
    tag = "auth",
    request_body = PasswordResetRequest,
    responses(
        (status = 202, description = "Accepted; a mail is on its way if the account exists", body = PasswordResetAccepted),
        (status = 429, description = "Too many requests", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/password-reset")]
async fn request_reset(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<PasswordResetRequest>,
) -> ApiResult<HttpResponse> {
    // An overlong login names no account; it gets the same answer without a lookup.
    if body.login.len() <= 254 {
        password::request_reset(
            &state,
            &body.login,
            &peken_kernel::net::client_address(&req),
        )
        .await?;
    }
    Ok(HttpResponse::Accepted().json(PasswordResetAccepted {
        status: "accepted".into(),
        detail: "if this account exists and has an e-mail address, a code has been sent to it"
            .into(),
    }))
}

/// Set a new password with a code from a reset or activation mail. The code works once; every
/// session of the account ends and a lockout is lifted.
#[utoipa::path(
    tag = "auth",
    request_body = PasswordResetConfirm,
    responses(
        (status = 204, description = "Password set"),
        (status = 400, description = "Invalid, expired or used code (`invalid_reset_token`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The password is too weak", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/password-reset/confirm")]
async fn confirm_reset(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<PasswordResetConfirm>,
) -> ApiResult<HttpResponse> {
    let mut v = Validation::new();
    let password = check_password(&mut v, "password", &body.password);
    let (password,) = v.finish_with((password,))?;
    let token = body.token.trim();
    password::confirm(
        &state,
        token,
        &password,
        &peken_kernel::net::client_address(&req),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
