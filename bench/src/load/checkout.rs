//! The checkout scenario: buyers fill carts of one to five items from one to three shops (mostly
//! in their own kecamatan), a tenth of the carts go for the few units left on the hot listings,
//! and every accepted checkout is followed by the provider's signed callback; a few callbacks are
//! sent twice, as providers do.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use peken_kernel::sql;
use reqwest::Method;
use sea_orm::DatabaseConnection;
use serde::Deserialize;

use super::client::Api;
use super::stats::Recorder;
use crate::checks::HOT_LISTINGS;
use crate::rng::Rng;
use crate::seed::data::HOT_COMMODITY;

struct Listing {
    id: String,
    commodity: String,
    ration: Option<i64>,
}

/// What buyers can put in a cart, from the database as the run starts.
pub struct Catalog {
    listings: Vec<Listing>,
    /// Listings per shop.
    shops: Vec<Vec<usize>>,
    /// Shops per kecamatan code.
    by_kecamatan: HashMap<String, Vec<usize>>,
    hot: Vec<usize>,
    /// The shop of each hot listing.
    hot_shop: Vec<usize>,
}

impl Catalog {
    pub async fn load(db: &DatabaseConnection) -> anyhow::Result<Catalog> {
        let rows = sql::query(
            db,
            "SELECT l.id, l.merchant_id, l.kecamatan_code, c.id AS commodity_id, c.name, \
             c.max_qty_per_buyer_per_day FROM listings l \
             JOIN merchants m ON m.id = l.merchant_id JOIN commodities c ON c.id = l.commodity_id \
             WHERE l.active = $1 AND c.active = $2 AND m.status = 'active' \
             AND l.taken_down_at IS NULL AND l.stock > 0 ORDER BY l.merchant_id, l.id",
            vec![true.into(), true.into()],
        )
        .await?;
        let mut catalog = Catalog {
            listings: Vec::with_capacity(rows.len()),
            shops: Vec::new(),
            by_kecamatan: HashMap::new(),
            hot: Vec::new(),
            hot_shop: Vec::new(),
        };
        let mut last_merchant = String::new();
        let mut hot_candidates: Vec<(String, usize, usize)> = Vec::new();
        for row in rows {
            let merchant: String = row.try_get("", "merchant_id")?;
            if merchant != last_merchant {
                let kecamatan: String = row.try_get("", "kecamatan_code")?;
                catalog
                    .by_kecamatan
                    .entry(kecamatan)
                    .or_default()
                    .push(catalog.shops.len());
                catalog.shops.push(Vec::new());
                last_merchant = merchant;
            }
            let shop = catalog.shops.len() - 1;
            let index = catalog.listings.len();
            catalog.shops[shop].push(index);
            let id: String = row.try_get("", "id")?;
            let name: String = row.try_get("", "name")?;
            if name == HOT_COMMODITY {
                hot_candidates.push((id.clone(), index, shop));
            }
            catalog.listings.push(Listing {
                id,
                commodity: row.try_get("", "commodity_id")?,
                ration: row
                    .try_get::<Option<i32>>("", "max_qty_per_buyer_per_day")?
                    .map(i64::from),
            });
        }
        // The seed left little stock on the first listings of the hot commodity by id.
        hot_candidates.sort();
        hot_candidates.truncate(HOT_LISTINGS);
        catalog.hot = hot_candidates.iter().map(|(_, l, _)| *l).collect();
        catalog.hot_shop = hot_candidates.iter().map(|(_, _, s)| *s).collect();
        anyhow::ensure!(
            !catalog.shops.is_empty(),
            "no sellable listings; seed first"
        );
        Ok(catalog)
    }

    pub fn hot_ids(&self) -> Vec<String> {
        self.hot
            .iter()
            .map(|l| self.listings[*l].id.clone())
            .collect()
    }
}

/// A logged-in buyer and what it bought today of rationed commodities.
pub struct Buyer {
    pub token: String,
    pub kecamatan: Option<String>,
    rationed: HashMap<String, i64>,
}

impl Buyer {
    pub fn new(token: String, kecamatan: Option<String>) -> Buyer {
        Buyer {
            token,
            kecamatan,
            rationed: HashMap::new(),
        }
    }
}

/// What the scenario recorded.
#[derive(Default)]
pub struct Outcome {
    pub checkout: Recorder,
    pub callback: Recorder,
    /// Checkout and its callback together: one purchase.
    pub purchase: Recorder,
    pub replay: Recorder,
    pub touched: HashSet<String>,
    pub samples_of_errors: Vec<String>,
}

#[derive(Deserialize)]
struct Created {
    payment: PaymentPart,
}

#[derive(Deserialize)]
struct PaymentPart {
    id: String,
    amount: i64,
}

/// Runs `buyers.len()` clients for `duration`; each client owns its buyers.
pub async fn run(
    api: &Api,
    catalog: Arc<Catalog>,
    buyers: Vec<Vec<Buyer>>,
    secret: &str,
    duration: Duration,
) -> anyhow::Result<(Outcome, Duration)> {
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for (n, mine) in buyers.into_iter().enumerate() {
        let api = api.clone();
        let catalog = catalog.clone();
        let secret = secret.to_owned();
        tasks.push(tokio::spawn(async move {
            client(api, catalog, mine, secret, deadline, n as u64).await
        }));
    }
    let mut total = Outcome::default();
    for task in tasks {
        let part = task.await??;
        total.checkout.merge(part.checkout);
        total.callback.merge(part.callback);
        total.purchase.merge(part.purchase);
        total.replay.merge(part.replay);
        total.touched.extend(part.touched);
        if total.samples_of_errors.len() < 5 {
            total.samples_of_errors.extend(part.samples_of_errors);
        }
    }
    Ok((total, started.elapsed()))
}

async fn client(
    api: Api,
    catalog: Arc<Catalog>,
    mut buyers: Vec<Buyer>,
    secret: String,
    deadline: Instant,
    n: u64,
) -> anyhow::Result<Outcome> {
    let mut out = Outcome::default();
    let mut r = Rng::new(1000 + n);
    let mut turn = 0;
    while Instant::now() < deadline && !buyers.is_empty() {
        turn += 1;
        let count = buyers.len();
        let buyer = &mut buyers[turn % count];
        let cart = cart(&mut r, &catalog, buyer);
        if cart.is_empty() {
            continue;
        }
        let items: Vec<serde_json::Value> = cart
            .iter()
            .map(|(l, q)| serde_json::json!({"listing_id": catalog.listings[*l].id, "quantity": q}))
            .collect();
        let body = serde_json::json!({
            "items": items,
            "fulfilment": {"method": "delivery", "address": format!("Jl. Kenanga No. {}", r.range(1, 300))},
            "payment_method": if r.chance(400) { "va" } else { "qris" },
        });
        let key = uuid::Uuid::new_v4().to_string();
        let answer = api
            .send(
                Method::POST,
                "/api/v1/checkout",
                Some(&buyer.token),
                &[("idempotency-key", key.as_str())],
                Some(("application/json", serde_json::to_vec(&body)?)),
            )
            .await?;
        for (l, _) in &cart {
            out.touched.insert(catalog.listings[*l].id.clone());
        }
        let outcome = answer.outcome();
        if outcome != "ok" {
            if matches!(
                outcome.as_str(),
                "out_of_stock" | "daily_limit_exceeded" | "merchant_capped"
            ) {
                out.checkout.refused(&outcome);
            } else {
                out.checkout.error(&outcome);
                if out.samples_of_errors.len() < 5 {
                    out.samples_of_errors.push(format!(
                        "checkout {}: {}",
                        answer.status,
                        String::from_utf8_lossy(&answer.body)
                    ));
                }
            }
            continue;
        }
        out.checkout.ok(answer.elapsed);
        for (l, q) in &cart {
            let listing = &catalog.listings[*l];
            if listing.ration.is_some() {
                *buyer.rationed.entry(listing.commodity.clone()).or_default() += q;
            }
        }
        let created: Created = answer.json()?;
        let notice = serde_json::to_vec(&serde_json::json!({
            "payment_id": created.payment.id,
            "provider_reference": format!("BENCH-{}", uuid::Uuid::new_v4()),
            "amount": created.payment.amount,
            "paid_at": Utc::now().to_rfc3339(),
        }))?;
        let signature = peken_order::http::sign(&secret, &notice);
        let paid = api
            .send(
                Method::POST,
                "/api/v1/payments/callback",
                None,
                &[("x-peken-signature", signature.as_str())],
                Some(("application/json", notice.clone())),
            )
            .await?;
        if paid.status.is_success() {
            out.callback.ok(paid.elapsed);
            out.purchase.ok(answer.elapsed + paid.elapsed);
        } else {
            let outcome = paid.outcome();
            out.callback.error(&outcome);
            if out.samples_of_errors.len() < 5 {
                out.samples_of_errors.push(format!(
                    "callback {}: {}",
                    paid.status,
                    String::from_utf8_lossy(&paid.body)
                ));
            }
            continue;
        }
        if r.chance(20) {
            let again = api
                .send(
                    Method::POST,
                    "/api/v1/payments/callback",
                    None,
                    &[("x-peken-signature", signature.as_str())],
                    Some(("application/json", notice)),
                )
                .await?;
            let replayed = String::from_utf8_lossy(&again.body).contains("replayed");
            if again.status.is_success() && replayed {
                out.replay.ok(again.elapsed);
            } else {
                out.replay.error(&again.outcome());
            }
        }
    }
    Ok(out)
}

/// A cart: one time in ten a hot listing (and maybe a little more from the same shop), else one
/// to three shops and one to five items. Rationed commodities stay within the buyer's daily
/// limit.
fn cart(r: &mut Rng, catalog: &Catalog, buyer: &Buyer) -> Vec<(usize, i64)> {
    let mut lines: Vec<(usize, i64)> = Vec::new();
    let add = |r: &mut Rng, lines: &mut Vec<(usize, i64)>, l: usize| {
        if lines.iter().any(|(x, _)| *x == l) {
            return;
        }
        let listing = &catalog.listings[l];
        let mut q = r.range(1, 3);
        if let Some(limit) = listing.ration {
            let used = buyer.rationed.get(&listing.commodity).copied().unwrap_or(0);
            q = q.min(limit - used);
        }
        if q > 0 {
            lines.push((l, q));
        }
    };
    if !catalog.hot.is_empty() && r.chance(100) {
        let h = r.index(catalog.hot.len());
        lines.push((catalog.hot[h], r.range(1, 2)));
        let shop = &catalog.shops[catalog.hot_shop[h]];
        for _ in 0..r.range(0, 2) {
            let l = *r.pick(shop);
            add(r, &mut lines, l);
        }
        return lines;
    }
    let shops = match r.below(100) {
        0..65 => 1,
        65..90 => 2,
        _ => 3,
    };
    let nearby = buyer
        .kecamatan
        .as_ref()
        .and_then(|k| catalog.by_kecamatan.get(k))
        .filter(|s| !s.is_empty());
    let mut chosen: Vec<usize> = Vec::new();
    for _ in 0..10 {
        if chosen.len() == shops {
            break;
        }
        let shop = match nearby {
            Some(near) if r.chance(880) => *r.pick(near),
            _ => r.index(catalog.shops.len()),
        };
        if !chosen.contains(&shop) {
            chosen.push(shop);
        }
    }
    let items = (r.range(1, 5) as usize).max(chosen.len());
    for (i, shop) in chosen.iter().enumerate() {
        let share = if i + 1 == chosen.len() {
            items - lines.len().min(items)
        } else {
            1
        };
        for _ in 0..share.max(1) {
            let l = *r.pick(&catalog.shops[*shop]);
            add(r, &mut lines, l);
        }
    }
    lines
}
