//! The official region table.

use actix_web::{HttpRequest, HttpResponse, get, web};
use peken_kernel::http_cache::{self, Audience};
use peken_kernel::ids::RegionLevel;
use peken_kernel::pagination::Page;
use peken_kernel::regions::Region;
use peken_kernel::{ApiResult, AppState};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_regions);
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RegionQuery {
    /// `kota`, `kecamatan` or `kelurahan`.
    pub level: Option<RegionLevel>,
    /// Only the children of this code, e.g. `35.78.05`.
    pub parent: Option<String>,
}

/// Official Kemendagri region codes and names for Surabaya.
#[utoipa::path(
    tag = "regions",
    params(RegionQuery, ("If-None-Match" = Option<String>, Header, description = "The ETag of a copy the client holds")),
    responses(
        (status = 200, description = "Regions in code order, with `ETag` and `Cache-Control` (a day)", body = Page<Region>),
        (status = 304, description = "Not modified: the client's copy is current"),
    )
)]
#[get("/regions")]
async fn list_regions(
    state: web::Data<AppState>,
    query: web::Query<RegionQuery>,
    request: HttpRequest,
) -> ApiResult<HttpResponse> {
    let items = state
        .regions
        .list(query.level, query.parent.as_deref().map(str::trim))
        .into_iter()
        .cloned()
        .collect();
    let page = Page {
        items,
        next_cursor: None,
    };
    // The official table changes when a new release loads a new one: a day is safe.
    http_cache::json(&request, &page, Audience::Public, 86_400)
}
