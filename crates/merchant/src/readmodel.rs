//! The browse read model: every listing that could be sold, held in this process's memory and
//! searched there, so a browse request costs no database query.
//!
//! A snapshot is loaded by a few queries of [`LOAD_CHUNK`] rows (the sellable listings with their
//! merchant, product and its first photo, commodity, category permission and month-to-date
//! turnover) and answers requests
//! until one of these:
//! the listings namespace's cache generation moves (a merchant, product, listing, takedown,
//! commodity or category change, in any process: the next request waits for a new snapshot), the WIB month
//! turns, or it is older than [`MAX_AGE`] (the next request starts a rebuild in the background
//! and is answered from the old one meanwhile). Stock and turnover moved by orders therefore
//! show at most [`MAX_AGE`] plus one rebuild late, as the browse page cache already allowed;
//! checkout checks stock and the cap itself. The turnover cap is applied when a page is made,
//! from the policies, so a new cap shows as soon as cached pages expire.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use peken_kernel::cache::MemoryStore;
use peken_kernel::pagination::Page;
use peken_kernel::period::Period;
use peken_kernel::{ApiResult, AppState, Rupiah};
use sea_orm::{FromQueryResult, Statement};
use serde::Serialize;
use tokio::sync::Mutex as AsyncMutex;

use crate::browse::{BrowseCommodity, BrowseCursor, BrowseMerchant, BrowseProduct, BrowseQuery};
use crate::media;

/// How old a snapshot may grow before it is rebuilt.
pub const MAX_AGE: Duration = Duration::from_secs(5);

/// The read model of one process (kept in [`AppState::locals`]).
pub struct ReadModel {
    current: RwLock<Option<Arc<Snapshot>>>,
    rebuilding: Arc<AsyncMutex<()>>,
    /// Pages already answered, as their JSON text, under the listings generation and the
    /// query; each process keeps its own (a page is cheap to make again from the snapshot, so
    /// sharing them through Redis would cost more than it saves).
    pub pages: MemoryStore,
}

/// What the page cache may hold.
const PAGE_CACHE_BYTES: usize = 8 << 20;

impl Default for ReadModel {
    fn default() -> Self {
        Self {
            current: RwLock::default(),
            rebuilding: Arc::default(),
            pages: MemoryStore::with_budget(PAGE_CACHE_BYTES),
        }
    }
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
    product: Box<BrowseProduct>,
    commodity: Option<Arc<BrowseCommodity>>,
    /// The product's name in lower case, for relevance.
    name_lower: Box<str>,
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
    merchant_photo: Option<String>,
    product_id: String,
    product_name: String,
    unit: String,
    net_weight_g: Option<i64>,
    net_volume_ml: Option<i64>,
    image: Option<String>,
    commodity_id: Option<String>,
    commodity_name: Option<String>,
    commodity_unit: Option<String>,
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

/// A listing's search words (its product's and its shop's) and, for a staple, its commodity's:
/// "gula" finds a sugar whatever its brand, and a renamed commodity is found by its new name.
fn with_commodity_words(mut text: String, commodity: Option<&BrowseCommodity>) -> Box<str> {
    if let Some(c) = commodity {
        for word in peken_catalog::input::search_words(&c.name) {
            text.push(' ');
            text.push_str(&word);
        }
    }
    text.into()
}

/// A match in browse order: higher relevance first, then less turnover, then listing id; "less"
/// means earlier on the page.
struct Ranked<'a>(i64, &'a Entry);

impl Ranked<'_> {
    fn key(&self) -> (Reverse<i64>, i64, &str) {
        (Reverse(self.0), self.1.turnover, &self.1.id)
    }
}

impl PartialEq for Ranked<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Ranked<'_> {}

impl PartialOrd for Ranked<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Ranked<'_> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

impl Snapshot {
    async fn load(state: &AppState, generation: u64, period: Period) -> ApiResult<Self> {
        let mut strings = Interner::default();
        let mut merchants: HashMap<String, Arc<BrowseMerchant>> = HashMap::new();
        let mut commodities: HashMap<String, Arc<BrowseCommodity>> = HashMap::new();
        let mut listings = Vec::new();
        let mut by_kecamatan: HashMap<Arc<str>, Vec<u32>> = HashMap::new();
        // In chunks by listing id, so that a rebuild never holds the whole result set twice
        // (driver rows and entries) at once.
        let started = Instant::now();
        let mut after = String::new();
        loop {
            let rows = load_chunk(state, period, &after).await?;
            let Some(last) = rows.last() else {
                break;
            };
            after.clone_from(&last.id);
            let full = rows.len() == LOAD_CHUNK;
            for row in rows {
                let merchant = merchants
                    .entry(row.merchant_id.clone())
                    .or_insert_with(|| {
                        Arc::new(BrowseMerchant {
                            photo: row
                                .merchant_photo
                                .as_deref()
                                .and_then(|json| media::list_image_of_json(state, json)),
                            id: row.merchant_id,
                            name: row.merchant_name,
                            kelurahan_code: row.merchant_kelurahan,
                        })
                    })
                    .clone();
                let commodity = row.commodity_id.map(|id| {
                    commodities
                        .entry(id.clone())
                        .or_insert_with(|| {
                            Arc::new(BrowseCommodity {
                                id,
                                name: row.commodity_name.unwrap_or_default(),
                                category: row.category.clone(),
                                unit: row.commodity_unit.unwrap_or_default(),
                                het_price: row.het_price.map(Rupiah::new),
                                max_qty_per_buyer_per_day: row
                                    .max_qty_per_buyer_per_day
                                    .map(i64::from),
                            })
                        })
                        .clone()
                });
                let product = Box::new(BrowseProduct {
                    image: row
                        .image
                        .as_deref()
                        .and_then(|json| media::list_image_of_json(state, json)),
                    id: row.product_id,
                    name: row.product_name,
                    category: row.category.clone(),
                    unit: row.unit,
                    net_weight_g: row.net_weight_g,
                    net_volume_ml: row.net_volume_ml,
                });
                let search_text = with_commodity_words(row.search_text, commodity.as_deref());
                let kecamatan = strings.get(row.kecamatan_code);
                let at = u32::try_from(listings.len()).unwrap_or(u32::MAX);
                by_kecamatan.entry(kecamatan.clone()).or_default().push(at);
                listings.push(Entry {
                    id: row.id.into(),
                    price: row.price,
                    stock: row.stock,
                    turnover: row.turnover,
                    merchant,
                    name_lower: product.name.to_lowercase().into(),
                    product,
                    commodity,
                    category: strings.get(row.category),
                    kecamatan,
                    kelurahan: strings.get(row.kelurahan_code),
                    search_text,
                });
            }
            if !full {
                break;
            }
        }
        listings.shrink_to_fit();
        tracing::debug!(
            listings = listings.len(),
            millis = started.elapsed().as_millis(),
            "browse snapshot built"
        );
        Ok(Self {
            generation,
            period,
            built: Instant::now(),
            listings,
            by_kecamatan,
        })
    }

    /// One page of the listings that answer `query`, in browse order: relevance (how many
    /// search words the product's own name holds) first, then less month-to-date turnover,
    /// then listing id.
    pub fn page(&self, query: &BrowseQuery, cap: Rupiah) -> Page<ItemRef<'_>> {
        let matches = |e: &Entry| {
            e.turnover < cap.get()
                && query.category.as_deref().is_none_or(|c| *e.category == *c)
                && query
                    .commodity_id
                    .as_deref()
                    .is_none_or(|c| e.commodity.as_ref().is_some_and(|k| k.id == c))
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
                .filter(|w| e.name_lower.contains(w.as_str()))
                .count() as i64
        };
        // A page walk goes on after the cursor's sort key, in the same order.
        let after_cursor = |ranked: &Ranked<'_>| {
            query
                .cursor
                .as_ref()
                .is_none_or(|BrowseCursor { k: (r, t, id) }| {
                    ranked.key() > (Reverse(*r), *t, id.as_str())
                })
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
        // The first `limit + 1` in browse order, kept in a max-heap of that size: memory per
        // request stays a page, however many listings match.
        let wanted = usize::try_from(query.limit)
            .unwrap_or(usize::MAX)
            .saturating_add(1);
        let mut best: BinaryHeap<Ranked<'_>> = BinaryHeap::with_capacity(wanted.min(1024) + 1);
        for e in candidates.filter(|e| matches(e)) {
            let ranked = Ranked(relevance(e), e);
            if !after_cursor(&ranked) {
                continue;
            }
            if best.len() == wanted {
                if best.peek().is_some_and(|worst| ranked < *worst) {
                    best.pop();
                } else {
                    continue;
                }
            }
            best.push(ranked);
        }
        let found: Vec<(i64, &Entry)> = best
            .into_sorted_vec()
            .into_iter()
            .map(|Ranked(rel, e)| (rel, e))
            .collect();
        Page::from_rows(
            found,
            query.limit,
            |(rel, e)| BrowseCursor {
                k: (*rel, e.turnover, e.id.to_string()),
            },
            |(_, e)| ItemRef {
                id: &e.id,
                merchant: &e.merchant,
                product: &e.product,
                commodity: e.commodity.as_deref(),
                price: Rupiah::new(e.price),
                available_stock: e.stock,
            },
        )
    }
}

/// A browse item borrowed from the snapshot, serialised exactly as [`BrowseItem`] (same fields,
/// same order) without copying its strings.
#[derive(Debug, Serialize)]
pub struct ItemRef<'a> {
    pub id: &'a str,
    pub merchant: &'a BrowseMerchant,
    pub product: &'a BrowseProduct,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commodity: Option<&'a BrowseCommodity>,
    pub price: Rupiah,
    pub available_stock: i64,
}

/// Rows loaded per query when a snapshot is built.
const LOAD_CHUNK: usize = 5_000;

/// The sellable listings after listing id `after`, in id order, at most [`LOAD_CHUNK`].
async fn load_chunk(state: &AppState, period: Period, after: &str) -> ApiResult<Vec<Row>> {
    Ok(Row::find_by_statement(Statement::from_sql_and_values(
        state.db.get_database_backend(),
        "SELECT l.id, l.price, l.stock, l.merchant_id, m.name AS merchant_name, \
         m.kelurahan_code AS merchant_kelurahan, m.photo AS merchant_photo, \
         p.id AS product_id, p.name AS product_name, p.unit, p.net_weight_g, p.net_volume_ml, \
         (SELECT i.renditions FROM product_images i \
           WHERE i.product_id = p.id ORDER BY i.position LIMIT 1) AS image, \
         c.id AS commodity_id, c.name AS commodity_name, c.unit AS commodity_unit, \
         c.het_price, c.max_qty_per_buyer_per_day, \
         COALESCE(c.category, p.category) AS category, l.kecamatan_code, l.kelurahan_code, \
         l.search_text, CAST(COALESCE(t.gross_amount, 0) AS BIGINT) AS turnover \
         FROM listings l \
         JOIN merchants m ON m.id = l.merchant_id \
         JOIN products p ON p.id = l.product_id \
         LEFT JOIN commodities c ON c.id = l.commodity_id \
         LEFT JOIN merchant_turnover t ON t.merchant_id = l.merchant_id AND t.period = $1 \
         WHERE l.id > $2 AND m.status = 'active' AND m.nib_status = 'checked' \
         AND l.active = $3 AND p.status = 'approved' \
         AND (c.id IS NULL OR (c.active = $4 AND (c.het_price IS NULL OR l.price <= c.het_price))) \
         AND l.taken_down_at IS NULL AND l.stock > 0 \
         AND EXISTS (SELECT 1 FROM category_permissions cp \
           WHERE cp.merchant_kind = m.kind AND cp.category = COALESCE(c.category, p.category)) \
         ORDER BY l.id LIMIT $5",
        [
            period.to_string().into(),
            after.into(),
            true.into(),
            true.into(),
            i64::try_from(LOAD_CHUNK).unwrap_or(5_000).into(),
        ],
    ))
    .all(&state.read_db())
    .await?)
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

/// This process's read model.
pub fn model(state: &AppState) -> Arc<ReadModel> {
    state.locals.get_or_init(ReadModel::default)
}

/// The snapshot to answer from now, for the listings namespace's current `generation`: rebuilt
/// first when the data it holds changed.
pub async fn snapshot(state: &AppState, generation: u64) -> ApiResult<Arc<Snapshot>> {
    let model = model(state);
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;
    use peken_kernel::pagination::PageParams;

    /// A small deterministic generator, so a failure can be replayed.
    struct Lcg(u64);

    impl Lcg {
        fn below(&mut self, n: u64) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 33) % n
        }
    }

    const NAMES: [&str; 4] = ["Beras Medium", "Gula Pasir", "Minyak Goreng", "Beras Merah"];
    const AREAS: [&str; 3] = ["35.78.01", "35.78.02", "35.78.03"];

    fn snapshot(rng: &mut Lcg, n: usize) -> Snapshot {
        let mut listings = Vec::new();
        let mut by_kecamatan: HashMap<Arc<str>, Vec<u32>> = HashMap::new();
        for i in 0..n {
            let name = NAMES[rng.below(4) as usize];
            let shop = format!(
                "Toko {}",
                ["Beras Jaya", "Makmur", "Gula Manis"][rng.below(3) as usize]
            );
            let kecamatan: Arc<str> = Arc::from(AREAS[rng.below(3) as usize]);
            by_kecamatan
                .entry(kecamatan.clone())
                .or_default()
                .push(u32::try_from(i).unwrap());
            listings.push(Entry {
                id: format!("{:04x}-{}", rng.below(65_536), i).into(),
                price: 10_000,
                stock: 5,
                // Few distinct values, so ties on turnover are common.
                turnover: [0, 1_000_000, 29_000_000, 30_000_000][rng.below(4) as usize],
                merchant: Arc::new(BrowseMerchant {
                    id: format!("m{}", rng.below(5)),
                    name: shop.clone(),
                    kelurahan_code: format!("{kecamatan}.1001"),
                    photo: None,
                }),
                product: Box::new(BrowseProduct {
                    id: format!("p{i}"),
                    name: name.to_owned(),
                    category: "sembako".to_owned(),
                    unit: "kg".to_owned(),
                    net_weight_g: None,
                    net_volume_ml: None,
                    image: None,
                }),
                commodity: Some(Arc::new(BrowseCommodity {
                    id: name.to_owned(),
                    name: name.to_owned(),
                    category: "sembako".to_owned(),
                    unit: "kg".to_owned(),
                    het_price: None,
                    max_qty_per_buyer_per_day: None,
                })),
                name_lower: name.to_lowercase().into(),
                category: Arc::from("sembako"),
                kelurahan: Arc::from(format!("{kecamatan}.1001")),
                kecamatan,
                search_text: peken_catalog::input::search_words(&format!("{name} {shop}"))
                    .join(" ")
                    .into(),
            });
        }
        Snapshot {
            generation: 0,
            period: Period::of(chrono::Utc::now()),
            built: Instant::now(),
            listings,
            by_kecamatan,
        }
    }

    #[test]
    fn page_walks_return_every_match_once_in_browse_order() {
        let mut rng = Lcg(7);
        let cap = Rupiah::new(30_000_000);
        for round in 0..200 {
            let n = 1 + rng.below(120) as usize;
            let snap = snapshot(&mut rng, n);
            let words: Vec<String> = match rng.below(4) {
                0 => vec![],
                1 => vec!["beras".into()],
                2 => vec!["beras".into(), "jaya".into()],
                _ => vec!["gula".into()],
            };
            let kecamatan = (rng.below(2) == 0).then(|| AREAS[rng.below(3) as usize].to_owned());
            let limit = 1 + rng.below(7);
            // What the SQL used to answer: filter, then sort the whole set.
            let mut expected: Vec<(i64, i64, String)> = snap
                .listings
                .iter()
                .filter(|e| e.turnover < cap.get())
                .filter(|e| kecamatan.as_deref().is_none_or(|k| *e.kecamatan == *k))
                .filter(|e| words.iter().all(|w| e.search_text.contains(w.as_str())))
                .map(|e| {
                    let rel = words
                        .iter()
                        .filter(|w| e.name_lower.contains(w.as_str()))
                        .count() as i64;
                    (rel, e.turnover, e.id.to_string())
                })
                .collect();
            expected.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
            let mut walked = Vec::new();
            let mut cursor = None;
            loop {
                let query = BrowseQuery {
                    words: words.clone(),
                    kecamatan: kecamatan.clone(),
                    cursor: cursor.clone(),
                    limit,
                    ..BrowseQuery::default()
                };
                let page = snap.page(&query, cap);
                assert!(page.items.len() as u64 <= limit);
                walked.extend(page.items.iter().map(|i| i.id.to_owned()));
                let Some(next) = page.next_cursor else {
                    break;
                };
                cursor = PageParams {
                    limit: None,
                    cursor: Some(next),
                }
                .cursor::<BrowseCursor>()
                .unwrap();
            }
            let expected: Vec<String> = expected.into_iter().map(|k| k.2).collect();
            assert_eq!(walked, expected, "round {round}");
        }
    }
}
