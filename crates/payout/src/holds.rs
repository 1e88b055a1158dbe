//! Failed payouts and the holds they put on merchants.

use chrono::{DateTime, Utc};
use peken_kernel::db::new_id;
use peken_kernel::idempotency::{self, Key, Outcome};
use peken_kernel::sql;
use peken_kernel::{ApiError, ApiResult};
use peken_ledger::{payout_failed, post};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, QueryResult, TransactionTrait,
};

use crate::batches::find_item;
use crate::notify;
use crate::views::{HoldView, ItemView};
use peken_merchant::facts as merchants;

/// The bank returned an item (or never carried it out): the money goes back to the merchant's
/// payable, and the merchant's payouts are held until a person clears the hold. Only an item in
/// transit can fail; one already seen on a statement is paid.
pub async fn fail_item(
    db: &DatabaseConnection,
    item_id: &str,
    reason: &str,
    who: impl Into<peken_audit::Actor>,
    now: DateTime<Utc>,
    key: Option<&Key>,
) -> ApiResult<Outcome<ItemView>> {
    let who: peken_audit::Actor = who.into();
    let actor = who.user_id.as_str();
    idempotency::transaction(db, key, now, 200, async |txn: &DatabaseTransaction| {
        let changed = sql::exec(
            txn,
            "UPDATE payout_items SET status = 'failed', failed_at = $1, failed_by = $2, \
             failure_reason = $3 WHERE id = $4 AND status = 'approved'",
            vec![now.into(), actor.into(), reason.into(), item_id.into()],
        )
        .await?;
        let item = find_item(txn, item_id)
            .await?
            .ok_or_else(|| ApiError::not_found("payout item"))?;
        if changed != 1 {
            return Err(match item.status.as_str() {
                "paid" => ApiError::conflict(
                    "payout_already_settled",
                    "the statement shows this item paid; it cannot fail any more",
                ),
                "failed" => ApiError::conflict("payout_already_failed", "the item failed already"),
                _ => ApiError::conflict(
                    "payout_item_not_in_transit",
                    "only an approved item in transit can fail",
                ),
            });
        }
        post(
            txn,
            payout_failed(
                &item.id,
                &item.merchant_id,
                item.amount.get(),
                now,
                item.oldest_receipt_at,
            ),
        )
        .await?;
        sql::exec(
            txn,
            "INSERT INTO payout_holds (id, merchant_id, reason, payout_item_id, created_by, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            vec![
                new_id().into(),
                item.merchant_id.clone().into(),
                format!("payout {} failed: {reason}", item.reference).into(),
                item.id.clone().into(),
                actor.into(),
                now.into(),
            ],
        )
        .await?;
        let name = merchants::facts(txn, std::slice::from_ref(&item.merchant_id))
            .await?
            .remove(&item.merchant_id)
            .map_or_else(|| item.merchant_id.clone(), |m| m.name);
        notify::payout_failure_notice(
            txn,
            &item.id,
            &name,
            &item.reference,
            item.amount.get(),
            reason,
            now,
        )
        .await?;
        peken_audit::record(
            txn,
            &who,
            peken_audit::Change::new("payout_item.failed", "payout_item", &item.id)
                .before(serde_json::json!({"status": "approved"}))
                .after(serde_json::json!({
                    "status": "failed", "reason": reason, "amount": item.amount.get(),
                    "merchant_id": item.merchant_id, "merchant_held": true,
                })),
            now,
        )
        .await?;
        let value = item;
        Ok(value)
    })
    .await
}

const HOLD_COLUMNS: &str = "id, merchant_id, reason, payout_item_id, created_by, created_at, \
     cleared_by, cleared_at, clear_note";

fn hold_row(r: &QueryResult) -> Result<HoldView, sea_orm::DbErr> {
    Ok(HoldView {
        id: r.try_get("", "id")?,
        merchant_id: r.try_get("", "merchant_id")?,
        reason: r.try_get("", "reason")?,
        payout_item_id: r.try_get("", "payout_item_id")?,
        created_by: r.try_get("", "created_by")?,
        created_at: r.try_get("", "created_at")?,
        cleared_by: r.try_get("", "cleared_by")?,
        cleared_at: r.try_get("", "cleared_at")?,
        clear_note: r.try_get("", "clear_note")?,
    })
}

/// Holds, the active ones only unless `all`.
pub async fn holds<C: ConnectionTrait>(conn: &C, all: bool) -> ApiResult<Vec<HoldView>> {
    let filter = if all { "" } else { " WHERE cleared_at IS NULL" };
    let rows = sql::query(
        conn,
        format!("SELECT {HOLD_COLUMNS} FROM payout_holds{filter} ORDER BY created_at DESC, id"),
        vec![],
    )
    .await?;
    Ok(rows.iter().map(hold_row).collect::<Result<_, _>>()?)
}

/// A person clears a hold after dealing with its cause (e.g. the merchant corrected its bank
/// account); the merchant is paid again by the next batch once no hold remains.
pub async fn clear_hold(
    db: &DatabaseConnection,
    hold_id: &str,
    note: &str,
    who: impl Into<peken_audit::Actor>,
    now: DateTime<Utc>,
) -> ApiResult<HoldView> {
    let who: peken_audit::Actor = who.into();
    let actor = who.user_id.as_str();
    let txn = db.begin().await?;
    let changed = sql::exec(
        &txn,
        "UPDATE payout_holds SET cleared_by = $1, cleared_at = $2, clear_note = $3 \
         WHERE id = $4 AND cleared_at IS NULL",
        vec![actor.into(), now.into(), note.into(), hold_id.into()],
    )
    .await?;
    let row = sql::query_one(
        &txn,
        format!("SELECT {HOLD_COLUMNS} FROM payout_holds WHERE id = $1"),
        vec![hold_id.into()],
    )
    .await?
    .ok_or_else(|| ApiError::not_found("payout hold"))?;
    if changed != 1 {
        return Err(ApiError::conflict(
            "hold_already_cleared",
            "this hold was cleared already",
        ));
    }
    let hold = hold_row(&row)?;
    peken_audit::record(
        &txn,
        &who,
        peken_audit::Change::new("payout_hold.cleared", "payout_hold", hold_id)
            .before(serde_json::json!({"cleared": false, "merchant_id": hold.merchant_id}))
            .after(serde_json::json!({"cleared": true, "note": note})),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(hold)
}
