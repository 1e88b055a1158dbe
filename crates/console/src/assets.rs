//! The console's stylesheet, compiled into the binary and served with an `ETag`; no asset
//! comes from another host, so the console works with the network cut off.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use sha2::{Digest, Sha256};

const CSS: &str = include_str!("../assets/console.css");

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/assets/console.css", web::get().to(stylesheet));
}

/// The strong `ETag` of an asset: the first 16 bytes of its SHA-256, quoted.
fn etag(body: &[u8]) -> String {
    format!("\"{}\"", hex::encode(&Sha256::digest(body)[..16]))
}

async fn stylesheet(req: HttpRequest) -> HttpResponse {
    let tag = etag(CSS.as_bytes());
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"));
    let mut response = if matches {
        HttpResponse::NotModified().finish()
    } else {
        HttpResponse::Ok()
            .content_type("text/css; charset=utf-8")
            .body(CSS)
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&tag) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}
