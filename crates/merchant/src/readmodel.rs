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

use crate::browse::{BrowseCommodity, BrowseCursor, BrowseQuery};
use crate::media::{self, ListImage};

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

impl ReadModel {
    /// A read model whose page cache holds at most `page_cache_bytes`.
    pub fn new(page_cache_bytes: usize) -> Self {
        Self {
            current: RwLock::default(),
            rebuilding: Arc::default(),
            pages: MemoryStore::with_budget(page_cache_bytes),
        }
    }
}

/// Sellable listings at one moment.
///
/// Held compactly, as a city's worth of listings lives in every process: the strings of every
/// listing in one text ([`Span`]s into it), the names many listings share (categories, units,
/// kecamatan and kelurahan codes) once in a table, each shop, commodity and photo once, and
/// photos as their storage keys (their URLs are made when a page is).
pub struct Snapshot {
    generation: u64,
    period: Period,
    built: Instant,
    text: String,
    names: Names,
    shops: Vec<Shop>,
    staples: Vec<Staple>,
    photos: Vec<Photo>,
    listings: Vec<Entry>,
    /// Positions in `listings` per kecamatan (an index into `names`), the filter nearly every
    /// search has.
    by_kecamatan: HashMap<u32, Vec<u32>>,
}

/// A string in a snapshot's text.
#[derive(Debug, Clone, Copy, Default)]
struct Span {
    start: u32,
    len: u32,
}

/// Strings shared by many listings, each kept once and named by its position.
#[derive(Default)]
struct Names {
    list: Vec<Arc<str>>,
    index: HashMap<Arc<str>, u32>,
}

impl Names {
    fn intern(&mut self, s: &str) -> u32 {
        if let Some(&at) = self.index.get(s) {
            return at;
        }
        let at = u32::try_from(self.list.len()).unwrap_or(u32::MAX);
        let shared: Arc<str> = Arc::from(s);
        self.list.push(shared.clone());
        self.index.insert(shared, at);
        at
    }

    fn get(&self, at: u32) -> &str {
        self.list.get(at as usize).map_or("", |s| s)
    }

    fn find(&self, s: &str) -> Option<u32> {
        self.index.get(s).copied()
    }
}

/// A shop, once for all its listings.
struct Shop {
    id: Box<str>,
    name: Box<str>,
    kelurahan_code: Box<str>,
    photo: Option<u32>,
    /// The shop's search words, which every listing's search words end with.
    words: Box<str>,
}

/// A commodity, once for all its listings, with its search words.
struct Staple {
    face: BrowseCommodity,
    words: Box<str>,
}

/// A photo as the storage keys of its smallest and largest sizes.
struct Photo {
    thumbnail: Span,
    largest: Span,
}

struct Entry {
    id: Span,
    product_id: Span,
    name: Span,
    /// The product's name in lower case, for relevance, when it is not ASCII (an ASCII name is
    /// compared ignoring ASCII case instead).
    name_lower: Option<Span>,
    /// The listing's search words, without its shop's when they end with them (`shop_words`).
    words: Span,
    price: i64,
    stock: i64,
    turnover: i64,
    net_weight_g: Option<i64>,
    net_volume_ml: Option<i64>,
    shop: u32,
    commodity: Option<u32>,
    image: Option<u32>,
    /// Indexes into the snapshot's names.
    category: u32,
    unit: u32,
    kecamatan: u32,
    kelurahan: u32,
    shop_words: bool,
}

#[derive(Debug, Clone, FromQueryResult)]
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

/// A snapshot being loaded, row by row.
#[derive(Default)]
struct Builder {
    text: String,
    names: Names,
    shops: Vec<Shop>,
    shop_index: HashMap<String, u32>,
    staples: Vec<Staple>,
    staple_index: HashMap<String, u32>,
    photos: Vec<Photo>,
    /// Photos by their keys, so that photos shared by many products are kept once.
    photo_index: HashMap<(Box<str>, Box<str>), u32>,
    listings: Vec<Entry>,
    by_kecamatan: HashMap<u32, Vec<u32>>,
}

fn position(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

impl Builder {
    fn span(&mut self, s: &str) -> Span {
        let start = position(self.text.len());
        self.text.push_str(s);
        Span {
            start,
            len: position(s.len()),
        }
    }

    /// The photo of a stored renditions JSON, kept once however many products show it.
    fn photo(&mut self, json: Option<&str>) -> Option<u32> {
        let (thumbnail, largest) = media::list_keys_of_json(json?)?;
        let key = (thumbnail.into_boxed_str(), largest.into_boxed_str());
        if let Some(&at) = self.photo_index.get(&key) {
            return Some(at);
        }
        let photo = Photo {
            thumbnail: self.span(&key.0),
            largest: self.span(&key.1),
        };
        let at = position(self.photos.len());
        self.photos.push(photo);
        self.photo_index.insert(key, at);
        Some(at)
    }

    fn push(&mut self, row: Row) {
        let shop = if let Some(&at) = self.shop_index.get(&row.merchant_id) {
            at
        } else {
            let photo = self.photo(row.merchant_photo.as_deref());
            let at = position(self.shops.len());
            self.shops.push(Shop {
                words: peken_catalog::input::search_words(&row.merchant_name)
                    .join(" ")
                    .into(),
                id: row.merchant_id.as_str().into(),
                name: row.merchant_name.into(),
                kelurahan_code: row.merchant_kelurahan.into(),
                photo,
            });
            self.shop_index.insert(row.merchant_id, at);
            at
        };
        let commodity = row.commodity_id.map(|id| {
            if let Some(&at) = self.staple_index.get(&id) {
                return at;
            }
            let name = row.commodity_name.unwrap_or_default();
            let at = position(self.staples.len());
            self.staples.push(Staple {
                // A staple's words too: "gula" finds a sugar whatever its brand, and a
                // renamed commodity is found by its new name.
                words: peken_catalog::input::search_words(&name).join(" ").into(),
                face: BrowseCommodity {
                    id: id.clone(),
                    name,
                    category: row.category.clone(),
                    unit: row.commodity_unit.unwrap_or_default(),
                    het_price: row.het_price.map(Rupiah::new),
                    max_qty_per_buyer_per_day: row.max_qty_per_buyer_per_day.map(i64::from),
                },
            });
            self.staple_index.insert(id, at);
            at
        });
        let image = self.photo(row.image.as_deref());
        // The listing's words are the product's, then the shop's (`listing_search_text`): the
        // shop's are kept once, with the shop, when they are still its current ones.
        let shop_words = self.shops.get(shop as usize).map_or("", |s| &s.words);
        let own = match row.search_text.strip_suffix(shop_words) {
            Some(rest) if !shop_words.is_empty() && (rest.is_empty() || rest.ends_with(' ')) => {
                Some(rest.strip_suffix(' ').unwrap_or(rest).to_owned())
            }
            _ => None,
        };
        let at = position(self.listings.len());
        let kecamatan = self.names.intern(&row.kecamatan_code);
        self.by_kecamatan.entry(kecamatan).or_default().push(at);
        let id = self.span(&row.id);
        let entry = Entry {
            id,
            // A listing's product mostly has the listing's id (migration m0018 made them so).
            product_id: if row.product_id == row.id {
                id
            } else {
                self.span(&row.product_id)
            },
            name: self.span(&row.product_name),
            name_lower: (!row.product_name.is_ascii())
                .then(|| self.span(&row.product_name.to_lowercase())),
            words: self.span(own.as_deref().unwrap_or(&row.search_text)),
            price: row.price,
            stock: row.stock,
            turnover: row.turnover,
            net_weight_g: row.net_weight_g,
            net_volume_ml: row.net_volume_ml,
            shop,
            commodity,
            image,
            category: self.names.intern(&row.category),
            unit: self.names.intern(&row.unit),
            kecamatan,
            kelurahan: self.names.intern(&row.kelurahan_code),
            shop_words: own.is_some(),
        };
        self.listings.push(entry);
    }

    fn finish(mut self, generation: u64, period: Period) -> Snapshot {
        self.text.shrink_to_fit();
        self.listings.shrink_to_fit();
        self.shops.shrink_to_fit();
        self.photos.shrink_to_fit();
        for at in self.by_kecamatan.values_mut() {
            at.shrink_to_fit();
        }
        Snapshot {
            generation,
            period,
            built: Instant::now(),
            text: self.text,
            names: self.names,
            shops: self.shops,
            staples: self.staples,
            photos: self.photos,
            listings: self.listings,
            by_kecamatan: self.by_kecamatan,
        }
    }
}

/// Whether `haystack`, in lower case, contains `needle` (lower case already), for an ASCII
/// `haystack`: the same answer as `haystack.to_lowercase().contains(needle)` without making
/// the lower-case copy.
fn contains_ascii_lowercased(haystack: &str, needle: &str) -> bool {
    let (hay, needle) = (haystack.as_bytes(), needle.as_bytes());
    needle.is_empty()
        || hay.windows(needle.len()).any(|w| {
            w.iter()
                .zip(needle)
                .all(|(a, b)| a.to_ascii_lowercase() == *b)
        })
}

/// A match in browse order: higher relevance first, then less turnover, then listing id; "less"
/// means earlier on the page.
struct Ranked<'a>(i64, &'a Entry, &'a str);

impl Ranked<'_> {
    fn key(&self) -> (Reverse<i64>, i64, &str) {
        (Reverse(self.0), self.1.turnover, self.2)
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

/// A filter of the query resolved against a snapshot's tables: `Err(())` when the value is in
/// none of its listings (nothing matches).
fn resolve(value: Option<&str>, find: impl FnOnce(&str) -> Option<u32>) -> Result<Option<u32>, ()> {
    match value {
        None => Ok(None),
        Some(v) => find(v).map(Some).ok_or(()),
    }
}

impl Snapshot {
    async fn load(state: &AppState, generation: u64, period: Period) -> ApiResult<Self> {
        let mut builder = Builder::default();
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
                builder.push(row);
            }
            if !full {
                break;
            }
        }
        let snapshot = builder.finish(generation, period);
        tracing::debug!(
            listings = snapshot.listings.len(),
            bytes = snapshot.heap_bytes(),
            millis = started.elapsed().as_millis(),
            "browse snapshot built"
        );
        Ok(snapshot)
    }

    /// The memory the snapshot holds beyond its own struct, as allocated (capacities; the
    /// allocator's own bookkeeping of its few dozen allocations aside).
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        let names: usize = self.names.list.iter().map(|s| s.len() + 16).sum::<usize>()
            + self.names.list.capacity() * size_of::<Arc<str>>()
            + self.names.index.capacity() * (size_of::<(Arc<str>, u32)>() + 1);
        let shops: usize = self
            .shops
            .iter()
            .map(|s| s.id.len() + s.name.len() + s.kelurahan_code.len() + s.words.len())
            .sum::<usize>()
            + self.shops.capacity() * size_of::<Shop>();
        let staples: usize = self
            .staples
            .iter()
            .map(|s| {
                s.face.id.capacity()
                    + s.face.name.capacity()
                    + s.face.category.capacity()
                    + s.face.unit.capacity()
                    + s.words.len()
            })
            .sum::<usize>()
            + self.staples.capacity() * size_of::<Staple>();
        let by_kecamatan: usize = self
            .by_kecamatan
            .values()
            .map(|v| v.capacity() * size_of::<u32>())
            .sum::<usize>()
            + self.by_kecamatan.capacity() * (size_of::<(u32, Vec<u32>)>() + 1);
        self.text.capacity()
            + self.listings.capacity() * size_of::<Entry>()
            + self.photos.capacity() * size_of::<Photo>()
            + names
            + shops
            + staples
            + by_kecamatan
    }

    /// How many listings it holds.
    pub fn len(&self) -> usize {
        self.listings.len()
    }

    pub fn is_empty(&self) -> bool {
        self.listings.is_empty()
    }

    fn str(&self, span: Span) -> &str {
        let start = span.start as usize;
        self.text
            .get(start..start.saturating_add(span.len as usize))
            .unwrap_or("")
    }

    fn list_image(&self, photo: Option<u32>, url: &dyn Fn(&str) -> String) -> Option<ListImage> {
        let photo = self.photos.get(photo? as usize)?;
        Some(ListImage {
            thumbnail_url: url(self.str(photo.thumbnail)),
            url: url(self.str(photo.largest)),
        })
    }

    /// One page of the listings that answer `query`, in browse order: relevance (how many
    /// search words the product's own name holds) first, then less month-to-date turnover,
    /// then listing id. `url` makes a photo's address from its storage key.
    pub fn page(
        &self,
        query: &BrowseQuery,
        cap: Rupiah,
        url: &dyn Fn(&str) -> String,
    ) -> Page<ItemRef<'_>> {
        let filters = (|| {
            Ok::<_, ()>((
                resolve(query.category.as_deref(), |c| self.names.find(c))?,
                resolve(query.commodity_id.as_deref(), |c| {
                    self.staples
                        .iter()
                        .position(|s| s.face.id == c)
                        .map(position)
                })?,
                resolve(query.kecamatan.as_deref(), |k| self.names.find(k))?,
                resolve(query.kelurahan.as_deref(), |k| self.names.find(k))?,
                resolve(query.merchant_id.as_deref(), |m| {
                    self.shops.iter().position(|s| &*s.id == m).map(position)
                })?,
            ))
        })();
        let Ok((category, commodity, kecamatan, kelurahan, shop)) = filters else {
            return Page::from_rows(
                Vec::new(),
                query.limit,
                |e: &&Entry| BrowseCursor {
                    k: (0, e.turnover, String::new()),
                },
                |e| self.item(e, url),
            );
        };
        let matches = |e: &Entry| {
            e.turnover < cap.get()
                && category.is_none_or(|c| e.category == c)
                && commodity.is_none_or(|c| e.commodity == Some(c))
                && kecamatan.is_none_or(|k| e.kecamatan == k)
                && kelurahan.is_none_or(|k| e.kelurahan == k)
                && shop.is_none_or(|s| e.shop == s)
                && query.words.iter().all(|w| self.has_word(e, w))
        };
        let relevance = |e: &Entry| {
            let name = self.str(e.name);
            query
                .words
                .iter()
                .filter(|w| match e.name_lower {
                    Some(lower) => self.str(lower).contains(w.as_str()),
                    None => contains_ascii_lowercased(name, w),
                })
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
        let candidates: Box<dyn Iterator<Item = &Entry>> = match kecamatan {
            Some(k) => Box::new(
                self.by_kecamatan
                    .get(&k)
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
            let ranked = Ranked(relevance(e), e, self.str(e.id));
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
            .map(|Ranked(rel, e, _)| (rel, e))
            .collect();
        Page::from_rows(
            found,
            query.limit,
            |(rel, e)| BrowseCursor {
                k: (*rel, e.turnover, self.str(e.id).to_owned()),
            },
            |(_, e)| self.item(e, url),
        )
    }

    /// Whether the listing's search words (its own, its shop's, its commodity's) contain
    /// `word`; a word has no spaces, so it is in the words joined only when it is in one part.
    fn has_word(&self, e: &Entry, word: &str) -> bool {
        self.str(e.words).contains(word)
            || (e.shop_words
                && self
                    .shops
                    .get(e.shop as usize)
                    .is_some_and(|s| s.words.contains(word)))
            || e.commodity
                .and_then(|c| self.staples.get(c as usize))
                .is_some_and(|s| s.words.contains(word))
    }

    fn item(&self, e: &Entry, url: &dyn Fn(&str) -> String) -> ItemRef<'_> {
        const NO_SHOP: ShopRef<'static> = ShopRef {
            id: "",
            name: "",
            kelurahan_code: "",
            photo: None,
        };
        let shop = self
            .shops
            .get(e.shop as usize)
            .map_or(NO_SHOP, |s| ShopRef {
                id: &s.id,
                name: &s.name,
                kelurahan_code: &s.kelurahan_code,
                photo: self.list_image(s.photo, url),
            });
        ItemRef {
            id: self.str(e.id),
            merchant: shop,
            product: ProductRef {
                id: self.str(e.product_id),
                name: self.str(e.name),
                category: self.names.get(e.category),
                unit: self.names.get(e.unit),
                net_weight_g: e.net_weight_g,
                net_volume_ml: e.net_volume_ml,
                image: self.list_image(e.image, url),
            },
            commodity: e
                .commodity
                .and_then(|c| self.staples.get(c as usize))
                .map(|s| &s.face),
            price: Rupiah::new(e.price),
            available_stock: e.stock,
        }
    }
}

/// A browse item borrowed from the snapshot, serialised exactly as [`BrowseItem`] (same fields,
/// same order) without copying its strings.
///
/// [`BrowseItem`]: crate::browse::BrowseItem
#[derive(Debug, Serialize)]
pub struct ItemRef<'a> {
    pub id: &'a str,
    pub merchant: ShopRef<'a>,
    pub product: ProductRef<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commodity: Option<&'a BrowseCommodity>,
    pub price: Rupiah,
    pub available_stock: i64,
}

/// [`BrowseMerchant`](crate::browse::BrowseMerchant) borrowed from the snapshot.
#[derive(Debug, Serialize)]
pub struct ShopRef<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub kelurahan_code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub photo: Option<ListImage>,
}

/// [`BrowseProduct`](crate::browse::BrowseProduct) borrowed from the snapshot.
#[derive(Debug, Serialize)]
pub struct ProductRef<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub category: &'a str,
    pub unit: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub net_weight_g: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub net_volume_ml: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<ListImage>,
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
    state
        .locals
        .get_or_init(|| ReadModel::new(state.settings.browse_page_cache_bytes))
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

    const NAMES: [&str; 5] = [
        "Beras Medium",
        "Gula Pasir",
        "Minyak Goreng",
        "Beras Merah",
        "KOPI Bubuk Ärmel",
    ];
    const AREAS: [&str; 3] = ["35.78.01", "35.78.02", "35.78.03"];

    fn row(i: usize, name: &str, shop: u64, kecamatan: &str, turnover: i64) -> Row {
        let shop_name = ["Toko Beras Jaya", "Toko Makmur", "Toko Gula Manis"][shop as usize % 3];
        let words = peken_catalog::input::search_words(&format!("{name} {shop_name}")).join(" ");
        let photo = |n: usize| {
            format!(
                "[{{\"width\":160,\"height\":120,\"key\":\"img/{n}/s.jpg\",\"bytes\":1}},\
                 {{\"width\":1080,\"height\":810,\"key\":\"img/{n}/l.jpg\",\"bytes\":2}}]"
            )
        };
        Row {
            id: format!("{:04x}-{i}", (i * 7919) % 65_536),
            price: 10_000,
            stock: 5,
            merchant_id: format!("m{shop}"),
            merchant_name: shop_name.to_owned(),
            merchant_kelurahan: format!("35.78.0{}.1001", shop % 3 + 1),
            merchant_photo: shop.is_multiple_of(2).then(|| photo(100 + shop as usize)),
            product_id: format!("p{i}"),
            product_name: name.to_owned(),
            unit: "kg".to_owned(),
            net_weight_g: i.is_multiple_of(3).then_some(1_000),
            net_volume_ml: None,
            image: (!i.is_multiple_of(5)).then(|| photo(i % 4)),
            commodity_id: Some(name.to_lowercase()),
            commodity_name: Some(name.to_owned()),
            commodity_unit: Some("kg".to_owned()),
            het_price: None,
            max_qty_per_buyer_per_day: Some(2),
            category: "sembako".to_owned(),
            kecamatan_code: kecamatan.to_owned(),
            kelurahan_code: format!("{kecamatan}.1001"),
            // Some listings keep an old shop name in their words.
            search_text: if i.is_multiple_of(11) {
                format!(
                    "{} toko lama",
                    peken_catalog::input::search_words(name).join(" ")
                )
            } else {
                words
            },
            turnover,
        }
    }

    fn snapshot(rng: &mut Lcg, n: usize) -> (Snapshot, Vec<Row>) {
        let mut builder = Builder::default();
        let mut rows = Vec::new();
        for i in 0..n {
            let name = NAMES[rng.below(NAMES.len() as u64) as usize];
            let shop = rng.below(5);
            let kecamatan = AREAS[rng.below(3) as usize];
            // Few distinct values, so ties on turnover are common.
            let turnover = [0, 1_000_000, 29_000_000, 30_000_000][rng.below(4) as usize];
            let row = row(i, name, shop, kecamatan, turnover);
            rows.push(row.clone());
            builder.push(row);
        }
        (builder.finish(0, Period::of(chrono::Utc::now())), rows)
    }

    fn url(key: &str) -> String {
        format!("/media/{key}")
    }

    /// What the SQL used to answer: filter on the listing's whole search text (its commodity's
    /// words added) and the product's lower-case name, then sort the whole set.
    fn expected(rows: &[Row], query: &BrowseQuery, cap: Rupiah) -> Vec<String> {
        let mut found: Vec<(i64, i64, String)> = rows
            .iter()
            .filter(|r| r.turnover < cap.get())
            .filter(|r| {
                query
                    .kecamatan
                    .as_deref()
                    .is_none_or(|k| r.kecamatan_code == k)
            })
            .filter(|r| query.category.as_deref().is_none_or(|c| r.category == c))
            .filter(|r| {
                query
                    .merchant_id
                    .as_deref()
                    .is_none_or(|m| r.merchant_id == m)
            })
            .filter(|r| {
                query
                    .commodity_id
                    .as_deref()
                    .is_none_or(|c| r.commodity_id.as_deref() == Some(c))
            })
            .filter(|r| {
                let mut text = r.search_text.clone();
                for word in peken_catalog::input::search_words(
                    r.commodity_name.as_deref().unwrap_or_default(),
                ) {
                    text.push(' ');
                    text.push_str(&word);
                }
                query.words.iter().all(|w| text.contains(w.as_str()))
            })
            .map(|r| {
                let lower = r.product_name.to_lowercase();
                let rel = query
                    .words
                    .iter()
                    .filter(|w| lower.contains(w.as_str()))
                    .count() as i64;
                (rel, r.turnover, r.id.clone())
            })
            .collect();
        found.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        found.into_iter().map(|k| k.2).collect()
    }

    #[test]
    fn page_walks_return_every_match_once_in_browse_order() {
        let mut rng = Lcg(7);
        let cap = Rupiah::new(30_000_000);
        let searches: [&[&str]; 9] = [
            &[],
            &["beras"],
            &["beras", "jaya"],
            &["gula"],
            &["makmur"],
            &["lama"],
            &["ärmel", "kopi"],
            &["rmel"],
            &["toko", "medium"],
        ];
        for round in 0..300 {
            let n = 1 + rng.below(120) as usize;
            let (snap, rows) = snapshot(&mut rng, n);
            let words: Vec<String> = searches[rng.below(searches.len() as u64) as usize]
                .iter()
                .map(|w| (*w).to_owned())
                .collect();
            let kecamatan = (rng.below(2) == 0).then(|| AREAS[rng.below(3) as usize].to_owned());
            let merchant_id = (rng.below(4) == 0).then(|| format!("m{}", rng.below(6)));
            let commodity_id = (rng.below(4) == 0).then(|| "gula pasir".to_owned());
            let category = (rng.below(6) == 0).then(|| {
                if rng.below(2) == 0 {
                    "sembako"
                } else {
                    "elektronik"
                }
                .to_owned()
            });
            let limit = 1 + rng.below(7);
            let mut query = BrowseQuery {
                words,
                category,
                commodity_id,
                kecamatan,
                merchant_id,
                limit,
                ..BrowseQuery::default()
            };
            let expected = expected(&rows, &query, cap);
            let mut walked = Vec::new();
            loop {
                let page = snap.page(&query, cap, &url);
                assert!(page.items.len() as u64 <= limit);
                walked.extend(page.items.iter().map(|i| i.id.to_owned()));
                let Some(next) = page.next_cursor else {
                    break;
                };
                query.cursor = PageParams {
                    limit: None,
                    cursor: Some(next),
                }
                .cursor::<BrowseCursor>()
                .unwrap();
            }
            assert_eq!(walked, expected, "round {round}: {query:?}");
        }
    }

    /// A page's JSON is exactly what [`BrowseItem`]s of the same rows serialise to.
    #[test]
    fn items_serialise_as_browse_items() {
        let mut rng = Lcg(11);
        let (snap, rows) = snapshot(&mut rng, 60);
        let query = BrowseQuery {
            limit: 100,
            ..BrowseQuery::default()
        };
        let page = snap.page(&query, Rupiah::new(i64::MAX), &url);
        assert_eq!(page.items.len(), 60);
        let image = |json: &Option<String>| {
            json.as_deref()
                .and_then(media::list_keys_of_json)
                .map(|(small, large)| ListImage {
                    thumbnail_url: url(&small),
                    url: url(&large),
                })
        };
        let mut photos = 0;
        for item in &page.items {
            let r = rows.iter().find(|r| r.id == item.id).unwrap();
            let owned = crate::browse::BrowseItem {
                id: r.id.clone(),
                merchant: crate::browse::BrowseMerchant {
                    id: r.merchant_id.clone(),
                    name: r.merchant_name.clone(),
                    kelurahan_code: r.merchant_kelurahan.clone(),
                    photo: image(&r.merchant_photo),
                },
                product: crate::browse::BrowseProduct {
                    id: r.product_id.clone(),
                    name: r.product_name.clone(),
                    category: r.category.clone(),
                    unit: r.unit.clone(),
                    net_weight_g: r.net_weight_g,
                    net_volume_ml: r.net_volume_ml,
                    image: image(&r.image),
                },
                commodity: r.commodity_id.as_ref().map(|id| BrowseCommodity {
                    id: id.clone(),
                    name: r.commodity_name.clone().unwrap_or_default(),
                    category: r.category.clone(),
                    unit: r.commodity_unit.clone().unwrap_or_default(),
                    het_price: r.het_price.map(Rupiah::new),
                    max_qty_per_buyer_per_day: r.max_qty_per_buyer_per_day.map(i64::from),
                }),
                price: Rupiah::new(r.price),
                available_stock: r.stock,
            };
            photos += usize::from(owned.product.image.is_some());
            assert_eq!(
                serde_json::to_string(item).unwrap(),
                serde_json::to_string(&owned).unwrap()
            );
        }
        assert!(photos > 0 && photos < 60, "{photos} items with a photo");
    }

    /// The snapshot of a city's listings stays small: shops, commodities, photos and shared
    /// names once, each listing's own strings in one text.
    #[test]
    fn a_city_of_listings_takes_a_few_hundred_bytes_each() {
        let mut rng = Lcg(3);
        let mut builder = Builder::default();
        let n = 41_000;
        for i in 0..n {
            let name = NAMES[rng.below(NAMES.len() as u64) as usize];
            let mut row = row(i, name, rng.below(5_000), AREAS[rng.below(3) as usize], 0);
            // Ids as long as the real ones.
            row.id = format!("{i:026}");
            row.product_id = row.id.clone();
            builder.push(row);
        }
        let snap = builder.finish(0, Period::of(chrono::Utc::now()));
        assert_eq!(snap.len(), n);
        let per_listing = snap.heap_bytes() / n;
        eprintln!(
            "{n} listings: {} bytes, {per_listing} per listing",
            snap.heap_bytes()
        );
        assert!(per_listing < 260, "{per_listing} bytes per listing");
        assert!(
            snap.photos.len() <= 4 + 2_500,
            "{} photos kept",
            snap.photos.len()
        );
    }
}
