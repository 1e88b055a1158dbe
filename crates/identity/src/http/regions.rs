//! The official region table.

use actix_web::{get, web};
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
    params(RegionQuery),
    responses((status = 200, description = "Regions in code order", body = Page<Region>))
)]
#[get("/regions")]
async fn list_regions(
    state: web::Data<AppState>,
    query: web::Query<RegionQuery>,
) -> ApiResult<web::Json<Page<Region>>> {
    let items = state
        .regions
        .list(query.level, query.parent.as_deref().map(str::trim))
        .into_iter()
        .cloned()
        .collect();
    Ok(web::Json(Page {
        items,
        next_cursor: None,
    }))
}
