//! Money owed back to buyers (cancelled, rejected or refunded orders; late or duplicate
//! payments) and how treasury pays it: by a refund batch (`peken_payout::refund_batches`,
//! through the functions below) or by hand, proposed by one treasury user and confirmed by
//! another. Either way the ledger posts refunds payable → collection once per payment.
//!
//! Statuses: `due → batched` (in a draft refund batch) `→ in_transit` (the batch approved)
//! `→ paid` (the transfer seen on the bank statement); a cancelled draft or a failed transfer
//! puts the refund back to `due`. By hand: `due → payment_proposed → paid`, or back to `due` on
//! rejection. Every move is a conditional update from the status it expects.

use chrono::{DateTime, Utc};
use peken_kernel::auth::Caller;
use peken_kernel::export::{Table, Value as Cell};
use peken_kernel::pagination::{Page, PageParams};
use peken_kernel::sql;
use peken_kernel::{ApiError, ApiResult, AppState, Rupiah};
use sea_orm::{ConnectionTrait, QueryResult, TransactionTrait, Value};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::lifecycle::ledger_error;

/// Every status a refund can have.
pub const STATUSES: [&str; 5] = ["due", "batched", "in_transit", "payment_proposed", "paid"];

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RefundView {
    pub id: String,
    pub payment_id: String,
    pub order_id: Option<String>,
    pub buyer_id: String,
    pub amount: Rupiah,
    pub reason: String,
    /// `order` (an order's or a payment's money) or `short` (units the shop could not supply,
    /// refunded when it accepted the order).
    pub kind: String,
    /// `due` (owed, in no batch), `batched` (in a draft refund batch), `in_transit` (in an
    /// approved refund batch, not yet seen on the statement), `payment_proposed` (paid by hand,
    /// waiting for a second treasury user) or `paid`.
    pub status: String,
    pub created_at: DateTime<Utc>,
    /// The reference of a payment by hand (proposed or confirmed).
    pub payment_reference: Option<String>,
    /// Who proposed the payment by hand, and when.
    pub proposed_by: Option<String>,
    pub proposed_at: Option<DateTime<Utc>>,
    /// Who confirmed the payment by hand (none for a refund paid by a batch), and when it was
    /// paid.
    pub paid_by: Option<String>,
    pub paid_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, payment_id, order_id, buyer_id, amount, reason, kind, status, \
     created_at, payment_reference, proposed_by, proposed_at, paid_by, paid_at";

fn row(r: &QueryResult) -> Result<RefundView, sea_orm::DbErr> {
    Ok(RefundView {
        id: r.try_get("", "id")?,
        payment_id: r.try_get("", "payment_id")?,
        order_id: r.try_get("", "order_id")?,
        buyer_id: r.try_get("", "buyer_id")?,
        amount: Rupiah::new(r.try_get("", "amount")?),
        reason: r.try_get("", "reason")?,
        kind: r.try_get("", "kind")?,
        status: r.try_get("", "status")?,
        created_at: r.try_get("", "created_at")?,
        payment_reference: r.try_get("", "payment_reference")?,
        proposed_by: r.try_get("", "proposed_by")?,
        proposed_at: r.try_get("", "proposed_at")?,
        paid_by: r.try_get("", "paid_by")?,
        paid_at: r.try_get("", "paid_at")?,
    })
}

/// One refund.
pub async fn find<C: ConnectionTrait>(conn: &C, id: &str) -> ApiResult<Option<RefundView>> {
    let found = sql::query_one(
        conn,
        format!("SELECT {COLUMNS} FROM refunds WHERE id = $1"),
        vec![id.into()],
    )
    .await?;
    Ok(found.as_ref().map(row).transpose()?)
}

/// Refunds, oldest first, optionally of one status.
/// The bank's reference of a refund paid by hand: 1 to 64 characters, trimmed.
pub fn check_reference(reference: &str) -> ApiResult<&str> {
    let reference = reference.trim();
    if reference.is_empty() || reference.chars().count() > 64 {
        return Err(ApiError::field(
            "reference",
            "invalid_reference",
            "1 to 64 characters",
        ));
    }
    Ok(reference)
}

pub async fn list(
    state: &AppState,
    status: Option<&str>,
    page: &PageParams,
) -> ApiResult<Page<RefundView>> {
    list_from(&state.db, status, page).await
}

/// [`list`] read from `conn`: the read replica's connection for an export, which may be
/// seconds stale, or the primary for the list treasury works from.
pub async fn list_from<C: ConnectionTrait>(
    conn: &C,
    status: Option<&str>,
    page: &PageParams,
) -> ApiResult<Page<RefundView>> {
    let limit = page.limit()?;
    let after: Option<String> = page.cursor()?;
    let mut filters = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    if let Some(status) = status {
        values.push(status.into());
        filters.push(format!("status = ${}", values.len()));
    }
    if let Some(after) = after {
        values.push(after.into());
        filters.push(format!("id > ${}", values.len()));
    }
    let filter = if filters.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", filters.join(" AND "))
    };
    values.push((limit as i64 + 1).into());
    let rows = sql::query(
        conn,
        format!(
            "SELECT {COLUMNS} FROM refunds {filter} ORDER BY id LIMIT ${}",
            values.len()
        ),
        values,
    )
    .await?;
    let rows = rows.iter().map(row).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(rows, limit, |r| r.id.clone(), |r| r))
}

/// A page of refunds as an export table.
pub fn table(refunds: &[RefundView]) -> Table {
    let mut table = Table::new(
        "Refund",
        &[
            "id",
            "created_at",
            "order_id",
            "payment_id",
            "buyer_id",
            "kind",
            "reason",
            "amount",
            "status",
            "payment_reference",
            "paid_at",
        ],
    );
    for r in refunds {
        table.push(vec![
            Cell::from(&r.id),
            Cell::from(r.created_at.to_rfc3339()),
            Cell::from(r.order_id.clone()),
            Cell::from(&r.payment_id),
            Cell::from(&r.buyer_id),
            Cell::from(&r.kind),
            Cell::from(&r.reason),
            Cell::from(r.amount),
            Cell::from(&r.status),
            Cell::from(r.payment_reference.clone()),
            Cell::from(r.paid_at.map(|t| t.to_rfc3339())),
        ]);
    }
    table
}

fn refund_not_due(found: &RefundView) -> ApiError {
    if found.status == "paid" {
        ApiError::conflict("refund_already_paid", "this refund was already paid")
    } else {
        ApiError::conflict(
            "refund_not_due",
            format!(
                "the refund is {} and cannot be paid by hand now",
                found.status
            ),
        )
        .with_context(serde_json::json!({ "status": found.status }))
    }
}

/// Proposes that treasury paid a refund back by hand (a bank transfer outside a refund batch,
/// or the provider's refund): the refund waits (`payment_proposed`) for a second treasury user;
/// nothing is posted yet. Only a refund `due` (in no batch) can be proposed.
pub async fn propose_payment(
    state: &AppState,
    refund_id: &str,
    reference: &str,
    by: &Caller,
) -> ApiResult<RefundView> {
    let now = state.now();
    let txn = state.db.begin().await?;
    let found = find(&txn, refund_id)
        .await?
        .ok_or_else(|| ApiError::not_found("refund"))?;
    let changed = sql::exec(
        &txn,
        "UPDATE refunds SET status = 'payment_proposed', payment_reference = $1, \
         proposed_by = $2, proposed_at = $3 WHERE id = $4 AND status = 'due'",
        vec![
            reference.into(),
            by.user_id.clone().into(),
            now.into(),
            found.id.clone().into(),
        ],
    )
    .await?;
    if changed != 1 {
        return Err(refund_not_due(&found));
    }
    peken_audit::record(
        &txn,
        by,
        peken_audit::Change::new("refund.payment_proposed", "refund", &found.id)
            .before(serde_json::json!({"status": "due", "amount": found.amount}))
            .after(serde_json::json!({
                "status": "payment_proposed", "amount": found.amount, "reference": reference,
            })),
        now,
    )
    .await?;
    let view = find(&txn, refund_id)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("refund vanished")))?;
    txn.commit().await?;
    tracing::info!(refund_id = %found.id, by = %by.user_id, "refund payment proposed");
    Ok(view)
}

/// Why a proposal could not be confirmed or rejected.
fn not_proposed(found: &RefundView) -> ApiError {
    ApiError::conflict(
        "refund_payment_not_proposed",
        format!("the refund is {}; no payment by hand waits", found.status),
    )
    .with_context(serde_json::json!({ "status": found.status }))
}

/// A second treasury user confirms a payment by hand: the refund is paid and the ledger posts
/// refunds payable → collection under `refund:{id}:paid` (a refund is paid by hand at most once:
/// `paid` is final). The proposer can never confirm (403 `four_eyes_required`).
pub async fn approve_payment(
    state: &AppState,
    refund_id: &str,
    by: &Caller,
) -> ApiResult<RefundView> {
    let now = state.now();
    let txn = state.db.begin().await?;
    let found = find(&txn, refund_id)
        .await?
        .ok_or_else(|| ApiError::not_found("refund"))?;
    let changed = sql::exec(
        &txn,
        "UPDATE refunds SET status = 'paid', paid_by = $1, paid_at = $2 \
         WHERE id = $3 AND status = 'payment_proposed' AND proposed_by <> $1",
        vec![
            by.user_id.clone().into(),
            now.into(),
            found.id.clone().into(),
        ],
    )
    .await?;
    if changed != 1 {
        return Err(if found.status != "payment_proposed" {
            not_proposed(&found)
        } else if found.proposed_by.as_deref() == Some(by.user_id.as_str()) {
            ApiError::four_eyes()
        } else {
            ApiError::conflict(
                "refund_payment_not_proposed",
                "the refund changed meanwhile",
            )
        });
    }
    peken_ledger::post_refund_paid(
        &txn,
        &format!("refund:{}:paid", found.id),
        found.order_id.as_deref(),
        found.amount,
        now,
    )
    .await
    .map_err(ledger_error)?;
    peken_audit::record(
        &txn,
        by,
        peken_audit::Change::new("refund.paid", "refund", &found.id)
            .before(serde_json::json!({"status": "payment_proposed", "amount": found.amount}))
            .after(serde_json::json!({
                "status": "paid", "amount": found.amount,
                "reference": found.payment_reference, "proposed_by": found.proposed_by,
            })),
        now,
    )
    .await?;
    let view = find(&txn, refund_id)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("refund vanished")))?;
    txn.commit().await?;
    tracing::info!(refund_id = %found.id, by = %by.user_id, "refund paid by hand");
    Ok(view)
}

/// Rejects a payment by hand (the proposer may withdraw it too): the refund is `due` again.
pub async fn reject_payment(
    state: &AppState,
    refund_id: &str,
    reason: &str,
    by: &Caller,
) -> ApiResult<RefundView> {
    let now = state.now();
    let txn = state.db.begin().await?;
    let found = find(&txn, refund_id)
        .await?
        .ok_or_else(|| ApiError::not_found("refund"))?;
    let changed = sql::exec(
        &txn,
        "UPDATE refunds SET status = 'due', payment_reference = NULL, proposed_by = NULL, \
         proposed_at = NULL WHERE id = $1 AND status = 'payment_proposed'",
        vec![found.id.clone().into()],
    )
    .await?;
    if changed != 1 {
        return Err(not_proposed(&found));
    }
    peken_audit::record(
        &txn,
        by,
        peken_audit::Change::new("refund.payment_rejected", "refund", &found.id)
            .before(serde_json::json!({
                "status": "payment_proposed", "reference": found.payment_reference,
                "proposed_by": found.proposed_by,
            }))
            .after(serde_json::json!({"status": "due", "reason": reason})),
        now,
    )
    .await?;
    let view = find(&txn, refund_id)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("refund vanished")))?;
    txn.commit().await?;
    Ok(view)
}

// ---- For refund batches (`peken_payout::refund_batches`), inside the caller's transaction ----

/// A refund owed and in no batch, as a refund batch needs it.
#[derive(Debug, Clone)]
pub struct DueRefund {
    pub id: String,
    pub buyer_id: String,
    pub order_id: Option<String>,
    pub amount: Rupiah,
    pub created_at: DateTime<Utc>,
}

/// Refunds `due` created up to `cutoff`, oldest first.
pub async fn due_up_to<C: ConnectionTrait>(
    conn: &C,
    cutoff: DateTime<Utc>,
) -> ApiResult<Vec<DueRefund>> {
    let rows = sql::query(
        conn,
        "SELECT id, buyer_id, order_id, amount, created_at FROM refunds \
         WHERE status = 'due' AND created_at <= $1 ORDER BY created_at, id",
        vec![cutoff.into()],
    )
    .await?;
    Ok(rows
        .iter()
        .map(|r| {
            Ok(DueRefund {
                id: r.try_get("", "id")?,
                buyer_id: r.try_get("", "buyer_id")?,
                order_id: r.try_get("", "order_id")?,
                amount: Rupiah::new(r.try_get("", "amount")?),
                created_at: r.try_get("", "created_at")?,
            })
        })
        .collect::<Result<_, sea_orm::DbErr>>()?)
}

/// Moves the refunds from one status to another with conditional updates; answers how many
/// moved. The caller compares with how many it asked for and rolls back on a shortfall.
async fn transition<C: ConnectionTrait>(
    conn: &C,
    ids: &[String],
    from: &str,
    to: &str,
    paid_at: Option<DateTime<Utc>>,
) -> ApiResult<u64> {
    let mut moved = 0;
    for chunk in ids.chunks(sql::CHUNK_ROWS) {
        let mut values: Vec<Value> = vec![to.into(), paid_at.into(), from.into()];
        values.extend(chunk.iter().map(|id| Value::from(id.clone())));
        moved += sql::exec(
            conn,
            format!(
                "UPDATE refunds SET status = $1, paid_at = COALESCE($2, paid_at) \
                 WHERE status = $3 AND id IN ({})",
                sql::list(chunk.len(), 4)
            ),
            values,
        )
        .await?;
    }
    Ok(moved)
}

/// `due → batched`: the refunds go into a draft batch. False (and the caller rolls back) when
/// any of them was no longer due, e.g. taken by a concurrent batch or paid by hand meanwhile.
pub async fn take_for_batch<C: ConnectionTrait>(conn: &C, ids: &[String]) -> ApiResult<bool> {
    Ok(transition(conn, ids, "due", "batched", None).await? == ids.len() as u64)
}

/// `batched → due`: a draft batch was cancelled.
pub async fn release_from_batch<C: ConnectionTrait>(conn: &C, ids: &[String]) -> ApiResult<bool> {
    Ok(transition(conn, ids, "batched", "due", None).await? == ids.len() as u64)
}

/// `batched → in_transit`: the batch was approved and its transfer file may be sent.
pub async fn send<C: ConnectionTrait>(conn: &C, ids: &[String]) -> ApiResult<bool> {
    Ok(transition(conn, ids, "batched", "in_transit", None).await? == ids.len() as u64)
}

/// `in_transit → paid`: the transfer was seen leaving the bank.
pub async fn settle<C: ConnectionTrait>(
    conn: &C,
    ids: &[String],
    at: DateTime<Utc>,
) -> ApiResult<bool> {
    Ok(transition(conn, ids, "in_transit", "paid", Some(at)).await? == ids.len() as u64)
}

/// `in_transit → due`: the bank returned the transfer; the next batch pays it again.
pub async fn return_failed<C: ConnectionTrait>(conn: &C, id: &str) -> ApiResult<bool> {
    Ok(transition(conn, &[id.to_owned()], "in_transit", "due", None).await? == 1)
}
