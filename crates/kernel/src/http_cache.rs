//! Conditional GET for JSON that changes rarely (categories, commodities, regions, a listing):
//! a strong `ETag` from the body's SHA-256, `304 Not Modified` when `If-None-Match` names it,
//! and a `Cache-Control` that says how long a phone may reuse the answer without asking.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::{ApiError, ApiResult};

/// Who may keep the answer: any cache, or only the caller's own device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Public,
    Private,
}

/// The strong `ETag` of a body: the first 128 bits of its SHA-256, quoted.
pub fn etag_of(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    format!("\"{}\"", hex::encode(&digest[..16]))
}

/// Whether `If-None-Match` names `etag` (or is `*`); weak tags compare by their value, as RFC
/// 9110 asks of `If-None-Match`.
pub fn if_none_match(request: &HttpRequest, etag: &str) -> bool {
    request
        .headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == "*" || tag == etag)
}

/// `Cache-Control` for an answer a client may reuse for `max_age` seconds and must then
/// revalidate.
pub fn cache_control(audience: Audience, max_age: u32) -> String {
    let who = match audience {
        Audience::Public => "public",
        Audience::Private => "private",
    };
    format!("{who}, max-age={max_age}, must-revalidate")
}

/// The JSON answer with its `ETag` and `Cache-Control`, or `304` without a body when the client
/// already holds it.
pub fn json<T: Serialize>(
    request: &HttpRequest,
    value: &T,
    audience: Audience,
    max_age: u32,
) -> ApiResult<HttpResponse> {
    let body = serde_json::to_vec(value).map_err(ApiError::internal)?;
    Ok(bytes(request, body, "application/json", audience, max_age))
}

/// Like [`json`] for a body already made.
pub fn bytes(
    request: &HttpRequest,
    body: Vec<u8>,
    content_type: &'static str,
    audience: Audience,
    max_age: u32,
) -> HttpResponse {
    let etag = etag_of(&body);
    tagged(request, body.into(), &etag, content_type, audience, max_age)
}

/// Like [`bytes`] for a body whose `ETag` is already known: made once and served many times
/// (the OpenAPI document).
pub fn tagged(
    request: &HttpRequest,
    body: bytes::Bytes,
    etag: &str,
    content_type: &'static str,
    audience: Audience,
    max_age: u32,
) -> HttpResponse {
    let control = cache_control(audience, max_age);
    let not_modified = if_none_match(request, etag);
    let mut response = if not_modified {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    if let Ok(value) = HeaderValue::from_str(etag) {
        response.insert_header((header::ETAG, value));
    }
    response.insert_header((header::CACHE_CONTROL, control));
    if not_modified {
        response.finish()
    } else {
        response.content_type(content_type).body(body)
    }
}

/// The bytes of a file (a PDF, a workbook, a photo) in the OpenAPI document: a string of
/// format `binary`.
pub struct Binary;

impl utoipa::PartialSchema for Binary {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .into()
    }
}

impl utoipa::ToSchema for Binary {}

/// A personal PDF (a purchase receipt, a remittance advice) whose `etag` is a digest of the
/// state it is drawn from: `304` when `If-None-Match` names it, else the document, drawn by
/// `render` off the async threads and offered inline as `file_name`. Kept by the client, never
/// by a shared cache, and checked again each time.
pub async fn private_pdf<F>(
    request: &HttpRequest,
    etag: &str,
    file_name: &str,
    render: F,
) -> ApiResult<HttpResponse>
where
    F: FnOnce() -> ApiResult<Vec<u8>> + Send + 'static,
{
    let etag_value = HeaderValue::from_str(etag).map_err(ApiError::internal)?;
    let cache_control = "private, no-cache";
    if if_none_match(request, etag) {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag_value))
            .insert_header((header::CACHE_CONTROL, cache_control))
            .finish());
    }
    let pdf = actix_web::web::block(render)
        .await
        .map_err(ApiError::internal)??;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/pdf"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("inline; filename=\"{file_name}\""),
        ))
        .insert_header((header::ETAG, etag_value))
        .insert_header((header::CACHE_CONTROL, cache_control))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(pdf))
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    #[test]
    fn the_same_body_has_the_same_tag_and_a_different_one_another() {
        assert_eq!(etag_of(b"[1,2]"), etag_of(b"[1,2]"));
        assert_ne!(etag_of(b"[1,2]"), etag_of(b"[1,3]"));
        assert_eq!(etag_of(b"x").len(), 34);
    }

    #[test]
    fn a_matching_if_none_match_answers_304_without_a_body() {
        let value = serde_json::json!({"a": 1});
        let first = json(
            &TestRequest::default().to_http_request(),
            &value,
            Audience::Public,
            60,
        )
        .unwrap();
        assert_eq!(first.status(), 200);
        let etag = first
            .headers()
            .get(header::ETAG)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            first.headers().get(header::CACHE_CONTROL).unwrap(),
            "public, max-age=60, must-revalidate"
        );
        for held in [
            etag.clone(),
            format!("W/{etag}"),
            format!("\"other\", {etag}"),
            "*".into(),
        ] {
            let request = TestRequest::default()
                .insert_header((header::IF_NONE_MATCH, held.as_str()))
                .to_http_request();
            let again = json(&request, &value, Audience::Public, 60).unwrap();
            assert_eq!(again.status(), 304, "{held}");
            assert_eq!(again.headers().get(header::ETAG).unwrap(), etag.as_str());
        }
        let stale = TestRequest::default()
            .insert_header((header::IF_NONE_MATCH, "\"0000\""))
            .to_http_request();
        assert_eq!(
            json(&stale, &value, Audience::Public, 60).unwrap().status(),
            200
        );
    }
}
