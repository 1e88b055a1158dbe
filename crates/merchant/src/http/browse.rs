//! `GET /listings`: browse and search.

use std::time::Duration;

use actix_web::http::header::ContentType;
use actix_web::web::Bytes;
use actix_web::{HttpResponse, get, web};
use peken_kernel::auth::{MaybeAuth, Role};
use peken_kernel::error::{Problem, Validation};
use peken_kernel::pagination::{Page, PageParams};
use peken_kernel::{ApiResult, AppState};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::browse::{self, BrowseCursor, BrowseItem, BrowseQuery};
use peken_catalog::input::query_words;
use peken_catalog::{cache, service};

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(browse_listings);
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BrowseParams {
    /// Words to find in product names and descriptions and merchant names (case-insensitive;
    /// every word must match).
    pub q: Option<String>,
    /// Category code, e.g. `sembako`.
    pub category: Option<String>,
    pub commodity_id: Option<String>,
    /// Kecamatan code, e.g. `35.78.05`.
    pub kecamatan: Option<String>,
    /// Kelurahan code, e.g. `35.78.05.1001`.
    pub kelurahan: Option<String>,
    pub merchant_id: Option<String>,
    /// ASN see their own area by default (domicile, else work location); `true` shows the
    /// whole city.
    pub all_areas: Option<bool>,
    /// How many items to return: 1 to 200, default 50.
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

fn non_empty(value: Option<&String>) -> Option<&str> {
    value.map(|s| s.trim()).filter(|s| !s.is_empty())
}

/// Browse and search sellable listings. Hidden: merchants that are pending, suspended,
/// rejected or at the monthly turnover cap; listings taken down, inactive, out of stock or
/// priced above the HET. Among equally relevant listings, merchants with less month-to-date
/// turnover come first.
#[utoipa::path(
    tag = "catalog",
    params(BrowseParams),
    responses(
        (status = 200, description = "One page of listings", body = Page<BrowseItem>),
        (status = 422, description = "Unknown region or category, bad cursor or limit", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/listings")]
async fn browse_listings(
    state: web::Data<AppState>,
    auth: MaybeAuth,
    params: web::Query<BrowseParams>,
) -> ApiResult<HttpResponse> {
    let page = PageParams {
        limit: params.limit,
        cursor: params.cursor.clone(),
    };
    let limit = page.limit()?;
    let cursor = page.cursor::<BrowseCursor>()?;
    let words = query_words(params.q.as_deref())?;
    let mut v = Validation::new();
    let kecamatan = non_empty(params.kecamatan.as_ref()).and_then(|code| {
        let found = state.regions.kecamatan(code);
        v.require(
            found.is_some(),
            "kecamatan",
            "unknown_region",
            "not an official kecamatan code",
        );
        found.map(|c| c.as_str().to_owned())
    });
    let kelurahan = non_empty(params.kelurahan.as_ref()).and_then(|code| {
        let found = state.regions.kelurahan(code);
        v.require(
            found.is_some(),
            "kelurahan",
            "unknown_region",
            "not an official kelurahan code",
        );
        found.map(|c| c.as_str().to_owned())
    });
    let category = non_empty(params.category.as_ref()).map(str::to_ascii_lowercase);
    if let Some(code) = &category {
        let exists = service::category_known(&state, code).await?;
        v.require(
            exists,
            "category",
            "unknown_category",
            "no category with this code",
        );
    }
    // Ids are UUIDs; anything much longer is not one, and would only bloat cache keys.
    for (field, value) in [
        ("commodity_id", &params.commodity_id),
        ("merchant_id", &params.merchant_id),
    ] {
        v.require(
            value.as_ref().is_none_or(|id| id.len() <= 64),
            field,
            "invalid_id",
            "not an id",
        );
    }
    v.finish()?;
    let merchant_id = non_empty(params.merchant_id.as_ref()).map(str::to_owned);
    let mut query = BrowseQuery {
        words,
        category,
        commodity_id: non_empty(params.commodity_id.as_ref()).map(str::to_owned),
        kecamatan,
        kelurahan,
        merchant_id,
        cursor,
        limit,
    };
    let explicit_area =
        query.kecamatan.is_some() || query.kelurahan.is_some() || query.merchant_id.is_some();
    if !explicit_area
        && !params.all_areas.unwrap_or(false)
        && let Some(caller) = &auth.0
        && caller.role == Role::Asn
    {
        query.kecamatan = home_kecamatan(&state, &caller.user_id).await?;
    }
    let json = browse::browse_json(&state, &query).await?;
    Ok(HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(Bytes::from_owner(json)))
}

/// The kecamatan an ASN shops in: that of the KTP domicile, or of the work location for ASN
/// living outside Surabaya. Cached for [`HOME_TTL`]: it only sets the default filter, and an
/// ASN moves house far less often than they browse.
async fn home_kecamatan(state: &AppState, user_id: &str) -> ApiResult<Option<String>> {
    let key = format!("browse:home:{user_id}");
    if let Some(home) = cache::get::<Option<String>>(state, &key).await {
        return Ok(home);
    }
    let Some(user) = peken_identity::people::find(&state.db, user_id).await? else {
        return Ok(None);
    };
    let home = user.shopping_kecamatan(&state.regions);
    cache::put(state, &key, &home, HOME_TTL).await;
    Ok(home)
}

/// How long an ASN's home area is remembered for browsing.
const HOME_TTL: Duration = Duration::from_secs(60);
