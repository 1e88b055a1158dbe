//! Categories and which merchant kinds may list them.

use actix_web::{HttpRequest, HttpResponse, get, put, web};
use peken_kernel::http_cache::{self, Audience};

use super::CATALOG_MAX_AGE;
use peken_kernel::auth::{AdminOnly, Auth};
use peken_kernel::error::{Problem, Validation};
use peken_kernel::pagination::Page;
use peken_kernel::{ApiResult, AppState};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::cache;
use crate::service::{self, MERCHANT_KINDS};

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_categories).service(set_permissions);
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CategoryResponse {
    pub code: String,
    pub name: String,
    /// The merchant kinds allowed to list this category.
    pub merchant_kinds: Vec<String>,
}

/// Every category with the merchant kinds allowed to list it.
#[utoipa::path(
    tag = "catalog",
    params(("If-None-Match" = Option<String>, Header, description = "The ETag of a copy the client holds")),
    responses(
        (status = 200, description = "Categories, with `ETag` and `Cache-Control`", body = Page<CategoryResponse>),
        (status = 304, description = "Not modified: the client's copy is current"),
    )
)]
#[get("/categories")]
async fn list_categories(
    state: web::Data<AppState>,
    request: HttpRequest,
) -> ApiResult<HttpResponse> {
    let key = cache::key(&state, cache::COMMODITIES, "categories").await;
    if let Some(page) = cache::get::<Page<CategoryResponse>>(&state, &key).await {
        return http_cache::json(&request, &page, Audience::Public, CATALOG_MAX_AGE);
    }
    let items = service::list_categories(&state.db)
        .await?
        .into_iter()
        .map(|c| CategoryResponse {
            code: c.code,
            name: c.name,
            merchant_kinds: c.merchant_kinds,
        })
        .collect();
    let page = Page {
        items,
        next_cursor: None,
    };
    cache::put(&state, &key, &page, cache::COMMODITIES_TTL).await;
    http_cache::json(&request, &page, Audience::Public, CATALOG_MAX_AGE)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPermissionsRequest {
    /// `toko_kelontong`, `umkm`, `koperasi` or `padat_karya`.
    pub merchant_kind: String,
    /// Every category this kind may list from now on (an empty list allows none).
    pub categories: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PermissionsResponse {
    pub merchant_kind: String,
    pub categories: Vec<String>,
}

/// Replace the categories a kind of merchant may list. Listings in a withdrawn category stop
/// selling and leave browsing at once.
#[utoipa::path(
    tag = "catalog",
    security(("bearer" = [])),
    request_body = SetPermissionsRequest,
    responses(
        (status = 200, description = "The kind's categories now", body = PermissionsResponse),
        (status = 422, description = "Unknown kind or category", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/admin/category-permissions")]
async fn set_permissions(
    state: web::Data<AppState>,
    auth: Auth<AdminOnly>,
    body: web::Json<SetPermissionsRequest>,
) -> ApiResult<web::Json<PermissionsResponse>> {
    let mut v = Validation::new();
    let kind = body.merchant_kind.trim();
    v.require(
        MERCHANT_KINDS.contains(&kind),
        "merchant_kind",
        "unknown_merchant_kind",
        "one of toko_kelontong, umkm, koperasi, padat_karya",
    );
    v.require(
        body.categories.len() <= 50,
        "categories",
        "too_many",
        "at most 50 categories",
    );
    v.finish()?;
    let categories: Vec<String> = body
        .categories
        .iter()
        .map(|c| c.trim().to_ascii_lowercase())
        .collect();
    let categories = service::set_permissions(&state, &auth, kind, &categories).await?;
    Ok(web::Json(PermissionsResponse {
        merchant_kind: kind.to_owned(),
        categories,
    }))
}
