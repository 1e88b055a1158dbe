//! A merchant's listings and their stock movements.

use actix_web::http::header::LOCATION;
use actix_web::{HttpResponse, get, patch, post, web};
use chrono::{DateTime, Utc};
use peken_catalog::MAX_PRICE;
use peken_catalog::input::{positive_rupiah, whole_number};
use peken_kernel::auth::{Auth, MerchantOnly};
use peken_kernel::error::{Problem, Validation, check_text};
use peken_kernel::pagination::{Page, PageParams};
use peken_kernel::{ApiResult, AppState, Rupiah};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::browse::BrowseCommodity;
use crate::service::ListingDetail;
use crate::service::listings::{self, ListingFilter, ListingOf};
use crate::stock::{MAX_UNITS, MovementKind};
use crate::store::stock_movement;

peken_kernel::role_set!(pub MerchantOrAdmin = [Merchant, Admin]);

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_listing)
        .service(list_listings)
        .service(get_listing)
        .service(patch_listing)
        .service(change_stock)
        .service(list_movements);
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Takedown {
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// The product a listing sells, as its merchant sees it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ListingProduct {
    pub id: String,
    pub name: String,
    pub category: String,
    pub unit: String,
    /// `pending`, `approved` or `rejected`: only an approved product sells.
    pub status: String,
}

/// A listing as its merchant and admins see it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ListingResponse {
    pub id: String,
    pub merchant_id: String,
    pub product: ListingProduct,
    /// The commodity of a staple: its HET and daily limit apply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commodity: Option<BrowseCommodity>,
    pub price: Rupiah,
    /// Units available for sale (on hand minus units reserved for unpaid orders).
    pub stock: i64,
    /// The merchant's own switch.
    pub active: bool,
    /// Whether buyers can see and buy it now (stock aside).
    pub sellable: bool,
    /// Why not: `taken_down`, `merchant_not_active`, `product_rejected`,
    /// `product_not_approved` (waiting for moderation), `inactive`, `category_not_allowed` or
    /// `price_above_het` (the HET was lowered: reprice to sell again).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unsellable_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub takedown: Option<Takedown>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<ListingDetail> for ListingResponse {
    fn from(d: ListingDetail) -> Self {
        let s = d.sale;
        Self {
            sellable: s.sellable(),
            unsellable_reason: s.unsellable_reason().map(str::to_owned),
            takedown: d.taken_down_at.map(|at| Takedown {
                reason: d.takedown_reason.unwrap_or_default(),
                at,
            }),
            id: s.listing_id,
            merchant_id: s.merchant_id,
            commodity: s.commodity_id.map(|id| BrowseCommodity {
                id,
                name: s.commodity_name.unwrap_or_default(),
                category: s.category.clone(),
                unit: s.commodity_unit.unwrap_or_default(),
                het_price: s.het_price,
                max_qty_per_buyer_per_day: s.max_qty_per_buyer_per_day,
            }),
            product: ListingProduct {
                id: s.product_id,
                name: s.product_name,
                category: s.category,
                unit: s.unit,
                status: s.product_status,
            },
            price: s.price,
            stock: s.stock,
            active: s.active,
            created_at: d.created_at,
            updated_at: d.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateListingRequest {
    /// The product to sell (one of the merchant's, not rejected). A pending product's listing
    /// sells once the product is approved.
    pub product_id: Option<String>,
    /// Instead of `product_id`: a commodity, for which the merchant gets an approved product
    /// named as the commodity.
    pub commodity_id: Option<String>,
    /// Price per unit in whole rupiah; at most the commodity's HET.
    #[schema(value_type = i64)]
    pub price: Value,
    /// Initial stock in units (recorded as a `restock` movement).
    #[schema(value_type = i64)]
    pub stock: Value,
}

/// List a product, or a commodity (merchant's own people; the merchant must be active).
#[utoipa::path(
    tag = "merchants",
    security(("bearer" = [])),
    request_body = CreateListingRequest,
    params(("id" = String, Path, description = "Merchant id")),
    responses(
        (status = 201, description = "Listed", body = ListingResponse,
            headers(("Location" = String, description = "The listing: `/api/v1/merchants/{id}/listings/{listing_id}`"))),
        (status = 404, description = "Not your merchant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already listed, product rejected, or merchant not active", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, unknown product, price above HET, or category not allowed", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/merchants/{id}/listings")]
async fn create_listing(
    state: web::Data<AppState>,
    auth: Auth<MerchantOnly>,
    id: web::Path<String>,
    body: web::Json<CreateListingRequest>,
) -> ApiResult<HttpResponse> {
    let mut v = Validation::new();
    let of = match (&body.product_id, &body.commodity_id) {
        (Some(product), None) => {
            check_text(&mut v, "product_id", product, 64).map(ListingOf::Product)
        }
        (None, Some(commodity)) => {
            check_text(&mut v, "commodity_id", commodity, 64).map(ListingOf::Commodity)
        }
        _ => {
            v.push(
                "product_id",
                "product_or_commodity",
                "name either a product_id or a commodity_id".to_owned(),
            );
            None
        }
    };
    let price = positive_rupiah(&mut v, "price", &body.price, MAX_PRICE);
    let stock = whole_number(&mut v, "stock", &body.stock, 0, MAX_UNITS);
    let (of, price, stock) = v.finish_with((of, price, stock))?;
    let created = listings::create(&state, &auth, &id, of, price, stock).await?;
    let location = format!(
        "/api/v1/merchants/{}/listings/{}",
        created.sale.merchant_id, created.sale.listing_id
    );
    Ok(HttpResponse::Created()
        .insert_header((LOCATION, location))
        .json(ListingResponse::from(created)))
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ListingState {
    All,
    AboveHet,
    TakenDown,
    OutOfStock,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListingListQuery {
    /// `all` (default), `above_het` (stopped by a lowered HET: reprice them), `taken_down`,
    /// `out_of_stock`.
    #[param(inline)]
    pub state: Option<ListingState>,
    /// How many items to return: 1 to 200, default 50.
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A merchant's listings, with whether each sells and why not (merchant's own people, admin).
#[utoipa::path(
    tag = "merchants",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Merchant id"), ListingListQuery),
    responses(
        (status = 200, description = "One page of listings", body = Page<ListingResponse>),
        (status = 404, description = "Not your merchant", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/merchants/{id}/listings")]
async fn list_listings(
    state: web::Data<AppState>,
    auth: Auth<MerchantOrAdmin>,
    id: web::Path<String>,
    query: web::Query<ListingListQuery>,
) -> ApiResult<web::Json<Page<ListingResponse>>> {
    let page = PageParams {
        limit: query.limit,
        cursor: query.cursor.clone(),
    };
    let filter = match query.state.unwrap_or(ListingState::All) {
        ListingState::All => ListingFilter::All,
        ListingState::AboveHet => ListingFilter::AboveHet,
        ListingState::TakenDown => ListingFilter::TakenDown,
        ListingState::OutOfStock => ListingFilter::OutOfStock,
    };
    let found = listings::list(&state, &auth, &id, filter, page.cursor()?, page.limit()?).await?;
    Ok(web::Json(Page {
        items: found.items.into_iter().map(ListingResponse::from).collect(),
        next_cursor: found.next_cursor,
    }))
}

/// One listing (merchant's own people, admin).
#[utoipa::path(
    tag = "merchants",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "Merchant id"),
        ("listing_id" = String, Path, description = "Listing id"),
    ),
    responses(
        (status = 200, description = "The listing", body = ListingResponse),
        (status = 404, description = "Not your listing", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/merchants/{id}/listings/{listing_id}")]
async fn get_listing(
    state: web::Data<AppState>,
    auth: Auth<MerchantOrAdmin>,
    path: web::Path<(String, String)>,
) -> ApiResult<web::Json<ListingResponse>> {
    let (id, listing_id) = path.into_inner();
    Ok(web::Json(
        listings::get(&state, &auth, &id, &listing_id).await?.into(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchListingRequest {
    /// A new price in whole rupiah, at most the HET.
    #[schema(value_type = Option<i64>)]
    pub price: Option<Value>,
    /// `false` stops selling without losing the listing.
    pub active: Option<bool>,
}

/// Reprice or switch a listing on or off (merchant's own people).
#[utoipa::path(
    tag = "merchants",
    security(("bearer" = [])),
    request_body = PatchListingRequest,
    params(
        ("id" = String, Path, description = "Merchant id"),
        ("listing_id" = String, Path, description = "Listing id"),
    ),
    responses(
        (status = 200, description = "Changed", body = ListingResponse),
        (status = 404, description = "Not your listing", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The product was rejected: it cannot be put on sale", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid price or above the HET", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/merchants/{id}/listings/{listing_id}")]
async fn patch_listing(
    state: web::Data<AppState>,
    auth: Auth<MerchantOnly>,
    path: web::Path<(String, String)>,
    body: web::Json<PatchListingRequest>,
) -> ApiResult<web::Json<ListingResponse>> {
    let (id, listing_id) = path.into_inner();
    let mut v = Validation::new();
    let price = body
        .price
        .as_ref()
        .filter(|p| !p.is_null())
        .and_then(|p| positive_rupiah(&mut v, "price", p, MAX_PRICE));
    v.finish()?;
    let updated = listings::patch(&state, &auth, &id, &listing_id, price, body.active).await?;
    Ok(web::Json(updated.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StockMovementRequest {
    /// `restock` (goods arrived: a positive delta) or `adjustment` (a correction either way).
    pub kind: String,
    /// Change of the available stock in units; never below zero in total.
    #[schema(value_type = i64)]
    pub quantity_delta: Value,
    /// Why, e.g. `stock opname` or `3 karung rusak`.
    pub note: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StockResponse {
    pub listing_id: String,
    /// The stock after the change.
    pub stock: i64,
}

/// Restock or adjust a listing's stock (merchant's own people). Every change is a movement.
#[utoipa::path(
    tag = "merchants",
    security(("bearer" = [])),
    request_body = StockMovementRequest,
    params(
        ("id" = String, Path, description = "Merchant id"),
        ("listing_id" = String, Path, description = "Listing id"),
    ),
    responses(
        (status = 201, description = "Recorded", body = StockResponse),
        (status = 404, description = "Not your listing", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The stock would go below zero (`out_of_stock`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid kind or quantity", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/merchants/{id}/listings/{listing_id}/stock-movements")]
async fn change_stock(
    state: web::Data<AppState>,
    auth: Auth<MerchantOnly>,
    path: web::Path<(String, String)>,
    body: web::Json<StockMovementRequest>,
) -> ApiResult<HttpResponse> {
    let (id, listing_id) = path.into_inner();
    let mut v = Validation::new();
    let kind = MovementKind::parse(body.kind.trim())
        .filter(|k| matches!(k, MovementKind::Restock | MovementKind::Adjustment));
    v.require(
        kind.is_some(),
        "kind",
        "invalid_kind",
        "restock or adjustment; orders make the other movements",
    );
    let min = if kind == Some(MovementKind::Restock) {
        1
    } else {
        -MAX_UNITS
    };
    let delta = whole_number(
        &mut v,
        "quantity_delta",
        &body.quantity_delta,
        min,
        MAX_UNITS,
    );
    v.require(
        delta != Some(0),
        "quantity_delta",
        "out_of_range",
        "quantity_delta must not be zero",
    );
    let note = body
        .note
        .as_deref()
        .filter(|n| !n.trim().is_empty())
        .and_then(|n| check_text(&mut v, "note", n, 500));
    let (kind, delta) = v.finish_with((kind, delta))?;
    let stock = listings::change_stock(&state, &auth, &id, &listing_id, kind, delta, note).await?;
    Ok(HttpResponse::Created().json(StockResponse { listing_id, stock }))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MovementResponse {
    pub id: String,
    /// `restock`, `adjustment`, `reservation`, `release` or `sale`.
    pub kind: String,
    /// Effect on the available stock.
    pub quantity_delta: i64,
    /// Units concerned (a sale turns reserved units into sold ones: delta 0).
    pub units: i64,
    pub stock_after: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The user who made the change; absent for changes made by the system (expiry).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<stock_movement::Model> for MovementResponse {
    fn from(m: stock_movement::Model) -> Self {
        Self {
            id: m.id,
            kind: m.kind,
            quantity_delta: m.quantity_delta,
            units: m.units,
            stock_after: m.stock_after,
            reference_type: m.reference_type,
            reference_id: m.reference_id,
            note: m.note,
            actor_id: m.actor_id,
            created_at: m.created_at,
        }
    }
}

/// Every change of a listing's stock, newest first (merchant's own people, admin).
#[utoipa::path(
    tag = "merchants",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "Merchant id"),
        ("listing_id" = String, Path, description = "Listing id"),
        PageParams,
    ),
    responses(
        (status = 200, description = "One page of movements", body = Page<MovementResponse>),
        (status = 404, description = "Not your listing", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/merchants/{id}/listings/{listing_id}/stock-movements")]
async fn list_movements(
    state: web::Data<AppState>,
    auth: Auth<MerchantOrAdmin>,
    path: web::Path<(String, String)>,
    page: web::Query<PageParams>,
) -> ApiResult<web::Json<Page<MovementResponse>>> {
    let (id, listing_id) = path.into_inner();
    let found = listings::movements(
        &state,
        &auth,
        &id,
        &listing_id,
        page.cursor()?,
        page.limit()?,
    )
    .await?;
    Ok(web::Json(Page {
        items: found
            .items
            .into_iter()
            .map(MovementResponse::from)
            .collect(),
        next_cursor: found.next_cursor,
    }))
}
