//! Signing in and out, and the home page.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use peken_kernel::AppState;
use peken_kernel::auth::AnyRole;
use peken_kernel::net::client_address;
use serde::Deserialize;

use crate::page::{self, Failure, Frame, Page};
use crate::session::{
    self, CsrfForm, form_token, form_token_matches, posted, removal_cookie, secure,
};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("", web::get().to(home))
        .route("/", web::get().to(home))
        .route("/masuk", web::get().to(sign_in_form))
        .route("/masuk", web::post().to(sign_in))
        .route("/keluar", web::post().to(sign_out));
}

#[derive(Template)]
#[template(path = "home.html")]
struct Home {
    frame: Frame,
}

async fn home(state: web::Data<AppState>, req: HttpRequest) -> Page {
    Page(
        async {
            let session = session::signed_in::<AnyRole>(&state, &req).await?;
            page::ok(&Home {
                frame: Frame::of(&session.caller, &session.csrf, "/console"),
            })
        }
        .await,
    )
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignIn {
    frame: Frame,
    csrf: String,
    login: String,
    message: Option<&'static str>,
    signed_out: bool,
}

fn sign_in_page(
    state: &AppState,
    req: &HttpRequest,
    status: StatusCode,
    login: String,
    message: Option<&'static str>,
    signed_out: bool,
) -> Result<HttpResponse, Failure> {
    let (csrf, cookie) = form_token(secure(state, req), req);
    let mut response = page::html(
        status,
        SignIn {
            frame: Frame::anonymous(),
            csrf,
            login,
            message,
            signed_out,
        }
        .render()?,
    );
    if let Some(cookie) = cookie {
        response
            .add_cookie(&cookie)
            .map_err(|e| Failure::Api(peken_kernel::ApiError::internal(anyhow::anyhow!(e))))?;
    }
    Ok(response)
}

#[derive(Deserialize)]
struct Notice {
    pesan: Option<String>,
}

async fn sign_in_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<Notice>,
) -> Page {
    let signed_out = query.pesan.as_deref() == Some("keluar");
    Page(sign_in_page(
        &state,
        &req,
        StatusCode::OK,
        String::new(),
        None,
        signed_out,
    ))
}

#[derive(Deserialize)]
struct SignInForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
}

/// Signs in through identity's `login`: the same rate limits, lockout and refusal of inactive
/// accounts as the API. Only the roles the console serves get a session.
async fn sign_in(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<SignInForm>,
) -> Page {
    Page(
        async {
            if !session::same_origin(&state, &req) || !form_token_matches(&req, &form.csrf) {
                return Err(Failure::CrossSite);
            }
            let login = form.login.trim().chars().take(254).collect::<String>();
            if form.login.len() > 254 || form.password.len() > 1024 {
                return sign_in_page(
                    &state,
                    &req,
                    StatusCode::UNAUTHORIZED,
                    login,
                    Some(WRONG),
                    false,
                );
            }
            let started = match peken_identity::service::login(
                &state,
                &form.login,
                &form.password,
                &client_address(&req),
            )
            .await
            {
                Ok(started) => started,
                Err(err) if err.status() == StatusCode::UNAUTHORIZED => {
                    return sign_in_page(
                        &state,
                        &req,
                        StatusCode::UNAUTHORIZED,
                        login,
                        Some(WRONG),
                        false,
                    );
                }
                Err(err) if err.status() == StatusCode::TOO_MANY_REQUESTS => {
                    return sign_in_page(
                        &state,
                        &req,
                        StatusCode::TOO_MANY_REQUESTS,
                        login,
                        Some("Terlalu banyak percobaan. Tunggu sebentar lalu coba lagi."),
                        false,
                    );
                }
                Err(err) => return Err(err.into()),
            };
            let secure = secure(&state, &req);
            let mut response = page::see_other("/console");
            response
                .add_cookie(&session::session_cookie(secure, started.refresh_token))
                .map_err(|e| Failure::Api(peken_kernel::ApiError::internal(anyhow::anyhow!(e))))?;
            Ok(response)
        }
        .await,
    )
}

const WRONG: &str = "NIP/NIK/e-mail atau kata sandi salah.";

/// Ends the session (identity's logout: the API's tokens of this login end too) and removes
/// the cookie.
async fn sign_out(state: web::Data<AppState>, req: HttpRequest, form: web::Form<CsrfForm>) -> Page {
    Page(
        async {
            let session = posted::<AnyRole>(&state, &req, &form.csrf).await?;
            peken_identity::service::logout(&state, &session.caller).await?;
            let mut response = page::see_other("/console/masuk?pesan=keluar");
            response
                .add_cookie(&removal_cookie(secure(&state, &req)))
                .map_err(|e| Failure::Api(peken_kernel::ApiError::internal(anyhow::anyhow!(e))))?;
            Ok(response)
        }
        .await,
    )
}
