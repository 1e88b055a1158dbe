//! Listings as a buyer's lists show them (favourites, a reorder): name, today's price, whether
//! it can be bought now, and the first photo.

use std::collections::HashMap;

use peken_kernel::period::Period;
use peken_kernel::{AppState, Rupiah};
use sea_orm::{ConnectionTrait, DbErr};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::sale::{ListingForSale, listings_for_sale};
use crate::media::{ImageUrls, urls_of_json};

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ListingCard {
    pub listing_id: String,
    pub product_id: String,
    pub name: String,
    pub unit: String,
    /// Today's price.
    pub price: Rupiah,
    /// Units in stock now.
    pub stock: i64,
    /// Whether it can be bought now: on sale and in stock.
    pub available: bool,
    /// Why it cannot be bought, when it cannot: `out_of_stock`, `taken_down`, `inactive`,
    /// `merchant_not_active`, `product_not_approved`, `price_above_het`, ….
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unavailable_reason: Option<String>,
    pub merchant_id: String,
    pub merchant_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commodity_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageUrls>,
}

impl ListingCard {
    pub fn of(state: &AppState, l: &ListingForSale) -> Self {
        let reason = l
            .unsellable_reason()
            .or((l.stock <= 0).then_some("out_of_stock"));
        ListingCard {
            listing_id: l.listing_id.clone(),
            product_id: l.product_id.clone(),
            name: l.product_name.clone(),
            unit: l.unit.clone(),
            price: l.price,
            stock: l.stock.max(0),
            available: reason.is_none(),
            unavailable_reason: reason.map(str::to_owned),
            merchant_id: l.merchant_id.clone(),
            merchant_name: l.merchant_name.clone(),
            commodity_id: l.commodity_id.clone(),
            image: l
                .image
                .as_deref()
                .and_then(|json| urls_of_json(state, json)),
        }
    }
}

/// The cards of the listings that exist among `ids`, by listing id (one query).
pub async fn cards<C: ConnectionTrait>(
    state: &AppState,
    conn: &C,
    ids: &[String],
) -> Result<HashMap<String, ListingCard>, DbErr> {
    let found = listings_for_sale(conn, ids, Period::of(state.now())).await?;
    Ok(found
        .iter()
        .map(|l| (l.listing_id.clone(), ListingCard::of(state, l)))
        .collect())
}
