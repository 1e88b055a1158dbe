//! Payout batches: the cut-off, approval by a second treasury user, the transfer file, and
//! failures with their holds.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use peken_kernel::db::new_id;
use peken_kernel::idempotency::{self, Key, Outcome};
use peken_kernel::sql;
use peken_kernel::{ApiError, ApiResult, Rupiah};
use peken_ledger::claims::{self, Claim};
use peken_ledger::{LedgerError, payout_approved, post_many};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, QueryResult, TransactionTrait, Value,
};

use crate::notify::{self, Advice};
use crate::transfer::{self, TransferLine};
use crate::views::{BatchDetail, BatchView, ItemView, SkippedMerchant};
use peken_merchant::facts as merchants;

pub use crate::transfer::{BIFAST_MAX, SKN_MAX, new_reference, rail_for};

const BATCH_COLUMNS: &str = "id, cutoff, status, item_count, total_amount, created_by, \
     created_at, approved_by, approved_at, cancelled_by, cancelled_at";
const ITEM_COLUMNS: &str = "id, batch_id, merchant_id, amount, reference, bank_code, \
     account_number, account_name, rail, status, oldest_receipt_at, approved_at, settled_at, \
     failed_at, failure_reason";

fn batch_row(r: &QueryResult) -> Result<BatchView, sea_orm::DbErr> {
    Ok(BatchView {
        id: r.try_get("", "id")?,
        cutoff: r.try_get("", "cutoff")?,
        status: r.try_get("", "status")?,
        item_count: r.try_get("", "item_count")?,
        total_amount: Rupiah::new(r.try_get("", "total_amount")?),
        created_by: r.try_get("", "created_by")?,
        created_at: r.try_get("", "created_at")?,
        approved_by: r.try_get("", "approved_by")?,
        approved_at: r.try_get("", "approved_at")?,
        cancelled_by: r.try_get("", "cancelled_by")?,
        cancelled_at: r.try_get("", "cancelled_at")?,
    })
}

pub(crate) fn item_row(r: &QueryResult) -> Result<ItemView, sea_orm::DbErr> {
    Ok(ItemView {
        id: r.try_get("", "id")?,
        batch_id: r.try_get("", "batch_id")?,
        merchant_id: r.try_get("", "merchant_id")?,
        amount: Rupiah::new(r.try_get("", "amount")?),
        reference: r.try_get("", "reference")?,
        bank_code: r.try_get("", "bank_code")?,
        account_number: r.try_get("", "account_number")?,
        account_name: r.try_get("", "account_name")?,
        rail: r.try_get("", "rail")?,
        status: r.try_get("", "status")?,
        oldest_receipt_at: r.try_get("", "oldest_receipt_at")?,
        approved_at: r.try_get("", "approved_at")?,
        settled_at: r.try_get("", "settled_at")?,
        failed_at: r.try_get("", "failed_at")?,
        failure_reason: r.try_get("", "failure_reason")?,
    })
}

pub async fn find_batch<C: ConnectionTrait>(conn: &C, id: &str) -> ApiResult<Option<BatchView>> {
    let row = sql::query_one(
        conn,
        format!("SELECT {BATCH_COLUMNS} FROM payout_batches WHERE id = $1"),
        vec![id.into()],
    )
    .await?;
    Ok(row.as_ref().map(batch_row).transpose()?)
}

pub async fn items_of<C: ConnectionTrait>(conn: &C, batch_id: &str) -> ApiResult<Vec<ItemView>> {
    let rows = sql::query(
        conn,
        format!("SELECT {ITEM_COLUMNS} FROM payout_items WHERE batch_id = $1 ORDER BY merchant_id"),
        vec![batch_id.into()],
    )
    .await?;
    Ok(rows.iter().map(item_row).collect::<Result<_, _>>()?)
}

pub async fn find_item<C: ConnectionTrait>(conn: &C, id: &str) -> ApiResult<Option<ItemView>> {
    let row = sql::query_one(
        conn,
        format!("SELECT {ITEM_COLUMNS} FROM payout_items WHERE id = $1"),
        vec![id.into()],
    )
    .await?;
    Ok(row.as_ref().map(item_row).transpose()?)
}

/// Builds and cancellations of batches run one at a time: on PostgreSQL under a transaction
/// advisory lock, on SQLite under its single connection. Two treasury users pressing the button
/// together get one batch and one refusal, never two halves. The watermark moves are guarded as
/// well (`claims::take`), so even without the lock no movement could be claimed twice.
async fn lock_batches<C: ConnectionTrait>(conn: &C) -> ApiResult<()> {
    if conn.get_database_backend() == sea_orm::DbBackend::Postgres {
        sql::query(conn, "SELECT pg_advisory_xact_lock(7260001)", vec![]).await?;
    }
    Ok(())
}

/// The claimed ranges `(merchant, seq_after, seq_to]` of a batch's items.
pub async fn ranges_of<C: ConnectionTrait>(
    conn: &C,
    batch_id: &str,
) -> ApiResult<Vec<(String, i64, i64)>> {
    let rows = sql::query(
        conn,
        "SELECT merchant_id, seq_after, seq_to FROM payout_items WHERE batch_id = $1 \
         ORDER BY merchant_id",
        vec![batch_id.into()],
    )
    .await?;
    Ok(rows
        .iter()
        .map(|r| {
            Ok((
                r.try_get("", "merchant_id")?,
                r.try_get("", "seq_after")?,
                r.try_get("", "seq_to")?,
            ))
        })
        .collect::<Result<_, sea_orm::DbErr>>()?)
}

/// The merchants whose payouts are held now.
pub async fn held_merchants<C: ConnectionTrait>(conn: &C) -> ApiResult<Vec<String>> {
    let rows = sql::query(
        conn,
        "SELECT DISTINCT merchant_id FROM payout_holds WHERE cleared_at IS NULL \
         ORDER BY merchant_id",
        vec![],
    )
    .await?;
    Ok(rows
        .iter()
        .map(|r| r.try_get_by_index::<String>(0))
        .collect::<Result<_, _>>()?)
}

/// Builds a draft batch: one item per merchant owed money from movements up to `cutoff`, net of
/// refunds, except held merchants. Nothing moves in the ledger until approval; the movements are
/// claimed so that no other batch can include them.
pub async fn build(
    db: &DatabaseConnection,
    cutoff: DateTime<Utc>,
    who: impl Into<peken_audit::Actor>,
    now: DateTime<Utc>,
    key: Option<&Key>,
) -> ApiResult<Outcome<BatchDetail>> {
    let who: peken_audit::Actor = who.into();
    let actor = who.user_id.as_str();
    if cutoff > now {
        return Err(ApiError::field(
            "cutoff",
            "cutoff_in_future",
            "the cut-off must not be later than now",
        ));
    }
    idempotency::transaction(db, key, now, 201, async |txn: &DatabaseTransaction| {
        lock_batches(txn).await?;
        if sql::query_one(
            txn,
            "SELECT id FROM payout_batches WHERE status = 'draft'",
            vec![],
        )
        .await?
        .is_some()
        {
            return Err(ApiError::conflict(
                "draft_batch_exists",
                "a draft batch is waiting for approval; approve or cancel it first",
            ));
        }
        let held = held_merchants(txn).await?;
        let batch_id = new_id();
        sql::exec(
            txn,
            "INSERT INTO payout_batches (id, cutoff, status, item_count, total_amount, created_by, \
             created_at) VALUES ($1, $2, 'draft', 0, 0, $3, $4)",
            vec![
                batch_id.clone().into(),
                cutoff.into(),
                actor.into(),
                now.into(),
            ],
        )
        .await?;
        // Held merchants, merchants owed nothing (refunds exceeding sales) and merchants whose new
        // bank account is not yet confirmed stay open for a later batch.
        let held_set: std::collections::HashSet<&str> = held.iter().map(String::as_str).collect();
        let claims: Vec<Claim> = claims::open_claims(txn, cutoff)
            .await?
            .into_iter()
            .filter(|c| c.amount > 0 && !held_set.contains(c.merchant_id.as_str()))
            .collect();
        let ids: Vec<String> = claims.iter().map(|c| c.merchant_id.clone()).collect();
        let facts = merchants::facts(txn, &ids).await?;
        let mut skipped = Vec::new();
        let mut items = Vec::with_capacity(claims.len());
        let mut taken = Vec::with_capacity(claims.len());
        for claim in claims {
            let Some(merchant) = facts.get(&claim.merchant_id) else {
                skipped.push(SkippedMerchant {
                    merchant_id: claim.merchant_id,
                    amount: Rupiah::new(claim.amount),
                    reason: "merchant_unknown".into(),
                    until: None,
                });
                continue;
            };
            if let Some(until) = merchant
                .bank_account_hold_until
                .filter(|until| *until > now)
            {
                skipped.push(SkippedMerchant {
                    merchant_id: claim.merchant_id,
                    amount: Rupiah::new(claim.amount),
                    reason: "bank_account_unconfirmed".into(),
                    until: Some(until),
                });
                continue;
            }
            items.push(ItemView {
                id: new_id(),
                batch_id: batch_id.clone(),
                merchant_id: claim.merchant_id.clone(),
                amount: Rupiah::new(claim.amount),
                reference: new_reference(),
                bank_code: merchant.bank_code.clone(),
                account_number: merchant.account_number.clone(),
                account_name: merchant.account_name.clone(),
                rail: rail_for(claim.amount).to_owned(),
                status: "draft".into(),
                oldest_receipt_at: claim.oldest_receipt_at,
                approved_at: None,
                settled_at: None,
                failed_at: None,
                failure_reason: None,
            });
            taken.push(claim);
        }
        if items.is_empty() {
            // Dropping the transaction rolls the empty batch back.
            return Err(ApiError::unprocessable(
                "nothing_to_pay",
                "no merchant is owed money up to this cut-off",
            ));
        }
        if !claims::take(txn, &taken).await? {
            return Err(ApiError::conflict(
                "concurrent_batch",
                "another batch claimed these payables meanwhile; try again",
            ));
        }
        insert_items(txn, &items, &taken, now).await?;
        let total = items
            .iter()
            .try_fold(0_i64, |acc, i| acc.checked_add(i.amount.get()))
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("batch total overflows")))?;
        sql::exec(
            txn,
            "UPDATE payout_batches SET item_count = $1, total_amount = $2 WHERE id = $3",
            vec![
                (items.len() as i32).into(),
                total.into(),
                batch_id.clone().into(),
            ],
        )
        .await?;
        let batch = find_batch(txn, &batch_id)
            .await?
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("batch vanished")))?;
        peken_audit::record(
            txn,
            &who,
            peken_audit::Change::new("payout_batch.created", "payout_batch", &batch_id).after(
                serde_json::json!({
                    "status": "draft", "cutoff": cutoff, "item_count": items.len(),
                    "total_amount": total, "held_merchants": held.len(),
                }),
            ),
            now,
        )
        .await?;
        let value = BatchDetail {
            batch,
            items,
            held_merchants: held,
            skipped,
        };
        Ok(value)
    })
    .await
}

async fn insert_items<C: ConnectionTrait>(
    conn: &C,
    items: &[ItemView],
    claims: &[Claim],
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let rows: Vec<(&ItemView, &Claim)> = items.iter().zip(claims).collect();
    for chunk in rows.chunks(sql::CHUNK_ROWS) {
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 14);
        for (item, claim) in chunk {
            values.extend([
                item.id.clone().into(),
                item.batch_id.clone().into(),
                item.merchant_id.clone().into(),
                item.amount.get().into(),
                item.reference.clone().into(),
                item.bank_code.clone().into(),
                item.account_number.clone().into(),
                item.account_name.clone().into(),
                item.rail.clone().into(),
                item.status.clone().into(),
                item.oldest_receipt_at.into(),
                claim.seq_after.into(),
                claim.seq_to.into(),
                now.into(),
            ]);
        }
        sql::exec(
            conn,
            format!(
                "INSERT INTO payout_items (id, batch_id, merchant_id, amount, reference, \
                 bank_code, account_number, account_name, rail, status, oldest_receipt_at, \
                 seq_after, seq_to, created_at) VALUES {}",
                sql::values_rows(chunk.len(), 14, 1)
            ),
            values,
        )
        .await?;
    }
    Ok(())
}

/// Why a batch could not change state, once the conditional update found nothing to change.
async fn batch_refusal<C: ConnectionTrait>(conn: &C, id: &str, actor: &str) -> ApiError {
    match find_batch(conn, id).await {
        Ok(None) => ApiError::not_found("payout batch"),
        Ok(Some(b)) if b.status != "draft" => ApiError::conflict(
            "batch_not_draft",
            format!("the batch is {} and can no longer change", b.status),
        )
        .with_context(serde_json::json!({ "status": b.status })),
        Ok(Some(b)) if b.created_by == actor => ApiError::four_eyes(),
        Ok(Some(_)) => ApiError::conflict("batch_not_draft", "the batch changed meanwhile"),
        Err(e) => e,
    }
}

/// Approves a draft batch: a treasury user other than its creator locks it, and each item's
/// amount moves from the merchant's payable to payout in transit. One transaction: all items or
/// none. Each merchant gets a remittance advice.
pub async fn approve(
    db: &DatabaseConnection,
    batch_id: &str,
    who: impl Into<peken_audit::Actor>,
    now: DateTime<Utc>,
    key: Option<&Key>,
) -> ApiResult<Outcome<BatchDetail>> {
    let who: peken_audit::Actor = who.into();
    let actor = who.user_id.as_str();
    idempotency::transaction(db, key, now, 200, async |txn: &DatabaseTransaction| {
        let clock = std::time::Instant::now();
        let changed = sql::exec(
            txn,
            "UPDATE payout_batches SET status = 'approved', approved_by = $1, approved_at = $2 \
             WHERE id = $3 AND status = 'draft' AND created_by <> $1",
            vec![actor.into(), now.into(), batch_id.into()],
        )
        .await?;
        if changed != 1 {
            return Err(batch_refusal(txn, batch_id, actor).await);
        }
        sql::exec(
            txn,
            "UPDATE payout_items SET status = 'approved', approved_at = $1 \
             WHERE batch_id = $2 AND status = 'draft'",
            vec![now.into(), batch_id.into()],
        )
        .await?;
        let items = items_of(txn, batch_id).await?;
        tracing::debug!(elapsed = ?clock.elapsed(), items = items.len(), "batch approved, items read");
        let postings = items
            .iter()
            .map(|i| payout_approved(&i.id, &i.merchant_id, i.amount.get(), now))
            .collect();
        post_many(txn, postings).await.map_err(|e| match e {
            LedgerError::InsufficientBalance { account } => ApiError::conflict(
                "insufficient_payable",
                "a merchant is now owed less than its item (a refund came in after the cut-off); \
                 cancel the batch and build a new one",
            )
            .with_context(serde_json::json!({ "account": account })),
            other => other.into(),
        })?;
        tracing::debug!(elapsed = ?clock.elapsed(), "items posted");
        // The advice, with every order it pays, is written by the payout worker in a
        // transaction of its own (`send_due_remittances`): for a whole city it is most of the
        // work, and the approval must not wait for it.
        sql::exec(
            txn,
            "INSERT INTO remittance_jobs (batch_id, created_at) VALUES ($1, $2)",
            vec![batch_id.into(), now.into()],
        )
        .await?;
        let batch = find_batch(txn, batch_id)
            .await?
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("batch vanished")))?;
        peken_audit::record(
            txn,
            &who,
            peken_audit::Change::new("payout_batch.approved", "payout_batch", batch_id)
                .before(serde_json::json!({"status": "draft"}))
                .after(serde_json::json!({
                    "status": "approved", "item_count": batch.item_count,
                    "total_amount": batch.total_amount,
                })),
            now,
        )
        .await?;
        let value = BatchDetail {
            batch,
            items,
            held_merchants: Vec::new(),
            skipped: Vec::new(),
        };
        Ok(value)
    })
    .await
}

/// Writes the remittance advice of approved batches whose advice is not written yet, one batch
/// per transaction, and returns how many batches it did. The batch's job row is claimed by a
/// conditional update in the same transaction, so two processes never write one batch twice
/// (and the mails' dedupe keys would refuse it anyway).
pub async fn send_due_remittances(db: &DatabaseConnection, now: DateTime<Utc>) -> ApiResult<usize> {
    let mut done = 0;
    loop {
        let txn = db.begin().await?;
        let claimed = sql::query_one(
            &txn,
            "UPDATE remittance_jobs SET done_at = $1 WHERE batch_id = \
             (SELECT batch_id FROM remittance_jobs WHERE done_at IS NULL \
              ORDER BY created_at, batch_id LIMIT 1) AND done_at IS NULL RETURNING batch_id",
            vec![now.into()],
        )
        .await?;
        let Some(row) = claimed else {
            txn.commit().await?;
            return Ok(done);
        };
        let batch_id: String = row.try_get("", "batch_id")?;
        let clock = std::time::Instant::now();
        let items = items_of(&txn, &batch_id).await?;
        send_remittance_advice(&txn, &batch_id, &items, now).await?;
        txn.commit().await?;
        tracing::debug!(elapsed = ?clock.elapsed(), batch_id = %batch_id, items = items.len(), "remittance advice written");
        done += 1;
    }
}

/// Merchants whose advice is read, rendered and queued together: their movements and mails are
/// all the memory an advice pass holds, whatever the size of the batch.
const REMITTANCE_CHUNK: usize = 500;

async fn send_remittance_advice<C: ConnectionTrait>(
    conn: &C,
    batch_id: &str,
    items: &[ItemView],
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let ranges: HashMap<String, (i64, i64)> = ranges_of(conn, batch_id)
        .await?
        .into_iter()
        .map(|(merchant, after, to)| (merchant, (after, to)))
        .collect();
    for chunk in items.chunks(REMITTANCE_CHUNK) {
        let ids: Vec<String> = chunk.iter().map(|i| i.merchant_id.clone()).collect();
        let facts = merchants::facts(conn, &ids).await?;
        let wanted: Vec<(String, i64, i64)> = chunk
            .iter()
            .filter_map(|i| {
                let (after, to) = ranges.get(&i.merchant_id)?;
                Some((i.merchant_id.clone(), *after, *to))
            })
            .collect();
        let mut lines: HashMap<String, Vec<peken_mail::RemittanceLine>> = HashMap::new();
        for m in claims::movements_in(conn, &wanted).await? {
            if let Some(order) = &m.order_id {
                lines
                    .entry(m.merchant_id.clone())
                    .or_default()
                    .push(notify::remittance_line(order, m.occurred_at, m.amount));
            }
        }
        let advices = chunk
            .iter()
            .filter_map(|item| {
                Some(Advice {
                    item_id: &item.id,
                    batch_id,
                    reference: &item.reference,
                    merchant: facts.get(&item.merchant_id)?,
                    amount: item.amount.get(),
                    lines: lines.remove(&item.merchant_id).unwrap_or_default(),
                })
            })
            .collect();
        notify::remittance_advice(conn, advices, now).await?;
    }
    Ok(())
}

/// Cancels a draft batch; its movements are free for the next batch.
pub async fn cancel(
    db: &DatabaseConnection,
    batch_id: &str,
    who: impl Into<peken_audit::Actor>,
    now: DateTime<Utc>,
) -> ApiResult<BatchView> {
    let who: peken_audit::Actor = who.into();
    let actor = who.user_id.as_str();
    let txn = db.begin().await?;
    lock_batches(&txn).await?;
    let changed = sql::exec(
        &txn,
        "UPDATE payout_batches SET status = 'cancelled', cancelled_by = $1, cancelled_at = $2 \
         WHERE id = $3 AND status = 'draft'",
        vec![actor.into(), now.into(), batch_id.into()],
    )
    .await?;
    if changed != 1 {
        return Err(match find_batch(&txn, batch_id).await? {
            None => ApiError::not_found("payout batch"),
            Some(b) => ApiError::conflict(
                "batch_not_draft",
                format!("the batch is {} and can no longer be cancelled", b.status),
            )
            .with_context(serde_json::json!({ "status": b.status })),
        });
    }
    sql::exec(
        &txn,
        "UPDATE payout_items SET status = 'cancelled' WHERE batch_id = $1",
        vec![batch_id.into()],
    )
    .await?;
    if !claims::give_back(&txn, &ranges_of(&txn, batch_id).await?).await? {
        return Err(ApiError::internal(anyhow::anyhow!(
            "a draft's claims were overtaken by another batch"
        )));
    }
    let batch = find_batch(&txn, batch_id)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("batch vanished")))?;
    peken_audit::record(
        &txn,
        &who,
        peken_audit::Change::new("payout_batch.cancelled", "payout_batch", batch_id)
            .before(serde_json::json!({"status": "draft"}))
            .after(serde_json::json!({
                "status": "cancelled", "total_amount": batch.total_amount,
            })),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(batch)
}

/// Batches, newest first, after the cursor id.
pub async fn list<C: ConnectionTrait>(
    conn: &C,
    after: Option<String>,
    limit: u64,
) -> ApiResult<Vec<BatchView>> {
    let rows = match after {
        Some(after) => {
            sql::query(
                conn,
                format!(
                    "SELECT {BATCH_COLUMNS} FROM payout_batches WHERE id < $1 \
                     ORDER BY id DESC LIMIT $2"
                ),
                vec![after.into(), (limit as i64 + 1).into()],
            )
            .await?
        }
        None => {
            sql::query(
                conn,
                format!("SELECT {BATCH_COLUMNS} FROM payout_batches ORDER BY id DESC LIMIT $1"),
                vec![(limit as i64 + 1).into()],
            )
            .await?
        }
    };
    Ok(rows.iter().map(batch_row).collect::<Result<_, _>>()?)
}

/// The bank's transfer file of an approved batch: one line per item, the reference in the
/// remark. A draft has no file, so nobody can pay what was not approved.
pub async fn transfer_file<C: ConnectionTrait>(conn: &C, batch_id: &str) -> ApiResult<String> {
    let batch = find_batch(conn, batch_id)
        .await?
        .ok_or_else(|| ApiError::not_found("payout batch"))?;
    if batch.status != "approved" {
        return Err(ApiError::conflict(
            "batch_not_approved",
            "only an approved batch has a transfer file",
        ));
    }
    let items = items_of(conn, batch_id).await?;
    Ok(transfer::transfer_file(
        items
            .iter()
            .filter(|i| i.status != "cancelled")
            .map(|item| TransferLine {
                reference: &item.reference,
                bank_code: &item.bank_code,
                account_number: &item.account_number,
                account_name: &item.account_name,
                amount: item.amount.get(),
                rail: &item.rail,
            }),
    ))
}
