//! What admins do with the outbox: look at it, and send a failed message again.

use peken_kernel::auth::Caller;
use peken_kernel::{ApiError, ApiResult, AppState};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait};

use crate::outbox::{FAILED, PENDING, SENT};
use crate::store::outbox::{self, Column, Entity};

/// Up to `limit + 1` messages with this status, newest first, after the `before` id.
pub async fn list(
    state: &AppState,
    status: &str,
    before: Option<String>,
    limit: u64,
) -> ApiResult<Vec<outbox::Model>> {
    let mut query = Entity::find().filter(Column::Status.eq(status));
    if let Some(before) = before {
        query = query.filter(Column::Id.lt(before));
    }
    Ok(query
        .order_by_desc(Column::Id)
        .limit(limit + 1)
        .all(&state.db)
        .await?)
}

/// Makes a message due now. A failed one gets a fresh set of attempts; a pending one is just
/// moved forward (a worker holding it keeps its claim, so it is never sent twice at once); a
/// sent one is refused.
pub async fn retry(state: &AppState, admin: &Caller, id: &str) -> ApiResult<outbox::Model> {
    let now = state.now();
    let txn = state.db.begin().await?;
    let failed = Entity::update_many()
        .col_expr(Column::Status, Expr::value(PENDING))
        .col_expr(Column::Attempts, Expr::value(0))
        .col_expr(Column::NextAttemptAt, Expr::value(now))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .filter(Column::Status.eq(FAILED))
        .exec(&txn)
        .await?;
    if failed.rows_affected == 0 {
        Entity::update_many()
            .col_expr(Column::NextAttemptAt, Expr::value(now))
            .col_expr(Column::UpdatedAt, Expr::value(now))
            .filter(Column::Id.eq(id))
            .filter(Column::Status.eq(PENDING))
            .filter(Column::NextAttemptAt.gt(now))
            .exec(&txn)
            .await?;
    }
    let row = Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found("message"))?;
    if row.status == SENT {
        return Err(ApiError::conflict(
            "mail_already_sent",
            "this message has already been sent",
        ));
    }
    if failed.rows_affected == 1 {
        peken_audit::record(
            &txn,
            admin,
            peken_audit::Change::new("mail.retried", "mail", id)
                .before(serde_json::json!({"status": FAILED}))
                .after(serde_json::json!({"status": PENDING, "attempts": 0})),
            now,
        )
        .await?;
    }
    txn.commit().await?;
    Ok(row)
}

/// Where a message stands, without its text.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub dedupe_key: String,
    /// `pending`, `sent` or `failed`.
    pub status: String,
    /// When it was queued.
    pub queued_at: chrono::DateTime<chrono::Utc>,
    pub sent_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The messages queued under these dedupe keys (those not queued are absent), in chunks of 500
/// keys a query.
pub async fn deliveries<C: sea_orm::ConnectionTrait>(
    conn: &C,
    keys: &[String],
) -> ApiResult<Vec<Delivery>> {
    let mut out = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(500) {
        let rows = Entity::find()
            .filter(Column::DedupeKey.is_in(chunk.iter().cloned()))
            .all(conn)
            .await?;
        out.extend(rows.into_iter().map(|m| Delivery {
            dedupe_key: m.dedupe_key,
            status: m.status,
            queued_at: m.created_at,
            sent_at: m.sent_at,
        }));
    }
    Ok(out)
}
