//! The console's cookie session, its CSRF token and the same-origin check.
//!
//! Signing in runs identity's `login` (its rate limits and lockout) and keeps the login's
//! refresh token in an `HttpOnly`, `SameSite=Strict` cookie; every request asks identity who that
//! token stands for, so a logout, the end of a user's sessions or a deactivated account ends
//! the console's session at once. The token is never spent by the console. Each form carries a
//! token derived from the session's secret, and a POST must also come from this origin.

use std::marker::PhantomData;

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use peken_kernel::AppState;
use peken_kernel::auth::{Caller, RequestId, RoleSet};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::page::Failure;

/// The session cookie over plain HTTP (a development server).
pub const COOKIE: &str = "peken-console";
/// The session cookie when it is `Secure`: the `__Host-` prefix makes the browser refuse it
/// unless it is Secure, for this host only, and for every path.
pub const COOKIE_SECURE: &str = "__Host-peken-console";
/// The cookie that carries the sign-in form's token before there is a session.
const PRE_COOKIE: &str = "peken-console-form";

/// A signed-in console user whose role is in `R`.
pub struct Session<R> {
    pub caller: Caller,
    /// The token every form of this session carries.
    pub csrf: String,
    _roles: PhantomData<R>,
}

/// Whether cookies are `Secure`: the public address is https, or this request came over TLS
/// (directly, or as a trusted proxy says).
pub fn secure(state: &AppState, req: &HttpRequest) -> bool {
    state.settings.public_url.starts_with("https://") || req.connection_info().scheme() == "https"
}

fn cookie_name(secure: bool) -> &'static str {
    if secure { COOKIE_SECURE } else { COOKIE }
}

/// The session cookie for a new session.
pub fn session_cookie(secure: bool, token: String) -> Cookie<'static> {
    Cookie::build(cookie_name(secure), token)
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .finish()
}

/// A cookie that removes the session cookie.
pub fn removal_cookie(secure: bool) -> Cookie<'static> {
    let mut cookie = session_cookie(secure, String::new());
    cookie.make_removal();
    cookie
}

/// The sign-in form's token and the cookie that carries it (double submit: a page of another
/// site can neither read the cookie nor set it, so it cannot post a matching form).
pub fn form_token(secure: bool, req: &HttpRequest) -> (String, Option<Cookie<'static>>) {
    if let Some(existing) = req
        .cookie(PRE_COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|v| v.len() == 43)
    {
        return (existing, None);
    }
    let token = peken_kernel::auth::random_token();
    let cookie = Cookie::build(PRE_COOKIE, token.clone())
        .path("/console")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .finish();
    (token, Some(cookie))
}

/// Whether the sign-in form's token matches its cookie.
pub fn form_token_matches(req: &HttpRequest, sent: &str) -> bool {
    req.cookie(PRE_COOKIE)
        .is_some_and(|c| !sent.is_empty() && equal(c.value(), sent))
}

fn equal(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The CSRF token of a session: a digest of its secret, so it needs no storage and no other
/// session's token fits.
fn csrf_of(token: &str) -> String {
    hex::encode(Sha256::digest(
        format!("peken-console-csrf:{token}").as_bytes(),
    ))
}

/// The session token the request's cookie carries.
pub fn token(state: &AppState, req: &HttpRequest) -> Option<String> {
    req.cookie(cookie_name(secure(state, req)))
        .map(|c| c.value().to_owned())
        .filter(|v| !v.is_empty() && v.len() <= 128)
}

/// The signed-in user, if the role is in `R`: no or an ended session sends the browser to the
/// sign-in page, another role gets 403.
pub async fn signed_in<R: RoleSet>(
    state: &AppState,
    req: &HttpRequest,
) -> Result<Session<R>, Failure> {
    use actix_web::HttpMessage;
    let token = token(state, req).ok_or(Failure::SignIn)?;
    let mut caller = peken_identity::service::caller_of_refresh_token(
        state,
        &token,
        state.settings.console_session,
    )
    .await
    .map_err(Failure::Api)?
    .ok_or(Failure::SignIn)?;
    if !R::ROLES.contains(&caller.role) {
        return Err(Failure::Forbidden);
    }
    if let Some(ids) = req.extensions().get::<RequestId>() {
        caller.request_id = Some(ids.id.clone());
        caller.client_request_id.clone_from(&ids.client);
    }
    Ok(Session {
        caller,
        csrf: csrf_of(&token),
        _roles: PhantomData,
    })
}

/// A form whose only field is the session's CSRF token (approve, cancel, sign out, …).
#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

/// [`signed_in`] for a form: the request must come from this origin and carry the session's
/// CSRF token, else 403.
pub async fn posted<R: RoleSet>(
    state: &AppState,
    req: &HttpRequest,
    csrf: &str,
) -> Result<Session<R>, Failure> {
    if !same_origin(state, req) {
        return Err(Failure::CrossSite);
    }
    let session = signed_in::<R>(state, req).await?;
    session.check_csrf(csrf)?;
    Ok(session)
}

impl<R> Session<R> {
    /// Refuses a form whose token is not this session's.
    pub fn check_csrf(&self, sent: &str) -> Result<(), Failure> {
        if equal(&self.csrf, sent) {
            Ok(())
        } else {
            Err(Failure::CrossSite)
        }
    }
}

/// False when the browser says the request came from another site: `Sec-Fetch-Site` other than
/// `same-origin` (or `none`, typed by the user), or an `Origin` that is neither this host nor
/// the public address. Clients that send neither header rely on the CSRF token alone.
pub fn same_origin(state: &AppState, req: &HttpRequest) -> bool {
    let headers = req.headers();
    if let Some(site) = headers.get("sec-fetch-site") {
        let site = site.to_str().unwrap_or_default();
        if site != "same-origin" && site != "none" {
            return false;
        }
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let origin = origin.to_str().unwrap_or_default();
    let public = state.settings.public_url.trim_end_matches('/');
    if !public.is_empty() && origin == public {
        return true;
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    !host.is_empty()
        && (origin.strip_prefix("http://") == Some(host)
            || origin.strip_prefix("https://") == Some(host))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_tokens_differ_per_session_and_compare_exactly() {
        let a = csrf_of("one");
        assert_eq!(a, csrf_of("one"));
        assert_ne!(a, csrf_of("two"));
        assert!(equal(&a, &csrf_of("one")));
        assert!(!equal(&a, &a[..10]));
    }
}
