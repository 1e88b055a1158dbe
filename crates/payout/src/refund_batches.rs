//! Refund batches: refunds owed to buyers paid by bank transfer like payouts. A batch takes the
//! refunds `due` up to a cut-off whose buyer has a refund account, a second treasury user
//! approves it, its transfer file carries one unique reference per item, and the statement
//! import matches the debit lines (`reconcile::refund_debits`), which is when the ledger posts
//! refunds payable → collection (`refund_item:{item}:paid`). A failed item puts its refund back
//! to `due`, and the next batch pays it again.
//!
//! The refunds themselves belong to the order crate: their statuses move only through its
//! functions (`peken_order::refunds::{take_for_batch, release_from_batch, send, settle,
//! return_failed}`), each a conditional update from the status it expects. A draft already moves
//! its refunds `due → batched`, so a refund in a draft can be neither paid by hand nor taken by
//! another batch; a unique index on live and paid items (`ux_refund_items_live`) says the same
//! in the schema.

use chrono::{DateTime, Utc};
use peken_kernel::db::new_id;
use peken_kernel::export::{Table, Value as Cell};
use peken_kernel::idempotency::{self, Key, Outcome};
use peken_kernel::sql;
use peken_kernel::{ApiError, ApiResult, Rupiah};
use peken_order::{refund_accounts, refunds};
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, QueryResult, Value};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::transfer::{self, TransferLine, new_reference, rail_for};

/// A refund batch.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RefundBatchView {
    pub id: String,
    /// Refunds owed up to this instant are included.
    pub cutoff: DateTime<Utc>,
    /// `draft`, `approved` or `cancelled`.
    pub status: String,
    pub item_count: i32,
    pub total_amount: Rupiah,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub approved_by: Option<String>,
    pub approved_at: Option<DateTime<Utc>>,
    pub cancelled_by: Option<String>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

/// One transfer of one refund to its buyer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RefundItemView {
    pub id: String,
    pub batch_id: String,
    pub refund_id: String,
    pub buyer_id: String,
    pub order_id: Option<String>,
    pub amount: Rupiah,
    /// Unique; must appear in the transfer remark so the statement line can be matched.
    pub reference: String,
    pub bank_code: String,
    pub account_number: String,
    pub account_name: String,
    /// `BIFAST`, `SKN` or `RTGS`, chosen by amount.
    pub rail: String,
    /// `draft`, `approved` (in transit), `paid` (seen on the statement), `failed` or `cancelled`.
    pub status: String,
    pub approved_at: Option<DateTime<Utc>>,
    pub settled_at: Option<DateTime<Utc>>,
    pub failed_at: Option<DateTime<Utc>>,
    pub failure_reason: Option<String>,
}

/// A refund left out of a batch, and why.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SkippedRefund {
    pub refund_id: String,
    pub buyer_id: String,
    pub amount: Rupiah,
    /// `no_refund_account`: the buyer has not said where to send refunds
    /// (`PUT /me/refund-account`); the refund stays due.
    pub reason: String,
}

/// A refund batch with its items (and, when just built, the refunds left out).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RefundBatchDetail {
    #[serde(flatten)]
    pub batch: RefundBatchView,
    pub items: Vec<RefundItemView>,
    pub skipped: Vec<SkippedRefund>,
}

const BATCH_COLUMNS: &str = "id, cutoff, status, item_count, total_amount, created_by, \
     created_at, approved_by, approved_at, cancelled_by, cancelled_at";
pub(crate) const ITEM_COLUMNS: &str = "id, batch_id, refund_id, buyer_id, order_id, amount, \
     reference, bank_code, account_number, account_name, rail, status, approved_at, settled_at, \
     failed_at, failure_reason";

fn batch_row(r: &QueryResult) -> Result<RefundBatchView, sea_orm::DbErr> {
    Ok(RefundBatchView {
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

pub(crate) fn item_row(r: &QueryResult) -> Result<RefundItemView, sea_orm::DbErr> {
    Ok(RefundItemView {
        id: r.try_get("", "id")?,
        batch_id: r.try_get("", "batch_id")?,
        refund_id: r.try_get("", "refund_id")?,
        buyer_id: r.try_get("", "buyer_id")?,
        order_id: r.try_get("", "order_id")?,
        amount: Rupiah::new(r.try_get("", "amount")?),
        reference: r.try_get("", "reference")?,
        bank_code: r.try_get("", "bank_code")?,
        account_number: r.try_get("", "account_number")?,
        account_name: r.try_get("", "account_name")?,
        rail: r.try_get("", "rail")?,
        status: r.try_get("", "status")?,
        approved_at: r.try_get("", "approved_at")?,
        settled_at: r.try_get("", "settled_at")?,
        failed_at: r.try_get("", "failed_at")?,
        failure_reason: r.try_get("", "failure_reason")?,
    })
}

pub async fn find_batch<C: ConnectionTrait>(
    conn: &C,
    id: &str,
) -> ApiResult<Option<RefundBatchView>> {
    let row = sql::query_one(
        conn,
        format!("SELECT {BATCH_COLUMNS} FROM refund_batches WHERE id = $1"),
        vec![id.into()],
    )
    .await?;
    Ok(row.as_ref().map(batch_row).transpose()?)
}

pub async fn items_of<C: ConnectionTrait>(
    conn: &C,
    batch_id: &str,
) -> ApiResult<Vec<RefundItemView>> {
    let rows = sql::query(
        conn,
        format!("SELECT {ITEM_COLUMNS} FROM refund_items WHERE batch_id = $1 ORDER BY refund_id"),
        vec![batch_id.into()],
    )
    .await?;
    Ok(rows.iter().map(item_row).collect::<Result<_, _>>()?)
}

pub async fn find_item<C: ConnectionTrait>(
    conn: &C,
    id: &str,
) -> ApiResult<Option<RefundItemView>> {
    let row = sql::query_one(
        conn,
        format!("SELECT {ITEM_COLUMNS} FROM refund_items WHERE id = $1"),
        vec![id.into()],
    )
    .await?;
    Ok(row.as_ref().map(item_row).transpose()?)
}

/// A batch with its items.
pub async fn detail<C: ConnectionTrait>(conn: &C, id: &str) -> ApiResult<RefundBatchDetail> {
    let batch = find_batch(conn, id)
        .await?
        .ok_or_else(|| ApiError::not_found("refund batch"))?;
    let items = items_of(conn, id).await?;
    Ok(RefundBatchDetail {
        batch,
        items,
        skipped: Vec::new(),
    })
}

/// Builds and cancellations of refund batches run one at a time: on PostgreSQL under a
/// transaction advisory lock (another key than payout batches'), on SQLite under its single
/// connection. The refunds' conditional moves and the unique index would refuse a refund in two
/// batches even without it; the lock makes the second of two concurrent builds find nothing
/// left instead of failing.
async fn lock_refund_batches<C: ConnectionTrait>(conn: &C) -> ApiResult<()> {
    if conn.get_database_backend() == sea_orm::DbBackend::Postgres {
        sql::query(conn, "SELECT pg_advisory_xact_lock(7260002)", vec![]).await?;
    }
    Ok(())
}

/// Builds a draft refund batch: one item per refund `due` created up to `cutoff` whose buyer
/// has a refund account; the others are listed under `skipped` and stay due. The refunds move
/// `due → batched`; nothing moves in the ledger until the statement shows the transfer.
pub async fn build(
    db: &DatabaseConnection,
    cutoff: DateTime<Utc>,
    who: impl Into<peken_audit::Actor>,
    now: DateTime<Utc>,
    key: Option<&Key>,
) -> ApiResult<Outcome<RefundBatchDetail>> {
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
        lock_refund_batches(txn).await?;
        let due = refunds::due_up_to(txn, cutoff).await?;
        let mut buyers: Vec<String> = due.iter().map(|r| r.buyer_id.clone()).collect();
        buyers.sort();
        buyers.dedup();
        let accounts = refund_accounts::of_buyers(txn, &buyers).await?;
        let batch_id = new_id();
        let mut items = Vec::with_capacity(due.len());
        let mut skipped = Vec::new();
        for refund in due {
            let Some(account) = accounts.get(&refund.buyer_id) else {
                skipped.push(SkippedRefund {
                    refund_id: refund.id,
                    buyer_id: refund.buyer_id,
                    amount: refund.amount,
                    reason: "no_refund_account".into(),
                });
                continue;
            };
            items.push(RefundItemView {
                id: new_id(),
                batch_id: batch_id.clone(),
                refund_id: refund.id,
                buyer_id: refund.buyer_id,
                order_id: refund.order_id,
                amount: refund.amount,
                reference: new_reference(),
                bank_code: account.bank_code.clone(),
                account_number: account.account_number.clone(),
                account_name: account.account_name.clone(),
                rail: rail_for(refund.amount.get()).to_owned(),
                status: "draft".into(),
                approved_at: None,
                settled_at: None,
                failed_at: None,
                failure_reason: None,
            });
        }
        if items.is_empty() {
            return Err(ApiError::unprocessable(
                "nothing_to_refund",
                "no refund with a refund account is due up to this cut-off",
            )
            .with_context(serde_json::json!({ "skipped": skipped.len() })));
        }
        let total = items
            .iter()
            .try_fold(0_i64, |acc, i| acc.checked_add(i.amount.get()))
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("batch total overflows")))?;
        sql::exec(
            txn,
            "INSERT INTO refund_batches (id, cutoff, status, item_count, total_amount, \
             created_by, created_at) VALUES ($1, $2, 'draft', $3, $4, $5, $6)",
            vec![
                batch_id.clone().into(),
                cutoff.into(),
                (items.len() as i32).into(),
                total.into(),
                actor.into(),
                now.into(),
            ],
        )
        .await?;
        let ids: Vec<String> = items.iter().map(|i| i.refund_id.clone()).collect();
        if !refunds::take_for_batch(txn, &ids).await? {
            return Err(ApiError::conflict(
                "concurrent_batch",
                "another batch or a payment by hand took these refunds meanwhile; try again",
            ));
        }
        insert_items(txn, &items, now).await?;
        let batch = find_batch(txn, &batch_id)
            .await?
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("batch vanished")))?;
        peken_audit::record(
            txn,
            &who,
            peken_audit::Change::new("refund_batch.created", "refund_batch", &batch_id).after(
                serde_json::json!({
                    "status": "draft", "cutoff": cutoff, "item_count": items.len(),
                    "total_amount": total, "skipped": skipped.len(),
                }),
            ),
            now,
        )
        .await?;
        Ok(RefundBatchDetail {
            batch,
            items,
            skipped,
        })
    })
    .await
}

async fn insert_items<C: ConnectionTrait>(
    conn: &C,
    items: &[RefundItemView],
    now: DateTime<Utc>,
) -> ApiResult<()> {
    for chunk in items.chunks(sql::CHUNK_ROWS) {
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 13);
        for item in chunk {
            values.extend([
                item.id.clone().into(),
                item.batch_id.clone().into(),
                item.refund_id.clone().into(),
                item.buyer_id.clone().into(),
                item.order_id.clone().into(),
                item.amount.get().into(),
                item.reference.clone().into(),
                item.bank_code.clone().into(),
                item.account_number.clone().into(),
                item.account_name.clone().into(),
                item.rail.clone().into(),
                item.status.clone().into(),
                now.into(),
            ]);
        }
        sql::exec(
            conn,
            format!(
                "INSERT INTO refund_items (id, batch_id, refund_id, buyer_id, order_id, amount, \
                 reference, bank_code, account_number, account_name, rail, status, created_at) \
                 VALUES {}",
                sql::values_rows(chunk.len(), 13, 1)
            ),
            values,
        )
        .await
        .map_err(|e| match peken_kernel::error::unique_violation(&e) {
            Some(_) => ApiError::conflict(
                "concurrent_batch",
                "a refund is in another live batch already; try again",
            ),
            None => e.into(),
        })?;
    }
    Ok(())
}

/// Why a batch could not change state, once the conditional update found nothing to change.
async fn batch_refusal<C: ConnectionTrait>(conn: &C, id: &str, actor: &str) -> ApiError {
    match find_batch(conn, id).await {
        Ok(None) => ApiError::not_found("refund batch"),
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

/// The refund ids of a batch's items of one status.
async fn refund_ids<C: ConnectionTrait>(
    conn: &C,
    batch_id: &str,
    status: &str,
) -> ApiResult<Vec<String>> {
    let rows = sql::query(
        conn,
        "SELECT refund_id FROM refund_items WHERE batch_id = $1 AND status = $2 \
         ORDER BY refund_id",
        vec![batch_id.into(), status.into()],
    )
    .await?;
    Ok(rows
        .iter()
        .map(|r| r.try_get_by_index::<String>(0))
        .collect::<Result<_, _>>()?)
}

/// Approves a draft refund batch: a treasury user other than its creator (403
/// `four_eyes_required`); its refunds go `batched → in_transit` and the transfer file may be
/// fetched. The ledger moves only when the statement shows each transfer.
pub async fn approve(
    db: &DatabaseConnection,
    batch_id: &str,
    who: impl Into<peken_audit::Actor>,
    now: DateTime<Utc>,
    key: Option<&Key>,
) -> ApiResult<Outcome<RefundBatchDetail>> {
    let who: peken_audit::Actor = who.into();
    let actor = who.user_id.as_str();
    idempotency::transaction(db, key, now, 200, async |txn: &DatabaseTransaction| {
        let changed = sql::exec(
            txn,
            "UPDATE refund_batches SET status = 'approved', approved_by = $1, approved_at = $2 \
             WHERE id = $3 AND status = 'draft' AND created_by <> $1",
            vec![actor.into(), now.into(), batch_id.into()],
        )
        .await?;
        if changed != 1 {
            return Err(batch_refusal(txn, batch_id, actor).await);
        }
        let ids = refund_ids(txn, batch_id, "draft").await?;
        sql::exec(
            txn,
            "UPDATE refund_items SET status = 'approved', approved_at = $1 \
             WHERE batch_id = $2 AND status = 'draft'",
            vec![now.into(), batch_id.into()],
        )
        .await?;
        if !refunds::send(txn, &ids).await? {
            return Err(ApiError::internal(anyhow::anyhow!(
                "a batched refund left its batch"
            )));
        }
        let value = detail(txn, batch_id).await?;
        peken_audit::record(
            txn,
            &who,
            peken_audit::Change::new("refund_batch.approved", "refund_batch", batch_id)
                .before(serde_json::json!({"status": "draft"}))
                .after(serde_json::json!({
                    "status": "approved", "item_count": value.batch.item_count,
                    "total_amount": value.batch.total_amount,
                })),
            now,
        )
        .await?;
        Ok(value)
    })
    .await
}

/// Cancels a draft refund batch; its refunds are due again.
pub async fn cancel(
    db: &DatabaseConnection,
    batch_id: &str,
    who: impl Into<peken_audit::Actor>,
    now: DateTime<Utc>,
) -> ApiResult<RefundBatchView> {
    let who: peken_audit::Actor = who.into();
    let actor = who.user_id.as_str();
    idempotency::transaction(db, None, now, 200, async |txn: &DatabaseTransaction| {
        lock_refund_batches(txn).await?;
        let changed = sql::exec(
            txn,
            "UPDATE refund_batches SET status = 'cancelled', cancelled_by = $1, \
             cancelled_at = $2 WHERE id = $3 AND status = 'draft'",
            vec![actor.into(), now.into(), batch_id.into()],
        )
        .await?;
        if changed != 1 {
            return Err(match find_batch(txn, batch_id).await? {
                None => ApiError::not_found("refund batch"),
                Some(b) => ApiError::conflict(
                    "batch_not_draft",
                    format!("the batch is {} and can no longer be cancelled", b.status),
                )
                .with_context(serde_json::json!({ "status": b.status })),
            });
        }
        let ids = refund_ids(txn, batch_id, "draft").await?;
        sql::exec(
            txn,
            "UPDATE refund_items SET status = 'cancelled' WHERE batch_id = $1",
            vec![batch_id.into()],
        )
        .await?;
        if !refunds::release_from_batch(txn, &ids).await? {
            return Err(ApiError::internal(anyhow::anyhow!(
                "a batched refund left its draft"
            )));
        }
        let batch = find_batch(txn, batch_id)
            .await?
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("batch vanished")))?;
        peken_audit::record(
            txn,
            &who,
            peken_audit::Change::new("refund_batch.cancelled", "refund_batch", batch_id)
                .before(serde_json::json!({"status": "draft"}))
                .after(serde_json::json!({
                    "status": "cancelled", "total_amount": batch.total_amount,
                })),
            now,
        )
        .await?;
        Ok(batch)
    })
    .await
    .map(|outcome| match outcome {
        Outcome::Done(batch) => Ok(batch),
        Outcome::Replay { .. } => Err(ApiError::internal(anyhow::anyhow!(
            "a cancellation without a key was replayed"
        ))),
    })?
}

/// Refund batches, newest first, after the cursor id.
pub async fn list<C: ConnectionTrait>(
    conn: &C,
    after: Option<String>,
    limit: u64,
) -> ApiResult<Vec<RefundBatchView>> {
    let (filter, mut values): (&str, Vec<Value>) = match after {
        Some(after) => ("WHERE id < $1", vec![after.into()]),
        None => ("", vec![]),
    };
    values.push((limit as i64 + 1).into());
    let rows = sql::query(
        conn,
        format!(
            "SELECT {BATCH_COLUMNS} FROM refund_batches {filter} ORDER BY id DESC LIMIT ${}",
            values.len()
        ),
        values,
    )
    .await?;
    Ok(rows.iter().map(batch_row).collect::<Result<_, _>>()?)
}

/// The bank's transfer file of an approved refund batch, in the payout transfer file's format.
pub async fn transfer_file<C: ConnectionTrait>(conn: &C, batch_id: &str) -> ApiResult<String> {
    let batch = find_batch(conn, batch_id)
        .await?
        .ok_or_else(|| ApiError::not_found("refund batch"))?;
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

/// A batch's items as an export table (the account number in full: treasury only).
pub fn items_table(detail: &RefundBatchDetail) -> Table {
    let mut table = Table::new(
        "Refund batch",
        &[
            "item_id",
            "refund_id",
            "order_id",
            "buyer_id",
            "amount",
            "reference",
            "bank_code",
            "account_number",
            "account_name",
            "rail",
            "status",
            "settled_at",
            "failure_reason",
        ],
    );
    for i in &detail.items {
        table.push(vec![
            Cell::from(&i.id),
            Cell::from(&i.refund_id),
            Cell::from(i.order_id.clone()),
            Cell::from(&i.buyer_id),
            Cell::from(i.amount),
            Cell::from(&i.reference),
            Cell::from(&i.bank_code),
            Cell::from(&i.account_number),
            Cell::from(&i.account_name),
            Cell::from(&i.rail),
            Cell::from(&i.status),
            Cell::from(i.settled_at.map(|t| t.to_rfc3339())),
            Cell::from(i.failure_reason.clone()),
        ]);
    }
    table
}

/// What the bank said about a failed refund transfer: trimmed, not empty, at most 500
/// characters (the API and the console check it alike).
pub fn check_failure_reason(raw: &str) -> ApiResult<String> {
    let mut v = peken_kernel::Validation::new();
    let reason = peken_kernel::error::check_text(&mut v, "reason", raw, 500);
    v.finish()?;
    Ok(reason.unwrap_or_default())
}

/// The bank returned a refund transfer (or never carried it out): the item fails and its refund
/// is due again, for the next batch. Only an item in transit can fail; one already seen on a
/// statement is paid. Nothing was posted for it, so nothing is reversed.
pub async fn fail_item(
    db: &DatabaseConnection,
    item_id: &str,
    reason: &str,
    who: impl Into<peken_audit::Actor>,
    now: DateTime<Utc>,
    key: Option<&Key>,
) -> ApiResult<Outcome<RefundItemView>> {
    let who: peken_audit::Actor = who.into();
    let actor = who.user_id.as_str();
    idempotency::transaction(db, key, now, 200, async |txn: &DatabaseTransaction| {
        let changed = sql::exec(
            txn,
            "UPDATE refund_items SET status = 'failed', failed_at = $1, failed_by = $2, \
             failure_reason = $3 WHERE id = $4 AND status = 'approved'",
            vec![now.into(), actor.into(), reason.into(), item_id.into()],
        )
        .await?;
        let item = find_item(txn, item_id)
            .await?
            .ok_or_else(|| ApiError::not_found("refund item"))?;
        if changed != 1 {
            return Err(match item.status.as_str() {
                "paid" => ApiError::conflict(
                    "refund_already_settled",
                    "the statement shows this refund paid; it cannot fail any more",
                ),
                "failed" => {
                    ApiError::conflict("refund_item_already_failed", "the item failed already")
                }
                _ => ApiError::conflict(
                    "refund_item_not_in_transit",
                    "only an approved item in transit can fail",
                ),
            });
        }
        if !refunds::return_failed(txn, &item.refund_id).await? {
            return Err(ApiError::internal(anyhow::anyhow!(
                "a refund in transit was not in transit"
            )));
        }
        peken_audit::record(
            txn,
            &who,
            peken_audit::Change::new("refund_item.failed", "refund_item", &item.id)
                .before(serde_json::json!({"status": "approved"}))
                .after(serde_json::json!({
                    "status": "failed", "reason": reason, "refund_id": item.refund_id,
                    "amount": item.amount,
                })),
            now,
        )
        .await?;
        tracing::info!(
            item_id = %item.id,
            refund_id = %item.refund_id,
            account_last4 = refund_accounts::last4(&item.account_number),
            "refund transfer failed; the refund is due again"
        );
        Ok(item)
    })
    .await
}
