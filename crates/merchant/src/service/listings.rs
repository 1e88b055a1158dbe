//! Listings: a merchant offers one of its products at a price with a stock. Admins take listings down.

use chrono::{DateTime, Utc};
use peken_catalog::cache::listings_changed;
use peken_catalog::service as catalog;
use peken_kernel::auth::Caller;
use peken_kernel::db::new_id;
use peken_kernel::error::unique_violation;
use peken_kernel::pagination::Page;
use peken_kernel::{ApiError, ApiResult, AppState, Rupiah};
use peken_mail::Template;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionTrait, Value,
};

use super::merchants::{self, ACTIVE};
use super::products;
use super::sale::{ListingDetail, select_listings};
use crate::alerts;
use crate::stock::{self, MovementKind, StockChange};
use crate::store::{listing, merchant, stock_movement};

/// Which of its listings a merchant wants to see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListingFilter {
    All,
    /// Priced above their commodity's (lowered) HET: not selling until repriced.
    AboveHet,
    TakenDown,
    OutOfStock,
}

impl ListingFilter {
    fn condition(self) -> &'static str {
        match self {
            ListingFilter::All => "",
            ListingFilter::AboveHet => " AND c.het_price IS NOT NULL AND l.price > c.het_price",
            ListingFilter::TakenDown => " AND l.taken_down_at IS NOT NULL",
            ListingFilter::OutOfStock => " AND l.stock = 0",
        }
    }
}

/// The merchant for a listing operation: its own people, or (for reads) an admin.
async fn merchant_for<C: ConnectionTrait>(
    conn: &C,
    caller: &Caller,
    merchant_id: &str,
    admin_may: bool,
) -> ApiResult<merchant::Model> {
    if admin_may {
        merchants::for_reading(conn, caller, merchant_id, false).await
    } else {
        merchants::own(conn, caller, merchant_id).await
    }
}

fn merchant_not_active(status: &str) -> ApiError {
    ApiError::conflict(
        "merchant_not_active",
        format!("the merchant is {status}; only an active merchant may list"),
    )
    .with_context(serde_json::json!({ "status": status }))
}

fn check_het(price: Rupiah, het: Option<i64>) -> ApiResult<()> {
    match het {
        Some(het) if price.get() > het => Err(ApiError::unprocessable(
            "price_above_het",
            format!("the price is above the ceiling price (HET) of Rp{het}"),
        )
        .with_context(serde_json::json!({ "het_price": het }))),
        _ => Ok(()),
    }
}

/// What a new listing sells.
#[derive(Debug, Clone)]
pub enum ListingOf {
    /// One of the merchant's products (not a rejected one).
    Product(String),
    /// A commodity, as listings were made before products: the merchant gets an approved
    /// product of that commodity (409 `listing_exists` when it already lists the commodity that
    /// way).
    Commodity(String),
}

fn product_rejected() -> ApiError {
    ApiError::conflict(
        "product_rejected",
        "the product was rejected in moderation; change it and wait for approval to sell it",
    )
}

/// Lists a product (or a commodity). The initial stock is a `restock` movement, so the stock
/// is the sum of the listing's movements from the start.
pub async fn create(
    state: &AppState,
    caller: &Caller,
    merchant_id: &str,
    of: ListingOf,
    price: Rupiah,
    initial_stock: i64,
    low_stock_threshold: Option<i64>,
) -> ApiResult<ListingDetail> {
    let now = state.now();
    let txn = state.db.begin().await?;
    let m = merchants::own(&txn, caller, merchant_id).await?;
    if m.status != ACTIVE {
        return Err(merchant_not_active(&m.status));
    }
    let product = match &of {
        ListingOf::Product(product_id) => {
            let found = products::of_merchant(&txn, &m.id, product_id)
                .await
                .map_err(|e| {
                    if e.code() == "not_found" {
                        ApiError::field("product_id", "unknown_product", "no such product of yours")
                    } else {
                        e
                    }
                })?;
            if found.status == products::REJECTED {
                return Err(product_rejected());
            }
            found
        }
        ListingOf::Commodity(commodity_id) => {
            let listed = listing::Entity::find()
                .filter(listing::Column::MerchantId.eq(m.id.clone()))
                .filter(listing::Column::CommodityId.eq(commodity_id.clone()))
                .one(&txn)
                .await?;
            if listed.is_some() {
                return Err(listing_exists());
            }
            products::for_commodity(&txn, &m, commodity_id, now)
                .await
                .map_err(|e| {
                    if e.code() == "not_found" {
                        ApiError::field("commodity_id", "unknown_commodity", "no such commodity")
                    } else {
                        e
                    }
                })?
        }
    };
    if let Some(commodity_id) = &product.commodity_id {
        let commodity = catalog::find_commodity(&txn, commodity_id)
            .await?
            .ok_or_else(|| ApiError::not_found("commodity"))?;
        check_het(price, commodity.het_price)?;
    }
    let id = new_id();
    listing::ActiveModel {
        id: Set(id.clone()),
        merchant_id: Set(m.id.clone()),
        commodity_id: Set(product.commodity_id.clone()),
        product_id: Set(product.id.clone()),
        price: Set(price.get()),
        stock: Set(0),
        active: Set(true),
        taken_down_at: Set(None),
        takedown_reason: Set(None),
        taken_down_by: Set(None),
        category: Set(product.category.clone()),
        kecamatan_code: Set(m.kecamatan_code.clone()),
        kelurahan_code: Set(m.kelurahan_code.clone()),
        search_text: Set(products::listing_search_text(&product, &m.name)),
        low_stock_threshold: Set(low_stock_threshold),
        low_stock_alerted_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(|e| match unique_violation(&e) {
        Some(_) => listing_exists(),
        None => e.into(),
    })?;
    if initial_stock > 0 {
        stock::apply(
            &txn,
            StockChange {
                listing_id: &id,
                kind: MovementKind::Restock,
                quantity_delta: initial_stock,
                units: initial_stock,
                reference: None,
                note: Some("initial stock"),
                actor_id: Some(&caller.user_id),
            },
            now,
        )
        .await?;
    }
    let detail = one(&txn, &id).await?;
    peken_audit::record(
        &txn,
        caller,
        peken_audit::Change::new("listing.created", "listing", &id).after(serde_json::json!({
            "merchant_id": m.id, "product_id": product.id, "commodity_id": product.commodity_id,
            "price": price.get(), "stock": initial_stock.max(0), "active": true,
            "low_stock_threshold": low_stock_threshold,
        })),
        now,
    )
    .await?;
    txn.commit().await?;
    listings_changed(state).await;
    Ok(detail)
}

fn listing_exists() -> ApiError {
    ApiError::conflict(
        "listing_exists",
        "this merchant already lists this product; change that listing instead",
    )
}

async fn one<C: ConnectionTrait>(conn: &C, listing_id: &str) -> ApiResult<ListingDetail> {
    select_listings(conn, "l.id = $1", vec![listing_id.into()], "", None)
        .await?
        .pop()
        .ok_or_else(|| ApiError::not_found("listing"))
}

/// The listing if it belongs to the merchant (404 otherwise, also for another merchant's).
async fn of_merchant<C: ConnectionTrait>(
    conn: &C,
    merchant_id: &str,
    listing_id: &str,
) -> ApiResult<listing::Model> {
    listing::Entity::find_by_id(listing_id.to_owned())
        .one(conn)
        .await?
        .filter(|l| l.merchant_id == merchant_id)
        .ok_or_else(|| ApiError::not_found("listing"))
}

/// What a merchant changes of a listing; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ListingPatch {
    pub price: Option<Rupiah>,
    pub active: Option<bool>,
    /// `Some(None)` stops low-stock alerts.
    pub low_stock_threshold: Option<Option<i64>>,
}

/// Reprices or (de)activates a listing, or sets its low-stock threshold. A new price must
/// respect the HET; repricing a listing that a lowered HET stopped makes it sell again.
pub async fn patch(
    state: &AppState,
    caller: &Caller,
    merchant_id: &str,
    listing_id: &str,
    change: ListingPatch,
) -> ApiResult<ListingDetail> {
    let ListingPatch {
        price,
        active,
        low_stock_threshold,
    } = change;
    let txn = state.db.begin().await?;
    let m = merchants::own(&txn, caller, merchant_id).await?;
    let found = of_merchant(&txn, &m.id, listing_id).await?;
    if let Some(price) = price
        && let Some(commodity_id) = &found.commodity_id
    {
        let commodity = catalog::find_commodity(&txn, commodity_id)
            .await?
            .ok_or_else(|| ApiError::not_found("commodity"))?;
        check_het(price, commodity.het_price)?;
    }
    if active == Some(true) {
        let product = products::of_merchant(&txn, &m.id, &found.product_id).await?;
        if product.status == products::REJECTED {
            return Err(product_rejected());
        }
    }
    let before = serde_json::json!({
        "price": found.price, "active": found.active,
        "low_stock_threshold": found.low_stock_threshold,
    });
    let stock = found.stock;
    let mut model: listing::ActiveModel = found.into();
    if let Some(price) = price {
        model.price = Set(price.get());
    }
    if let Some(active) = active {
        model.active = Set(active);
    }
    if let Some(threshold) = low_stock_threshold {
        model.low_stock_threshold = Set(threshold);
        // A listing above its new threshold (or without one) may alert at its next fall; one
        // still at or below it keeps its mark, so a new threshold is no new crossing.
        if threshold.is_none_or(|t| stock > t) {
            model.low_stock_alerted_at = Set(None);
        }
    }
    model.updated_at = Set(state.now());
    let updated = model.update(&txn).await?;
    let detail = one(&txn, listing_id).await?;
    peken_audit::record(
        &txn,
        caller,
        peken_audit::Change::new("listing.changed", "listing", listing_id)
            .before(before)
            .after(serde_json::json!({
                "price": updated.price, "active": updated.active,
                "low_stock_threshold": updated.low_stock_threshold,
            })),
        state.now(),
    )
    .await?;
    txn.commit().await?;
    listings_changed(state).await;
    Ok(detail)
}

/// One listing of a merchant, for its people and admins.
pub async fn get(
    state: &AppState,
    caller: &Caller,
    merchant_id: &str,
    listing_id: &str,
) -> ApiResult<ListingDetail> {
    let m = merchant_for(&state.db, caller, merchant_id, true).await?;
    let found = one(&state.db, listing_id).await?;
    if found.sale.merchant_id != m.id {
        return Err(ApiError::not_found("listing"));
    }
    Ok(found)
}

/// A merchant's listings in id order, for its people and admins.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    merchant_id: &str,
    filter: ListingFilter,
    after: Option<String>,
    limit: u64,
) -> ApiResult<Page<ListingDetail>> {
    let m = merchant_for(&state.db, caller, merchant_id, true).await?;
    let mut values: Vec<Value> = vec![m.id.into()];
    let mut condition = format!("l.merchant_id = $1{}", filter.condition());
    if let Some(after) = after {
        values.push(after.into());
        condition.push_str(" AND l.id > $2");
    }
    let tail = format!("ORDER BY l.id LIMIT {}", limit + 1);
    let rows = select_listings(&state.db, &condition, values, &tail, None).await?;
    Ok(Page::from_rows(
        rows,
        limit,
        |d| d.sale.listing_id.clone(),
        |d| d,
    ))
}

/// Takes a listing down (admin moderation). The reason is kept and shown to the merchant.
pub async fn take_down(
    state: &AppState,
    admin: &Caller,
    listing_id: &str,
    reason: String,
) -> ApiResult<ListingDetail> {
    let now = state.now();
    let txn = state.db.begin().await?;
    let done = listing::Entity::update_many()
        .col_expr(listing::Column::TakenDownAt, Expr::value(Some(now)))
        .col_expr(
            listing::Column::TakedownReason,
            Expr::value(Some(reason.clone())),
        )
        .col_expr(
            listing::Column::TakenDownBy,
            Expr::value(Some(admin.user_id.clone())),
        )
        .col_expr(listing::Column::UpdatedAt, Expr::value(now))
        .filter(listing::Column::Id.eq(listing_id))
        .filter(listing::Column::TakenDownAt.is_null())
        .exec(&txn)
        .await?;
    let detail = one(&txn, listing_id).await?;
    if done.rows_affected == 0 {
        return Err(ApiError::conflict(
            "already_taken_down",
            "this listing is already taken down",
        ));
    }
    let s = &detail.sale;
    alerts::tell_shop(
        &txn,
        &s.merchant_id,
        &format!("listing:{listing_id}:taken_down:{}", now.timestamp_micros()),
        now,
        |_| Template::ListingTakenDown {
            merchant_name: s.merchant_name.clone(),
            listing_id: s.listing_id.clone(),
            product_name: s.product_name.clone(),
            reason: reason.clone(),
            at: now,
        },
    )
    .await?;
    peken_audit::record(
        &txn,
        admin,
        peken_audit::Change::new("listing.taken_down", "listing", listing_id)
            .before(serde_json::json!({"taken_down": false}))
            .after(serde_json::json!({"taken_down": true, "reason": reason})),
        now,
    )
    .await?;
    txn.commit().await?;
    tracing::info!(listing_id, admin = %admin.user_id, "listing taken down");
    listings_changed(state).await;
    Ok(detail)
}

/// Lifts a takedown (admin). The audit log keeps the reason it had.
pub async fn restore(
    state: &AppState,
    admin: &Caller,
    listing_id: &str,
) -> ApiResult<ListingDetail> {
    let now = state.now();
    let txn = state.db.begin().await?;
    let before = one(&txn, listing_id).await?;
    let done = listing::Entity::update_many()
        .col_expr(
            listing::Column::TakenDownAt,
            Expr::value(None::<DateTime<Utc>>),
        )
        .col_expr(listing::Column::TakedownReason, Expr::value(None::<String>))
        .col_expr(listing::Column::TakenDownBy, Expr::value(None::<String>))
        .col_expr(listing::Column::UpdatedAt, Expr::value(now))
        .filter(listing::Column::Id.eq(listing_id))
        .filter(listing::Column::TakenDownAt.is_not_null())
        .exec(&txn)
        .await?;
    if done.rows_affected == 0 {
        return Err(ApiError::conflict(
            "not_taken_down",
            "this listing is not taken down",
        ));
    }
    let detail = one(&txn, listing_id).await?;
    let s = &detail.sale;
    alerts::tell_shop(
        &txn,
        &s.merchant_id,
        &format!("listing:{listing_id}:restored:{}", now.timestamp_micros()),
        now,
        |_| Template::ListingRestored {
            merchant_name: s.merchant_name.clone(),
            listing_id: s.listing_id.clone(),
            product_name: s.product_name.clone(),
            reason: before.takedown_reason.clone(),
            at: now,
        },
    )
    .await?;
    peken_audit::record(
        &txn,
        admin,
        peken_audit::Change::new("listing.restored", "listing", listing_id)
            .before(serde_json::json!({"taken_down": true, "reason": before.takedown_reason}))
            .after(serde_json::json!({"taken_down": false})),
        now,
    )
    .await?;
    txn.commit().await?;
    tracing::info!(listing_id, admin = %admin.user_id, "listing takedown lifted");
    listings_changed(state).await;
    Ok(detail)
}

/// A merchant's own stock change: `restock` adds units, `adjustment` corrects the count either
/// way. The stock never goes below zero (409 `out_of_stock`).
pub async fn change_stock(
    state: &AppState,
    caller: &Caller,
    merchant_id: &str,
    listing_id: &str,
    kind: MovementKind,
    delta: i64,
    note: Option<String>,
) -> ApiResult<i64> {
    let now = state.now();
    let txn = state.db.begin().await?;
    let m = merchants::own(&txn, caller, merchant_id).await?;
    let found = of_merchant(&txn, &m.id, listing_id).await?;
    let stock = stock::apply(
        &txn,
        StockChange {
            listing_id,
            kind,
            quantity_delta: delta,
            units: delta.abs(),
            reference: None,
            note: note.as_deref(),
            actor_id: Some(&caller.user_id),
        },
        now,
    )
    .await?;
    // A restock above the threshold ends the alerted fall at once, so a fall soon after alerts
    // again even before the low-stock worker's next pass would have cleared the mark.
    if found.low_stock_alerted_at.is_some() && found.low_stock_threshold.is_none_or(|t| stock > t) {
        listing::Entity::update_many()
            .col_expr(
                listing::Column::LowStockAlertedAt,
                Expr::value(None::<DateTime<Utc>>),
            )
            .filter(listing::Column::Id.eq(listing_id))
            .exec(&txn)
            .await?;
    }
    // The guarded update changed the stock by exactly `delta`, so this is the stock it left.
    peken_audit::record(
        &txn,
        caller,
        peken_audit::Change::new("listing.stock_changed", "listing", listing_id)
            .before(serde_json::json!({"stock": stock - delta}))
            .after(serde_json::json!({"stock": stock, "kind": kind.as_str(), "note": note})),
        now,
    )
    .await?;
    txn.commit().await?;
    listings_changed(state).await;
    Ok(stock)
}

/// A listing's movements, newest first, for its merchant's people and admins.
pub async fn movements(
    state: &AppState,
    caller: &Caller,
    merchant_id: &str,
    listing_id: &str,
    before: Option<String>,
    limit: u64,
) -> ApiResult<Page<stock_movement::Model>> {
    let m = merchant_for(&state.db, caller, merchant_id, true).await?;
    of_merchant(&state.db, &m.id, listing_id).await?;
    let mut query = stock_movement::Entity::find()
        .filter(stock_movement::Column::ListingId.eq(listing_id))
        .order_by_desc(stock_movement::Column::Id);
    if let Some(before) = before {
        query = query.filter(stock_movement::Column::Id.lt(before));
    }
    let rows = query.limit(limit + 1).all(&state.db).await?;
    Ok(Page::from_rows(rows, limit, |r| r.id.clone(), |r| r))
}

/// A listing as a buyer opens it: the listing with its product (description and every photo)
/// and its shop. Listings a buyer cannot reach are not found: taken down, of a shop that is not
/// active, or of a product not approved.
pub struct PublicListing {
    pub detail: ListingDetail,
    pub product: crate::store::product::Model,
    pub images: Vec<super::products::ProductImage>,
    pub shop: merchant::Model,
}

pub async fn public(state: &AppState, listing_id: &str) -> ApiResult<PublicListing> {
    let detail = one(&state.db, listing_id).await?;
    let s = &detail.sale;
    if !s.open_to_buyers() {
        return Err(ApiError::not_found("listing"));
    }
    let product = crate::store::product::Entity::find_by_id(s.product_id.clone())
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found("listing"))?;
    let shop = merchants::find(&state.db, &s.merchant_id)
        .await?
        .ok_or_else(|| ApiError::not_found("listing"))?;
    let images = products::images_of(&state.db, std::slice::from_ref(&product.id))
        .await?
        .into_values()
        .next()
        .unwrap_or_default();
    Ok(PublicListing {
        detail,
        product,
        images,
        shop,
    })
}
