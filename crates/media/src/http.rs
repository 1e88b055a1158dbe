//! `GET /media/{key}`: the media store's objects, public, cached for good when their name is
//! their content's hash.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse, get, web};
use peken_kernel::error::Problem;
use peken_kernel::media::is_valid_key;
use peken_kernel::{ApiError, ApiResult, AppState};
use utoipa_actix_web::service_config::ServiceConfig;

/// Registers `/media/{key}` at the root (outside the API scope): the address `MediaStore::url`
/// hands out.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(get_media)
        // HEAD answers as GET without the body; registered apart so that the document keeps
        // one operation.
        .route("/media/{key:.*}", web::head().to(serve));
}

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Objects not named by their hash may change under the same name.
const REVALIDATE: &str = "public, max-age=300";

/// A stored photo
///
/// Public: the keys are unguessable hashes handed out with the listings and merchants that
/// show them. Content-addressed names (`img/…/{sha256}.jpg`) are cached for a
/// year as immutable, with their hash as the `ETag`; `If-None-Match` with it answers 304.
/// `HEAD` answers the same headers without the body.
#[utoipa::path(
    tag = "media",
    operation_id = "get_media",
    path = "/media/{key}",
    params(
        ("key" = String, Path, description = "The object's key, e.g. `img/3f/3f…9a.jpg`"),
        ("If-None-Match" = Option<String>, Header, description = "ETags the client holds; a match answers 304"),
    ),
    responses(
        (status = 200, description = "The object's bytes; `Content-Type` from the key's extension, `ETag` and `Cache-Control` set", content(
            (inline(peken_kernel::http_cache::Binary) = "image/jpeg"),
            (inline(peken_kernel::http_cache::Binary) = "image/png"),
            (inline(peken_kernel::http_cache::Binary) = "image/webp"),
            (inline(peken_kernel::http_cache::Binary) = "application/octet-stream"),
        )),
        (status = 304, description = "Not modified: `If-None-Match` names this object's ETag"),
        (status = 400, description = "The key is not one the store hands out: `..`, a leading `/`, an empty segment or another character than letters, digits, `.`, `_`, `-` and `/` (`invalid_media_key`), or a malformed header", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No object under this key (`media_not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The media store does not answer (`media_unavailable`), or the request ran past its time (`request_timeout`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/media/{key:.*}")]
async fn get_media(
    state: web::Data<AppState>,
    request: HttpRequest,
    key: web::Path<String>,
) -> ApiResult<HttpResponse> {
    serve(state, request, key).await
}

async fn serve(
    state: web::Data<AppState>,
    request: HttpRequest,
    key: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let key = key.into_inner();
    if !is_valid_key(&key) {
        return Err(ApiError::bad_request(
            "invalid_media_key",
            "not a media key: relative path segments of letters, digits, `.`, `_` and `-`",
        ));
    }
    let etag = content_hash(&key).map(|hash| format!("\"{hash}\""));
    let cache_control = if etag.is_some() {
        IMMUTABLE
    } else {
        REVALIDATE
    };
    let not_found = || {
        ApiError::new(StatusCode::NOT_FOUND, "media_not_found").with_detail("no such media object")
    };
    let unavailable = |e: anyhow::Error| {
        tracing::error!(key = %key, error = format!("{e:#}"), "reading media failed");
        ApiError::unavailable("media_unavailable")
    };
    let matches = etag
        .as_deref()
        .is_some_and(|etag| peken_kernel::http_cache::if_none_match(&request, etag));
    let head_only = request.method() == Method::HEAD;
    let body = if matches || head_only {
        state
            .media
            .head(&key)
            .await
            .map_err(unavailable)?
            .ok_or_else(not_found)?;
        None
    } else {
        let (bytes, _) = state
            .media
            .get(&key)
            .await
            .map_err(unavailable)?
            .ok_or_else(not_found)?;
        Some(bytes)
    };
    let mut response = if matches {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response.insert_header((header::CACHE_CONTROL, cache_control));
    if let Some(etag) = &etag
        && let Ok(value) = HeaderValue::from_str(etag)
    {
        response.insert_header((header::ETAG, value));
    }
    if matches {
        return Ok(response.finish());
    }
    response.insert_header((header::CONTENT_TYPE, content_type(&key)));
    response.insert_header(("X-Content-Type-Options", "nosniff"));
    Ok(match body {
        Some(bytes) => response.body(bytes),
        None => response.finish(),
    })
}

/// The hex SHA-256 a content-addressed key is named by (`…/{64 hex}.{ext}`).
fn content_hash(key: &str) -> Option<&str> {
    let name = key.rsplit('/').next()?;
    let (stem, _) = name.split_once('.')?;
    (stem.len() == 64 && stem.bytes().all(|b| b.is_ascii_hexdigit())).then_some(stem)
}

fn content_type(key: &str) -> &'static str {
    let extension = key
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase());
    match extension.as_deref() {
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("webp") => "image/webp",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_addressed_keys_name_their_hash() {
        let hash = "ab".repeat(32);
        assert_eq!(
            content_hash(&format!("img/ab/{hash}.jpg")),
            Some(hash.as_str())
        );
        assert_eq!(content_hash("img/ab/photo.jpg"), None);
        assert_eq!(content_hash(&format!("img/{hash}")), None);
        assert_eq!(content_type("img/a.JPG"), "image/jpeg");
        assert_eq!(content_type("img/a.webp"), "image/webp");
        assert_eq!(content_type("img/a"), "application/octet-stream");
    }
}
