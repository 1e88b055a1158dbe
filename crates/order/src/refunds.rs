//! Money owed back to buyers (cancelled, rejected or refunded orders; late or duplicate
//! payments) and treasury's record of paying it: refunds payable → collection.

use chrono::{DateTime, Utc};
use peken_kernel::auth::Caller;
use peken_kernel::pagination::{Page, PageParams};
use peken_kernel::{ApiError, ApiResult, AppState, Rupiah};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Statement,
    TransactionTrait,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::lifecycle::ledger_error;
use crate::store::refund;

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
    /// `due` or `paid`.
    pub status: String,
    pub created_at: DateTime<Utc>,
}

impl From<refund::Model> for RefundView {
    fn from(r: refund::Model) -> Self {
        Self {
            id: r.id,
            payment_id: r.payment_id,
            order_id: r.order_id,
            buyer_id: r.buyer_id,
            amount: Rupiah::new(r.amount),
            reason: r.reason,
            kind: r.kind,
            status: r.status,
            created_at: r.created_at,
        }
    }
}

/// Refunds, oldest first, optionally of one status.
pub async fn list(
    state: &AppState,
    status: Option<&str>,
    page: &PageParams,
) -> ApiResult<Page<RefundView>> {
    let limit = page.limit()?;
    let after: Option<String> = page.cursor()?;
    let mut query = refund::Entity::find().order_by_asc(refund::Column::Id);
    if let Some(status) = status {
        query = query.filter(refund::Column::Status.eq(status));
    }
    if let Some(after) = after {
        query = query.filter(refund::Column::Id.gt(after));
    }
    let rows = query.limit(limit + 1).all(&state.db).await?;
    Ok(Page::from_rows(
        rows,
        limit,
        |r| r.id.clone(),
        RefundView::from,
    ))
}

/// Records that treasury paid a refund back (by bank transfer or the provider's refund), once:
/// the status moves `due → paid` with a conditional update and the ledger posting has a natural
/// key, so a retry changes nothing.
pub async fn mark_paid(
    state: &AppState,
    refund_id: &str,
    reference: &str,
    by: &Caller,
) -> ApiResult<RefundView> {
    let now = state.now();
    let txn = state.db.begin().await?;
    let found = refund::Entity::find_by_id(refund_id.to_owned())
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found("refund"))?;
    let backend = txn.get_database_backend();
    let done = txn
        .execute_raw(Statement::from_sql_and_values(
            backend,
            "UPDATE refunds SET status = 'paid' WHERE id = $1 AND status = 'due'",
            [found.id.clone().into()],
        ))
        .await?;
    if done.rows_affected() == 0 {
        return Err(ApiError::conflict(
            "refund_already_paid",
            "this refund was already paid",
        ));
    }
    peken_ledger::post_refund_paid(
        &txn,
        &format!("refund:{}:paid", found.id),
        found.order_id.as_deref(),
        Rupiah::new(found.amount),
        now,
    )
    .await
    .map_err(ledger_error)?;
    peken_audit::record(
        &txn,
        by,
        peken_audit::Change::new("refund.paid", "refund", &found.id)
            .before(serde_json::json!({"status": "due", "amount": found.amount}))
            .after(serde_json::json!({"status": "paid", "amount": found.amount, "reference": reference})),
        now,
    )
    .await?;
    txn.commit().await?;
    tracing::info!(refund_id = %found.id, reference, by = %by.user_id, "refund paid");
    Ok(RefundView {
        status: "paid".to_owned(),
        ..RefundView::from(found)
    })
}
