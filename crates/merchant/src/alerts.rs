//! What the shop is told about its own business, by mail, in-app inbox and push: stock at or
//! below the threshold it set (the low-stock worker), a listing taken down or restored, and the
//! moderation of its products. Every message goes to the shop's active people with an e-mail
//! address (owner and staff: they all manage listings and stock), written in the transaction of
//! the change it reports.
//!
//! Low stock is found by a worker, not by checkout: a purchase sends a fixed, counted number of
//! statements and must not pay for alerts. The worker claims listings whose stock is at or below
//! their threshold and that carry no mark (`low_stock_alerted_at`), marks them and mails their
//! shops in one transaction per batch; it clears the mark of listings whose stock is above the
//! threshold again, so each fall below it alerts once, however many sales follow.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use peken_identity::people::{self, Person};
use peken_kernel::db::new_id;
use peken_kernel::{ApiResult, AppState, sql};
use peken_mail::{LowStockLine, Mail, Template};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, TransactionTrait, Value};

use crate::service::sale::select_listings;

/// Listings one transaction of the worker claims and mails at most.
pub const LOW_STOCK_BATCH: u64 = 200;

/// Batches one pass works through at most; the rest waits for the next pass.
const MAX_BATCHES: usize = 50;

/// Mails built by `make` for every reachable person of the merchant, in the caller's
/// transaction. Each person's message is keyed `{key}:{user id}`, so the event is told to each
/// of them once.
pub(crate) async fn tell_shop<C: ConnectionTrait>(
    conn: &C,
    merchant_id: &str,
    key: &str,
    now: DateTime<Utc>,
    make: impl Fn(&Person) -> Template,
) -> Result<(), DbErr> {
    let people = people::reachable_of_merchants(conn, &[merchant_id.to_owned()]).await?;
    let mails: Vec<Mail> = people
        .iter()
        .filter_map(|p| mail(p, key, make(p)))
        .collect();
    if !mails.is_empty() {
        peken_mail::enqueue_many(conn, mails, now).await?;
    }
    Ok(())
}

fn mail(person: &Person, key: &str, template: Template) -> Option<Mail> {
    Some(Mail {
        to: person.email.clone()?,
        to_name: Some(person.name.clone()),
        user_id: Some(person.id.clone()),
        template,
        dedupe_key: format!("{key}:{}", person.id),
    })
}

/// `FOR UPDATE SKIP LOCKED` on PostgreSQL: a listing another worker (or a checkout) holds right
/// now is left for the next pass instead of waited for, so workers on several servers never
/// alert one listing twice and never wait on each other or on a purchase. SQLite has a single
/// connection, which already serialises them.
fn skip_locked(backend: DbBackend) -> &'static str {
    if backend == DbBackend::Postgres {
        " FOR UPDATE SKIP LOCKED"
    } else {
        ""
    }
}

/// One pass of the low-stock worker: clears the marks of listings above their threshold again
/// (or without one), then alerts the shops of listings at or below it, a batch a transaction,
/// one message per shop and batch. Returns how many listings it alerted.
pub async fn low_stock_pass(state: &AppState) -> ApiResult<usize> {
    let backend = state.db.get_database_backend();
    let lock = skip_locked(backend);
    let cleared = sql::exec(
        &state.db,
        format!(
            "UPDATE listings SET low_stock_alerted_at = NULL WHERE id IN (SELECT id FROM listings \
             WHERE low_stock_alerted_at IS NOT NULL \
             AND (low_stock_threshold IS NULL OR stock > low_stock_threshold){lock})"
        ),
        vec![],
    )
    .await?;
    if cleared > 0 {
        tracing::debug!(cleared, "low-stock marks cleared");
    }
    let mut alerted = 0;
    for _ in 0..MAX_BATCHES {
        let n = low_stock_batch(state).await?;
        alerted += n;
        if (n as u64) < LOW_STOCK_BATCH {
            break;
        }
    }
    Ok(alerted)
}

/// Claims, marks and mails up to [`LOW_STOCK_BATCH`] listings in one transaction.
async fn low_stock_batch(state: &AppState) -> ApiResult<usize> {
    let now = state.now();
    let txn = state.db.begin().await?;
    let lock = skip_locked(txn.get_database_backend());
    let claimed = sql::query(
        &txn,
        format!(
            "UPDATE listings SET low_stock_alerted_at = $1 WHERE id IN (SELECT id FROM listings \
             WHERE low_stock_threshold IS NOT NULL AND low_stock_alerted_at IS NULL \
             AND stock <= low_stock_threshold ORDER BY merchant_id, id LIMIT $2{lock}) \
             RETURNING id"
        ),
        vec![now.into(), (LOW_STOCK_BATCH as i64).into()],
    )
    .await?;
    if claimed.is_empty() {
        txn.commit().await?;
        return Ok(0);
    }
    let ids: Vec<Value> = claimed
        .iter()
        .map(|r| r.try_get_by_index::<String>(0).map(Value::from))
        .collect::<Result<_, _>>()?;
    let n = ids.len();
    let details = select_listings(
        &txn,
        &format!("l.id IN ({})", sql::list(n, 1)),
        ids,
        "ORDER BY l.merchant_id, l.id",
        None,
    )
    .await?;
    // One message per shop: its listings that fell, with what is left.
    let mut shops: BTreeMap<String, (String, Vec<LowStockLine>)> = BTreeMap::new();
    for d in details {
        let s = d.sale;
        let entry = shops
            .entry(s.merchant_id.clone())
            .or_insert_with(|| (s.merchant_name.clone(), Vec::new()));
        entry.1.push(LowStockLine {
            listing_id: s.listing_id,
            product_name: s.product_name,
            unit: s.unit,
            stock: s.stock,
            threshold: d.low_stock_threshold.unwrap_or(0),
        });
    }
    let merchant_ids: Vec<String> = shops.keys().cloned().collect();
    let people = people::reachable_of_merchants(&txn, &merchant_ids).await?;
    let run = new_id();
    let mails: Vec<Mail> = people
        .iter()
        .filter_map(|p| {
            let merchant_id = p.merchant_id.as_ref()?;
            let (merchant_name, lines) = shops.get(merchant_id)?;
            mail(
                p,
                &format!("low_stock:{merchant_id}:{run}"),
                Template::LowStock {
                    merchant_id: merchant_id.clone(),
                    merchant_name: merchant_name.clone(),
                    lines: lines.clone(),
                    checked_at: now,
                },
            )
        })
        .collect();
    if !mails.is_empty() {
        peken_mail::enqueue_many(&txn, mails, now).await?;
    }
    txn.commit().await?;
    tracing::info!(
        listings = n,
        shops = shops.len(),
        "low-stock alerts written"
    );
    Ok(n)
}
