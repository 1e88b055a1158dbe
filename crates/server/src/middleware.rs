//! Per-request plumbing: a request id, a tracing span, metrics, a time limit, and the language
//! every error is rendered in.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpResponse, web};
use peken_kernel::problems::Lang;
use peken_kernel::{ApiError, AppState};
use tracing::Instrument;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the current request, for the audit log and error reports; it lives in the kernel
/// so that `Auth` can hand it to services with the caller.
pub use peken_kernel::auth::RequestId;

/// Wraps every request: assigns it an id of the server's own (a client's `X-Request-Id`, when
/// sane, is kept beside it as `client_id`, never in its place, so no client names the request
/// the audit log records), times it, records it in the metrics and the log, and answers 503
/// when it runs past the configured limit.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let request_id = peken_kernel::db::new_id();
    let client_id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (8..=64).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        .map(str::to_owned);
    req.extensions_mut().insert(RequestId {
        id: request_id.clone(),
        client: client_id.clone(),
    });
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let method = req.method().to_string();
    let route = req
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    // Only the path is logged: query strings may carry personal data.
    let span = tracing::info_span!(
        "request",
        id = %request_id,
        client_id = client_id.as_deref().unwrap_or(""),
        %method,
        path = %req.path()
    );
    let timeout = state
        .as_ref()
        .map_or(std::time::Duration::from_secs(30), |s| {
            s.settings.request_timeout
        });
    let result = tokio::time::timeout(timeout, next.call(req).instrument(span.clone())).await;
    let Ok(response) = result else {
        span.in_scope(|| tracing::warn!("request timed out"));
        return Err(ApiError::unavailable("request_timeout").into());
    };
    let mut response = response?;
    let status = response.status();
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    let elapsed = started.elapsed();
    if let Some(state) = &state {
        state
            .metrics
            .http_requests
            .with_label_values(&[method.as_str(), route.as_str(), status.as_str()])
            .inc();
        state
            .metrics
            .http_duration
            .with_label_values(&[method.as_str(), route.as_str()])
            .observe(elapsed.as_secs_f64());
    }
    span.in_scope(|| {
        tracing::info!(
            status = status.as_u16(),
            ms = elapsed.as_millis() as u64,
            "handled"
        );
    });
    Ok(response)
}

/// The outermost layer: renders every error response in the request's language
/// (`Accept-Language`, see [`Lang::negotiate`]), wherever it was raised (a handler, an
/// extractor, the `Auth` guard, a rate limit, the control-character guard, the time limit), and
/// turns the few errors actix answers itself (405 for a method a route does not take, a body
/// its own extractors could not read) into problems too, so every error is problem+json.
pub async fn language(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let lang = Lang::negotiate(
        req.headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    let response = match next.call(req).await {
        Ok(response) => response.map_into_boxed_body(),
        // An error a layer inside returned (the time limit, the control-character guard):
        // actix answers with the response it carries.
        Err(err) => {
            let api = err.as_error::<ApiError>();
            if let Some(api) = api {
                api.log_cause();
            }
            let rendered = render(&err, lang).unwrap_or_else(|| {
                from_status(err.as_response_error().status_code()).response(lang)
            });
            return Err(InternalError::from_response(err, rendered).into());
        }
    };
    let status = response.status();
    let rendered = match response.response().error() {
        Some(err) => Some(render(err, lang).unwrap_or_else(|| from_status(status).response(lang))),
        // actix's own answer to a method a resource does not take: an empty 405.
        None if status == StatusCode::METHOD_NOT_ALLOWED => {
            Some(from_status(status).response(lang))
        }
        None => None,
    };
    let Some(mut rendered) = rendered else {
        return Ok(response);
    };
    // Keep what the layers inside added (the request id, `Allow`, `WWW-Authenticate`).
    for (name, value) in response.headers() {
        if !rendered.headers().contains_key(name)
            && name != header::CONTENT_LENGTH
            && name != header::CONTENT_TYPE
        {
            rendered.headers_mut().append(name.clone(), value.clone());
        }
    }
    let (request, _) = response.into_parts();
    Ok(ServiceResponse::new(request, rendered))
}

/// An `ApiError` behind an error, rendered in `lang` (its cause is logged where it was first
/// rendered).
fn render(err: &Error, lang: Lang) -> Option<HttpResponse> {
    err.as_error::<ApiError>().map(|api| api.response(lang))
}

/// The problem for an error actix raised itself, by its status.
fn from_status(status: StatusCode) -> ApiError {
    match status.as_u16() {
        404 => ApiError::new(StatusCode::NOT_FOUND, "not_found").with_detail("no such route"),
        405 => ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
            .with_detail("this path does not take this HTTP method"),
        413 => ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
            .with_detail("the request body is too large"),
        415 => ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            .with_detail("this path does not take the request's Content-Type"),
        400..=499 => ApiError::bad_request("malformed_body", "the request could not be read"),
        _ => {
            let err = ApiError::internal(anyhow::anyhow!(
                "an error without a problem, status {status}"
            ));
            err.log_cause();
            err
        }
    }
}

/// Turns an extractor failure (bad JSON, wrong content type, oversized body, bad query or path)
/// into a problem response with a stable code.
#[expect(
    clippy::needless_pass_by_value,
    reason = "the signature actix requires"
)]
pub fn json_error(err: actix_web::error::JsonPayloadError, _: &actix_web::HttpRequest) -> Error {
    use actix_web::error::JsonPayloadError as E;
    let api = match &err {
        E::OverflowKnownLength { .. } | E::Overflow { .. } => ApiError::new(
            actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        )
        .with_detail("the request body is too large"),
        E::ContentType => ApiError::new(
            actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        )
        .with_detail("expected Content-Type: application/json"),
        E::Deserialize(e) if e.is_data() => {
            ApiError::unprocessable("invalid_body", format!("the body does not match: {e}"))
        }
        _ => ApiError::bad_request("malformed_json", "the body is not valid JSON"),
    };
    api.into()
}

#[expect(
    clippy::needless_pass_by_value,
    reason = "the signature actix requires"
)]
pub fn query_error(err: actix_web::error::QueryPayloadError, _: &actix_web::HttpRequest) -> Error {
    ApiError::bad_request("invalid_query", format!("invalid query parameters: {err}")).into()
}

#[expect(
    clippy::needless_pass_by_value,
    reason = "the signature actix requires"
)]
pub fn path_error(err: actix_web::error::PathError, _: &actix_web::HttpRequest) -> Error {
    ApiError::new(actix_web::http::StatusCode::NOT_FOUND, "not_found")
        .with_detail(format!("no such resource: {err}"))
        .into()
}

#[cfg(test)]
mod tests {
    use actix_web::middleware::from_fn;
    use actix_web::{App, HttpResponse, test, web};

    use super::*;

    #[actix_web::test]
    async fn errors_actix_raises_itself_become_problems_in_the_language() {
        let app = test::init_service(
            App::new()
                .service(web::resource("/only-get").route(web::get().to(HttpResponse::Ok)))
                .route(
                    "/bytes",
                    web::post().to(|body: web::Bytes| async move { body.len().to_string() }),
                )
                .app_data(web::PayloadConfig::new(4))
                .wrap(from_fn(language)),
        )
        .await;
        for (accept, lang, title) in [
            (None, "id", "Metode tidak diizinkan"),
            (Some("en"), "en", "Method Not Allowed"),
        ] {
            let mut req = test::TestRequest::delete().uri("/only-get");
            if let Some(accept) = accept {
                req = req.insert_header((header::ACCEPT_LANGUAGE, accept));
            }
            let res = test::call_service(&app, req.to_request()).await;
            assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
            let said = res.headers().get(header::CONTENT_LANGUAGE);
            assert_eq!(said.and_then(|v| v.to_str().ok()), Some(lang));
            let body: serde_json::Value = test::read_body_json(res).await;
            assert_eq!(body["code"], "method_not_allowed");
            assert_eq!(body["title"], title);
        }
        // actix's own payload error (not an ApiError) becomes a problem with a code.
        let req = test::TestRequest::post()
            .uri("/bytes")
            .set_payload("too long for four bytes")
            .to_request();
        let res = test::call_service(&app, req).await;
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let content_type = res.headers().get(header::CONTENT_TYPE);
        assert_eq!(
            content_type.and_then(|v| v.to_str().ok()),
            Some("application/problem+json")
        );
        let body: serde_json::Value = test::read_body_json(res).await;
        assert_eq!(body["code"], "payload_too_large");
        assert_eq!(body["title"], "Isi permintaan terlalu besar");
    }
}
