//! `GET /api/v1/problem-codes`: the catalogue of every problem and field-error code, with its
//! meaning in Indonesian and English, for clients that explain errors themselves.

use std::sync::LazyLock;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, get};
use peken_kernel::problems::{CATALOGUE, Entry};
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(problem_codes);
}

/// Every code the server answers with.
#[derive(Serialize, ToSchema)]
pub struct ProblemCodes {
    /// By code, alphabetical.
    pub codes: Vec<Entry>,
}

/// How long a client or cache may keep the catalogue without asking again; it changes only
/// with a new release, and the `ETag` makes asking cheap.
const CACHE_CONTROL: &str = "public, max-age=3600";

/// The body and its strong `ETag`, made once: the catalogue is compiled in.
static BODY: LazyLock<(String, String)> = LazyLock::new(|| {
    let body = serde_json::to_string(&ProblemCodes {
        codes: CATALOGUE.to_vec(),
    })
    .unwrap_or_default();
    let etag = format!(
        "\"{}\"",
        hex::encode(&Sha256::digest(body.as_bytes())[..16])
    );
    (body, etag)
});

/// The catalogue of problem codes: each `code` a problem or a field error can carry, the HTTP
/// statuses it comes with, and its title and meaning in Indonesian (`id`) and English (`en`).
/// `{key}` in a meaning names a fact of the problem's `context`. Public and cacheable: answers
/// 304 when `If-None-Match` names the current `ETag`.
#[utoipa::path(
    tag = "ops",
    responses(
        (status = 200, description = "The catalogue", body = ProblemCodes,
            headers(
                ("ETag" = String, description = "Changes when the catalogue does"),
                ("Cache-Control" = String, description = "public, max-age=3600"),
            )),
        (status = 304, description = "Not modified: `If-None-Match` names the current ETag"),
    )
)]
#[get("/problem-codes")]
async fn problem_codes(request: HttpRequest) -> HttpResponse {
    let (body, etag) = &*BODY;
    let matches = request
        .headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == "*" || tag == etag);
    let mut response = if matches {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response.insert_header((header::CACHE_CONTROL, CACHE_CONTROL));
    if let Ok(value) = HeaderValue::from_str(etag) {
        response.insert_header((header::ETAG, value));
    }
    if matches {
        response.finish()
    } else {
        response.content_type("application/json").body(body.clone())
    }
}
