//! The browse read model: every listing that could be sold, held in this process's memory and
//! searched there, so a browse request costs no database query.
//!
//! A snapshot is loaded with one query (the sellable listings with their merchant, commodity,
//! category permission and month-to-date turnover) and answers requests until one of these:
//! the listings namespace's cache generation moves (a merchant, listing, takedown, commodity or
//! category change, in any process: the next request waits for a new snapshot), the WIB month
//! turns, or it is older than [`MAX_AGE`] (the next request starts a rebuild in the background
//! and is answered from the old one meanwhile). Stock and turnover moved by orders therefore
//! show at most [`MAX_AGE`] plus one rebuild late, as the browse page cache already allowed;
//! checkout checks stock and the cap itself. The turnover cap is applied per request from the
//! policies, so a new cap shows at once.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use peken_kernel::pagination::Page;
use peken_kernel::period::Period;
use peken_kernel::{ApiResult, AppState, Rupiah};
use sea_orm::{FromQueryResult, Statement};
use tokio::sync::Mutex as AsyncMutex;

use crate::browse::{BrowseCommodity, BrowseCursor, BrowseItem, BrowseMerchant, BrowseQuery};

/// How old a snapshot may grow before it is rebuilt.
pub const MAX_AGE: Duration = Duration::from_secs(5);

/// The read model of one process (kept in [`AppState::locals`]).
#[derive(Default)]
pub struct ReadModel {
    current: RwLock<Option<Arc<Snapshot>>>,
    rebuilding: Arc<AsyncMutex<()>>,
}

/// Sellable listings at one moment.
pub struct Snapshot {
    generation: u64,
    period: Period,
    built: Instant,
    listings: Vec<Entry>,
    /// Positions in `listings` per kecamatan, the filter nearly every search has.
    by_kecamatan: HashMap<Arc<str>, Vec<u32>>,
}

struct Entry {
    id: Box<str>,
    price: i64,
    stock: i64,
    turnover: i64,
    merchant: Arc<BrowseMerchant>,
    commodity: Arc<BrowseCommodity>,
    /// The commodity's name in lower case, for relevance.
    commodity_lower: Arc<str>,
    /// The listing's own copies, as the filters use them.
    category: Arc<str>,
    kecamatan: Arc<str>,
    kelurahan: Arc<str>,
    search_text: Box<str>,
}

#[derive(Debug, FromQueryResult)]
struct Row {
    id: String,
    price: i64,
    stock: i64,
    merchant_id: String,
    merchant_name: String,
    merchant_kelurahan: String,
    commodity_id: String,
    commodity_name: String,
    commodity_category: String,
    unit: String,
    het_price: Option<i64>,
    max_qty_per_buyer_per_day: Option<i32>,
    category: String,
    kecamatan_code: String,
    kelurahan_code: String,
    search_text: String,
    turnover: i64,
}

/// Shares equal strings (region codes, categories) between entries.
#[derive(Default)]
struct Interner(HashMap<String, Arc<str>>);

impl Interner {
    fn get(&mut self, s: String) -> Arc<str> {
        if let Some(shared) = self.0.get(&s) {
            return shared.clone();
        }
        let shared: Arc<str> = Arc::from(s.as_str());
        self.0.insert(s, shared.clone());
        shared
    }
}

impl Snapshot {
    async fn load(state: &AppState, generation: u64, period: Period) -> ApiResult<Self> {
        let rows = Row::find_by_statement(Statement::from_sql_and_values(
            state.db.get_database_backend(),
            "SELECT l.id, l.price, l.stock, l.merchant_id, m.name AS merchant_name, \
             m.kelurahan_code AS merchant_kelurahan, c.id AS commodity_id, \
             c.name AS commodity_name, c.category AS commodity_category, c.unit, c.het_price, \
             c.max_qty_per_buyer_per_day, l.category, l.kecamatan_code, l.kelurahan_code, \
             l.search_text, CAST(COALESCE(t.gross_amount, 0) AS BIGINT) AS turnover \
             FROM listings l \
             JOIN merchants m ON m.id = l.merchant_id \
             JOIN commodities c ON c.id = l.commodity_id \
             LEFT JOIN merchant_turnover t ON t.merchant_id = l.merchant_id AND t.period = $1 \
             WHERE m.status = 'active' AND l.active = $2 AND c.active = $3 \
             AND l.taken_down_at IS NULL AND l.stock > 0 \
             AND (c.het_price IS NULL OR l.price <= c.het_price) \
             AND EXISTS (SELECT 1 FROM category_permissions cp \
               WHERE cp.merchant_kind = m.kind AND cp.category = c.category)",
            [period.to_string().into(), true.into(), true.into()],
        ))
        .all(&state.db)
        .await?;
        let mut strings = Interner::default();
        let mut merchants: HashMap<String, Arc<BrowseMerchant>> = HashMap::new();
        let mut commodities: HashMap<String, (Arc<BrowseCommodity>, Arc<str>)> = HashMap::new();
        let mut listings = Vec::with_capacity(rows.len());
        let mut by_kecamatan: HashMap<Arc<str>, Vec<u32>> = HashMap::new();
        for row in rows {
            let merchant = merchants
                .entry(row.merchant_id.clone())
                .or_insert_with(|| {
                    Arc::new(BrowseMerchant {
                        id: row.merchant_id,
                        name: row.merchant_name,
                        kelurahan_code: row.merchant_kelurahan,
                    })
                })
                .clone();
            let (commodity, commodity_lower) = commodities
                .entry(row.commodity_id.clone())
                .or_insert_with(|| {
                    let lower: Arc<str> = Arc::from(row.commodity_name.to_lowercase());
                    let commodity = BrowseCommodity {
                        id: row.commodity_id,
                        name: row.commodity_name,
                        category: row.commodity_category,
                        unit: row.unit,
                        het_price: row.het_price.map(Rupiah::new),
                        max_qty_per_buyer_per_day: row.max_qty_per_buyer_per_day.map(i64::from),
                    };
                    (Arc::new(commodity), lower)
                })
                .clone();
            let kecamatan = strings.get(row.kecamatan_code);
            let at = u32::try_from(listings.len()).unwrap_or(u32::MAX);
            by_kecamatan.entry(kecamatan.clone()).or_default().push(at);
            listings.push(Entry {
                id: row.id.into(),
                price: row.price,
                stock: row.stock,
                turnover: row.turnover,
                merchant,
                commodity,
                commodity_lower,
                category: strings.get(row.category),
                kecamatan,
                kelurahan: strings.get(row.kelurahan_code),
                search_text: row.search_text.into(),
            });
        }
        Ok(Self {
            generation,
            period,
            built: Instant::now(),
            listings,
            by_kecamatan,
        })
    }

    /// One page of the listings that answer `query`, in browse order: relevance (how many
    /// search words the commodity's own name holds) first, then less month-to-date turnover,
    /// then listing id.
    pub fn page(&self, query: &BrowseQuery, cap: Rupiah) -> Page<BrowseItem> {
        let matches = |e: &Entry| {
            e.turnover < cap.get()
                && query.category.as_deref().is_none_or(|c| *e.category == *c)
                && query
                    .commodity_id
                    .as_deref()
                    .is_none_or(|c| e.commodity.id == c)
                && query
                    .kecamatan
                    .as_deref()
                    .is_none_or(|k| *e.kecamatan == *k)
                && query
                    .kelurahan
                    .as_deref()
                    .is_none_or(|k| *e.kelurahan == *k)
                && query
                    .merchant_id
                    .as_deref()
                    .is_none_or(|m| e.merchant.id == m)
                && query
                    .words
                    .iter()
                    .all(|w| e.search_text.contains(w.as_str()))
        };
        let relevance = |e: &Entry| {
            query
                .words
                .iter()
                .filter(|w| e.commodity_lower.contains(w.as_str()))
                .count() as i64
        };
        let after_cursor = |rel: i64, e: &Entry| match &query.cursor {
            None => true,
            Some(BrowseCursor { k: (r, t, id) }) => {
                rel < *r
                    || (rel == *r
                        && (e.turnover > *t || (e.turnover == *t && &*e.id > id.as_str())))
            }
        };
        let candidates: Box<dyn Iterator<Item = &Entry>> = match query.kecamatan.as_deref() {
            Some(k) => Box::new(
                self.by_kecamatan
                    .get(k)
                    .into_iter()
                    .flatten()
                    .filter_map(|&i| self.listings.get(i as usize)),
            ),
            None => Box::new(self.listings.iter()),
        };
        let mut found: Vec<(i64, &Entry)> = candidates
            .filter(|e| matches(e))
            .map(|e| (relevance(e), e))
            .filter(|(rel, e)| after_cursor(*rel, e))
            .collect();
        let order = |a: &(i64, &Entry), b: &(i64, &Entry)| {
            b.0.cmp(&a.0)
                .then(a.1.turnover.cmp(&b.1.turnover))
                .then_with(|| a.1.id.cmp(&b.1.id))
        };
        let wanted = usize::try_from(query.limit)
            .unwrap_or(usize::MAX)
            .saturating_add(1);
        if found.len() > wanted {
            found.select_nth_unstable_by(wanted - 1, order);
            found.truncate(wanted);
        }
        found.sort_unstable_by(order);
        Page::from_rows(
            found,
            query.limit,
            |(rel, e)| BrowseCursor {
                k: (*rel, e.turnover, e.id.to_string()),
            },
            |(_, e)| BrowseItem {
                id: e.id.to_string(),
                merchant: (*e.merchant).clone(),
                commodity: (*e.commodity).clone(),
                price: Rupiah::new(e.price),
                available_stock: e.stock,
            },
        )
    }
}

impl ReadModel {
    fn current(&self) -> Option<Arc<Snapshot>> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn replace(&self, snapshot: Arc<Snapshot>) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Some(snapshot);
    }
}

/// The snapshot to answer from now, for the listings namespace's current `generation`: rebuilt
/// first when the data it holds changed.
pub async fn snapshot(state: &AppState, generation: u64) -> ApiResult<Arc<Snapshot>> {
    let model = state.locals.get_or_init(ReadModel::default);
    let period = Period::of(state.now());
    let usable = |s: &Snapshot| s.generation == generation && s.period == period;
    if let Some(current) = model.current()
        && usable(&current)
    {
        if current.built.elapsed() > MAX_AGE
            && let Ok(guard) = model.rebuilding.clone().try_lock_owned()
        {
            // Answer from this one; the next requests get the new one.
            let state = state.clone();
            let model = model.clone();
            tokio::spawn(async move {
                let _guard = guard;
                match Snapshot::load(&state, generation, period).await {
                    Ok(fresh) => model.replace(Arc::new(fresh)),
                    Err(e) => tracing::warn!(error = %e, "browse read model refresh failed"),
                }
            });
        }
        return Ok(current);
    }
    let _guard = model.rebuilding.lock().await;
    // Another request may have rebuilt it while this one waited.
    if let Some(current) = model.current()
        && usable(&current)
    {
        return Ok(current);
    }
    let fresh = Arc::new(Snapshot::load(state, generation, period).await?);
    model.replace(fresh.clone());
    Ok(fresh)
}
