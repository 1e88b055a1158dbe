//! The one check of client text for control characters (`peken_kernel::text`), before any
//! extractor or handler sees the request: path, query string, headers, and JSON, web-form and
//! text bodies (uploads: CSV and MT940 statements, rosters). A request holding one is a 422
//! `control_character`, whatever the database behind would have made of it.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage as _, web};
use futures_util::StreamExt as _;
use peken_kernel::text::{
    control_character, control_line, form_has_control, has_encoded_control, json_has_control,
};
use peken_kernel::{ApiError, AppState};

/// What kind of body a request carries, by its content type.
enum Body {
    Json,
    Text,
    /// A web form (`application/x-www-form-urlencoded`: the console's forms).
    Form,
    Other,
}

fn body_kind(req: &ServiceRequest) -> Body {
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if essence == "application/json" || essence.ends_with("+json") {
        Body::Json
    } else if essence == "application/x-www-form-urlencoded" {
        Body::Form
    } else if essence.starts_with("text/")
        || essence == "application/csv"
        || essence == "application/x-mt940"
    {
        Body::Text
    } else {
        Body::Other
    }
}

fn too_large() -> ApiError {
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
        .with_detail("the request body is too large")
}

pub async fn refuse_control_characters(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    if let Err(refusal) = check_head(&req) {
        return Ok(req.error_response(refusal).map_into_right_body());
    }
    let kind = body_kind(&req);
    if !matches!(kind, Body::Other) {
        let limit = req
            .app_data::<web::Data<AppState>>()
            .map_or(1 << 20, |s| match kind {
                Body::Json | Body::Form => s.settings.max_body_bytes,
                _ => s.settings.max_upload_bytes,
            });
        match read_body(&mut req, limit).await {
            Ok(body) => {
                let text = String::from_utf8_lossy(&body);
                let refusal = match kind {
                    Body::Json => json_has_control(&text).then(|| control_character("body")),
                    Body::Form => form_has_control(&text).then(|| control_character("form")),
                    _ => control_line(&text)
                        .map(|line| control_character(&format!("body line {line}"))),
                };
                if let Some(refusal) = refusal {
                    return Ok(req.error_response(refusal).map_into_right_body());
                }
                req.set_payload(Payload::from(body));
            }
            Err(refusal) => return Ok(req.error_response(refusal).map_into_right_body()),
        }
    }
    Ok(next.call(req).await?.map_into_left_body())
}

fn check_head(req: &ServiceRequest) -> Result<(), ApiError> {
    let uri = req.uri();
    if has_encoded_control(uri.path()) {
        return Err(control_character("path"));
    }
    if uri.query().is_some_and(has_encoded_control) {
        return Err(control_character("query"));
    }
    for (name, value) in req.headers() {
        if value.as_bytes().iter().any(|&b| b < 0x20 || b == 0x7f) {
            return Err(control_character(&format!("header {name}")));
        }
    }
    Ok(())
}

/// The whole body, refused once it passes `limit` bytes (the limit the extractor would apply).
async fn read_body(req: &mut ServiceRequest, limit: usize) -> Result<web::Bytes, ApiError> {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut payload = req.take_payload();
    let mut body = web::BytesMut::with_capacity(declared.unwrap_or(0));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::bad_request("malformed_body", format!("the body could not be read: {e}"))
        })?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}
