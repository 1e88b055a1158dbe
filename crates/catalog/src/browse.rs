//! Browse and search over listings: the catalog's read model of the merchants', listings' and
//! turnover tables.
//!
//! Only sellable listings show: merchant active and under the turnover cap, category allowed
//! for its kind, listing active, not taken down, in stock, commodity active, price at or below
//! the HET. Order: relevance to the search first (how many search words the commodity's own
//! name contains), then fairness (less month-to-date turnover first), then listing id. The
//! cursor carries that whole sort key, so a page walk neither repeats nor skips a listing while
//! the data stands still.

use std::sync::Arc;

use peken_kernel::pagination::Page;
use peken_kernel::period::Period;
use peken_kernel::{ApiError, ApiResult, AppState, Rupiah};
use sea_orm::{FromQueryResult, Statement, Value};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::cache;

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
}

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
    pub commodity: BrowseCommodity,
    pub price: Rupiah,
    pub available_stock: i64,
}

#[derive(Debug, FromQueryResult)]
struct Row {
    id: String,
    price: i64,
    stock: i64,
    merchant_id: String,
    merchant_name: String,
    kelurahan_code: String,
    commodity_id: String,
    commodity_name: String,
    category: String,
    unit: String,
    het_price: Option<i64>,
    max_qty_per_buyer_per_day: Option<i32>,
    relevance: i64,
    turnover: i64,
}

/// Numbered placeholders in the order they appear in the text, as both backends want.
#[derive(Default)]
struct Params {
    values: Vec<Value>,
}

impl Params {
    fn push(&mut self, value: impl Into<Value>) -> String {
        self.values.push(value.into());
        format!("${}", self.values.len())
    }
}

/// One page of browse results as its JSON text (a `Page<BrowseItem>`), from the cache when a
/// fresh entry exists: a cached page is sent as it was stored, never parsed again.
pub async fn browse_json(state: &AppState, query: &BrowseQuery) -> ApiResult<Arc<[u8]>> {
    let key_text = serde_json::to_string(query).unwrap_or_default();
    let key = cache::key(state, cache::LISTINGS, &format!("browse:{key_text}")).await;
    if let Some(json) = cache::get_json(state, &key).await {
        return Ok(json);
    }
    let page = browse_uncached(state, query).await?;
    cache::put_json(state, &key, &page, cache::BROWSE_TTL)
        .await
        .map_err(|e| ApiError::internal(anyhow::anyhow!(e)))
}

async fn browse_uncached(state: &AppState, query: &BrowseQuery) -> ApiResult<Page<BrowseItem>> {
    let cap = crate::service::turnover_cap(state, &state.db).await?;
    let period = Period::of(state.now());
    let mut p = Params::default();
    let mut relevance = Vec::new();
    for word in &query.words {
        relevance.push(format!(
            "CASE WHEN LOWER(c.name) LIKE {} THEN 1 ELSE 0 END",
            p.push(format!("%{word}%"))
        ));
    }
    let relevance = if relevance.is_empty() {
        "0".to_owned()
    } else {
        relevance.join(" + ")
    };
    let mut sql = format!(
        "SELECT * FROM (SELECT l.id, l.price, l.stock, l.merchant_id, m.name AS merchant_name, \
         m.kelurahan_code, c.id AS commodity_id, c.name AS commodity_name, c.category, c.unit, \
         c.het_price, c.max_qty_per_buyer_per_day, \
         CAST({relevance} AS BIGINT) AS relevance, \
         CAST(COALESCE(t.gross_amount, 0) AS BIGINT) AS turnover \
         FROM listings l \
         JOIN merchants m ON m.id = l.merchant_id \
         JOIN commodities c ON c.id = l.commodity_id \
         LEFT JOIN merchant_turnover t ON t.merchant_id = l.merchant_id AND t.period = {period} \
         WHERE m.status = 'active' AND l.active = {yes} AND c.active = {yes2} \
         AND l.taken_down_at IS NULL AND l.stock > 0 \
         AND (c.het_price IS NULL OR l.price <= c.het_price) \
         AND COALESCE(t.gross_amount, 0) < {cap} \
         AND EXISTS (SELECT 1 FROM category_permissions cp \
           WHERE cp.merchant_kind = m.kind AND cp.category = c.category)",
        period = p.push(period.to_string()),
        yes = p.push(true),
        yes2 = p.push(true),
        cap = p.push(cap.get()),
    );
    for word in &query.words {
        let placeholder = p.push(format!("%{word}%"));
        sql.push_str(" AND l.search_text LIKE ");
        sql.push_str(&placeholder);
    }
    // The listing's own copy of its category, so that an area and a category together use the
    // (kecamatan, category) index.
    let filters = [
        ("l.category", &query.category),
        ("l.commodity_id", &query.commodity_id),
        ("l.kecamatan_code", &query.kecamatan),
        ("l.kelurahan_code", &query.kelurahan),
        ("l.merchant_id", &query.merchant_id),
    ];
    for (column, value) in filters {
        if let Some(value) = value {
            let placeholder = p.push(value.clone());
            for part in [" AND ", column, " = ", placeholder.as_str()] {
                sql.push_str(part);
            }
        }
    }
    sql.push_str(") b");
    if let Some(BrowseCursor {
        k: (rel, turnover, id),
    }) = &query.cursor
    {
        let condition = format!(
            " WHERE b.relevance < {} OR (b.relevance = {} AND (b.turnover > {} \
             OR (b.turnover = {} AND b.id > {})))",
            p.push(*rel),
            p.push(*rel),
            p.push(*turnover),
            p.push(*turnover),
            p.push(id.clone()),
        );
        sql.push_str(&condition);
    }
    let limit = p.push(i64::try_from(query.limit + 1).unwrap_or(201));
    sql.push_str(" ORDER BY b.relevance DESC, b.turnover ASC, b.id ASC LIMIT ");
    sql.push_str(&limit);
    let rows = Row::find_by_statement(Statement::from_sql_and_values(
        state.db.get_database_backend(),
        sql,
        p.values,
    ))
    .all(&state.db)
    .await?;
    Ok(Page::from_rows(
        rows,
        query.limit,
        |r| BrowseCursor {
            k: (r.relevance, r.turnover, r.id.clone()),
        },
        |r| BrowseItem {
            id: r.id,
            merchant: BrowseMerchant {
                id: r.merchant_id,
                name: r.merchant_name,
                kelurahan_code: r.kelurahan_code,
            },
            commodity: BrowseCommodity {
                id: r.commodity_id,
                name: r.commodity_name,
                category: r.category,
                unit: r.unit,
                het_price: r.het_price.map(Rupiah::new),
                max_qty_per_buyer_per_day: r.max_qty_per_buyer_per_day.map(i64::from),
            },
            price: Rupiah::new(r.price),
            available_stock: r.stock,
        },
    ))
}
