//! Browse and search over listings: a read model of the merchants', products', listings' and
//! turnover tables.
//!
//! Only sellable listings show: merchant active and under the turnover cap, product approved,
//! category allowed for its kind, listing active, not taken down, in stock, commodity (of a
//! staple) active, price at or below the HET. Order: relevance to the search first (how many
//! search words the product's own name contains), then fairness (less month-to-date turnover first), then listing id. The
//! cursor carries that whole sort key, so a page walk neither repeats nor skips a listing while
//! the data stands still.

use std::sync::Arc;

use peken_kernel::{ApiError, ApiResult, AppState, Rupiah};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use peken_catalog::cache;

use crate::media::ListImage;
use crate::readmodel;

/// A validated browse request, after the caller's default area was applied.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BrowseQuery {
    pub words: Vec<String>,
    pub category: Option<String>,
    pub commodity_id: Option<String>,
    pub kecamatan: Option<String>,
    pub kelurahan: Option<String>,
    pub merchant_id: Option<String>,
    pub cursor: Option<BrowseCursor>,
    pub limit: u64,
}

/// The sort key of the last listing of a page.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BrowseCursor {
    /// Relevance, month-to-date turnover, listing id.
    pub k: (i64, i64, String),
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BrowseMerchant {
    pub id: String,
    pub name: String,
    pub kelurahan_code: String,
    /// The shop's photo, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub photo: Option<ListImage>,
}

/// What a listing sells.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BrowseProduct {
    pub id: String,
    pub name: String,
    pub category: String,
    pub unit: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub net_weight_g: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub net_volume_ml: Option<i64>,
    /// The product's first photo, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<ListImage>,
}

/// The commodity a staple is: its ceiling price and daily limit.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BrowseCommodity {
    pub id: String,
    pub name: String,
    pub category: String,
    pub unit: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub het_price: Option<Rupiah>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_qty_per_buyer_per_day: Option<i64>,
}

/// One listing as a buyer sees it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BrowseItem {
    pub id: String,
    pub merchant: BrowseMerchant,
    pub product: BrowseProduct,
    /// Only for staples.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commodity: Option<BrowseCommodity>,
    pub price: Rupiah,
    pub available_stock: i64,
}

/// One page of browse results as its JSON text (a `Page<BrowseItem>`): from this process's page
/// cache when the same query was answered at the current listings generation in the last
/// [`cache::BROWSE_TTL`] (sent as stored, never parsed again), else made from the in-memory
/// read model ([`crate::readmodel`]).
pub async fn browse_json(state: &AppState, query: &BrowseQuery) -> ApiResult<Arc<[u8]>> {
    let key_text = serde_json::to_string(query).unwrap_or_default();
    let generation = state.stores.cache.generation(cache::LISTINGS).await;
    let key = cache::key_at(cache::LISTINGS, generation, &key_text);
    let model = readmodel::model(state);
    if let Some(json) = model.pages.get_shared(&key) {
        return Ok(json);
    }
    let cap = peken_catalog::service::turnover_cap(state, &state.db).await?;
    let snapshot = readmodel::snapshot(state, generation).await?;
    let json: Arc<[u8]> =
        serde_json::to_vec(&snapshot.page(query, cap, &|key| state.media.url(key)))
            .map_err(|e| ApiError::internal(anyhow::anyhow!(e)))?
            .into();
    model
        .pages
        .set_shared(&key, json.clone(), cache::BROWSE_TTL);
    Ok(json)
}
