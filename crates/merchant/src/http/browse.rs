//! `GET /listings`: browse and search.

use std::time::Duration;

use actix_web::http::header::ContentType;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, get, web};
use peken_kernel::auth::{MaybeAuth, Role};
use peken_kernel::error::{Problem, Validation};
use peken_kernel::http_cache::{self, Audience};
use peken_kernel::pagination::{Page, PageParams};
use peken_kernel::{ApiError, ApiResult, AppState, Rupiah};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::merchants::{Delivery, OpeningHours, delivery_of, opening_hours_of};
use super::products::{ProductImageBody, image_body};
use crate::browse::{self, BrowseCommodity, BrowseCursor, BrowseItem, BrowseQuery};
use crate::media::{self, ImageUrls};
use crate::service::listings;
use peken_catalog::input::query_words;
use peken_catalog::{cache, service};

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(browse_listings).service(open_listing);
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

/// The product of a listing a buyer opens.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ListingPageProduct {
    pub id: String,
    pub name: String,
    pub description: String,
    pub category: String,
    pub unit: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub net_weight_g: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub net_volume_ml: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub barcode: Option<String>,
    /// Every photo, first photo first.
    pub images: Vec<ProductImageBody>,
}

/// The shop of a listing a buyer opens.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ListingPageShop {
    pub id: String,
    pub name: String,
    pub kelurahan_code: String,
    pub address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub photo: Option<ImageUrls>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opening_hours: Option<Vec<OpeningHours>>,
    pub pickup: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery: Option<Delivery>,
}

/// A listing as a buyer opens it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ListingPage {
    pub id: String,
    pub price: Rupiah,
    pub available_stock: i64,
    /// Whether it can be bought now (in stock, active, priced within the HET, and the shop
    /// under its turnover cap aside, which checkout checks).
    pub sellable: bool,
    pub product: ListingPageProduct,
    /// Only for staples.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commodity: Option<BrowseCommodity>,
    pub merchant: ListingPageShop,
}

/// Open one listing: its product with its description and every photo, and its shop with its
/// profile (anyone). Listings taken down, of a shop that is not active or of a product not
/// approved are not found.
#[utoipa::path(
    tag = "catalog",
    params(
        ("id" = String, Path, description = "Listing id"),
        ("If-None-Match" = Option<String>, Header, description = "The ETag of a copy the client holds"),
    ),
    responses(
        (status = 200, description = "The listing, with `ETag` and `Cache-Control` (30 seconds: stock moves)", body = ListingPage),
        (status = 304, description = "Not modified: the client's copy is current"),
        (status = 404, description = "No such listing a buyer can reach", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/listings/{id}")]
async fn open_listing(
    state: web::Data<AppState>,
    id: web::Path<String>,
    request: HttpRequest,
) -> ApiResult<HttpResponse> {
    if id.len() > 64 {
        return Err(ApiError::not_found("listing"));
    }
    let found = listings::public(&state, &id).await?;
    let s = found.detail.sale;
    let p = found.product;
    let m = found.shop;
    let page = ListingPage {
        sellable: s.sellable() && s.stock > 0,
        commodity: s.commodity_id.clone().map(|id| BrowseCommodity {
            id,
            name: s.commodity_name.clone().unwrap_or_default(),
            category: s.category.clone(),
            unit: s.commodity_unit.clone().unwrap_or_default(),
            het_price: s.het_price,
            max_qty_per_buyer_per_day: s.max_qty_per_buyer_per_day,
        }),
        id: s.listing_id,
        price: s.price,
        available_stock: s.stock,
        product: ListingPageProduct {
            id: p.id,
            name: p.name,
            description: p.description,
            category: s.category,
            unit: p.unit,
            net_weight_g: p.net_weight_g,
            net_volume_ml: p.net_volume_ml,
            barcode: p.barcode,
            images: found
                .images
                .into_iter()
                .filter_map(|i| image_body(&state, i))
                .collect(),
        },
        merchant: ListingPageShop {
            photo: m
                .photo
                .as_deref()
                .and_then(|json| media::urls_of_json(&state, json)),
            opening_hours: opening_hours_of(&m),
            delivery: delivery_of(&m),
            id: m.id,
            name: m.name,
            kelurahan_code: m.kelurahan_code,
            address: m.address,
            phone: m.phone,
            description: m.description,
            pickup: m.pickup,
        },
    };
    http_cache::json(&request, &page, Audience::Public, 30)
}
