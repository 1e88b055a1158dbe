//! What buyers, merchants and admins do to an order, and the auto-completion of shipped orders.
//! Each call is one transaction: the transition and all its effects, or nothing.

use chrono::Duration;
use peken_kernel::auth::{Caller, Role};
use peken_kernel::{ApiError, ApiResult, AppState, Rupiah};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait};

use crate::lifecycle::{complete_order, items_of, refund_paid_order, release_stock, transition};
use crate::notify::{self, BuyerEvent};
use crate::partial::{self, ShortLine};
use crate::payment::close_if_empty;
use crate::status::{Action, OrderStatus};
use crate::store::order;
use peken_kernel::idempotency::{self, Key};

/// Loads an order the caller may act on or see: a buyer's own, a merchant's own shop's, or any
/// for admin and treasury. Anything else is "not found", so ids of others' orders leak nothing.
pub async fn visible_order<C: sea_orm::ConnectionTrait>(
    conn: &C,
    caller: &Caller,
    order_id: &str,
) -> ApiResult<order::Model> {
    let found = order::Entity::find_by_id(order_id.to_owned())
        .one(conn)
        .await?
        .filter(|o| match caller.role {
            Role::Asn | Role::Public => o.buyer_id == caller.user_id,
            Role::Merchant => caller.merchant_id.as_deref() == Some(o.merchant_id.as_str()),
            Role::Admin | Role::Treasury => true,
            // OPD orders are seen through `/opd/orders`.
            Role::OpdAdmin | Role::OpdStaff | Role::Camat => false,
        });
    found.ok_or_else(|| ApiError::not_found("order"))
}

/// Runs one action on one order for a caller and returns the order afterwards, as JSON. With an
/// idempotency key, a repeat of the same request answers the first response again instead of
/// "invalid transition".
pub async fn act(
    state: &AppState,
    caller: &Caller,
    order_id: &str,
    action: Action,
    reason: Option<&str>,
    idem: Option<&Key>,
) -> ApiResult<String> {
    act_with(state, caller, order_id, action, reason, &[], idem).await
}

/// [`act`], where an acceptance may name lines the shop cannot supply in full (`short`, see
/// [`crate::partial`]); other actions take none. The lines are checked against the order
/// before it moves, and the shortfall is refunded in the acceptance's transaction.
pub async fn act_with(
    state: &AppState,
    caller: &Caller,
    order_id: &str,
    action: Action,
    reason: Option<&str>,
    short: &[ShortLine],
    idem: Option<&Key>,
) -> ApiResult<String> {
    let now = state.now();
    let txn = state.db.begin().await?;
    if let Some((_, body)) = idempotency::claim(&txn, idem, now).await? {
        txn.rollback().await?;
        return Ok(body);
    }
    visible_order(&txn, caller, order_id).await?;
    let shortfall = match action {
        Action::Accept if !short.is_empty() => {
            let items = items_of(&txn, order_id).await?;
            Some(partial::plan(&items, short)?)
        }
        _ => None,
    };
    let note = shortfall.as_ref().map(partial::note);
    let reason = reason.or(note.as_deref());
    let before = transition(&txn, order_id, action, Some(&caller.user_id), reason, now).await?;
    let was = OrderStatus::parse(&before.status);
    match action {
        Action::Cancel => {
            release_stock(
                &txn,
                &before,
                "cancelled by the buyer",
                Some(&caller.user_id),
                now,
            )
            .await?;
            if was == Some(OrderStatus::Paid) {
                refund_paid_order(&txn, &before, "cancelled by the buyer", true, now).await?;
            } else {
                close_if_empty(&txn, &before.payment_id, now).await?;
            }
        }
        Action::Accept => {
            let (short, refund) = match &shortfall {
                Some(shortfall) => {
                    partial::apply(&txn, &before, shortfall, Some(&caller.user_id), now).await?;
                    (partial::mail_items(shortfall), shortfall.amount)
                }
                None => (Vec::new(), Rupiah::ZERO),
            };
            let event = BuyerEvent::Accepted { short, refund };
            notify::tell_buyer(&txn, &before, event, now).await?;
        }
        Action::Reject => {
            let reason = reason.unwrap_or("rejected by the shop");
            release_stock(
                &txn,
                &before,
                "rejected by the shop",
                Some(&caller.user_id),
                now,
            )
            .await?;
            refund_paid_order(&txn, &before, reason, false, now).await?;
            notify::tell_buyer(&txn, &before, BuyerEvent::Rejected { reason }, now).await?;
        }
        Action::Ship => notify::tell_buyer(&txn, &before, BuyerEvent::Shipped, now).await?,
        Action::ConfirmReceipt | Action::ResolveCompleted => {
            complete_order(state, &txn, &before, now).await?;
        }
        Action::ResolveRefunded => {
            // The goods were delivered or are in dispute: no units return to the shelf.
            let reason = reason.unwrap_or("dispute resolved with a refund");
            refund_paid_order(&txn, &before, reason, true, now).await?;
        }
        Action::Dispute => {}
        Action::ConfirmPayment
        | Action::Expire
        | Action::AutoComplete
        | Action::Approve
        | Action::Decline
        | Action::ExpireApproval => {
            return Err(ApiError::internal(anyhow::anyhow!(
                "{action:?} is not taken by a caller"
            )));
        }
    }
    let view = crate::views::get(state, &txn, caller, order_id).await?;
    let body = serde_json::to_string(&view).map_err(ApiError::internal)?;
    idempotency::store(&txn, idem, 200, &body).await?;
    // What shops and admins do to an order moves money or stock; buyers' own steps are in the
    // order's history already.
    if !caller.role.is_buyer() {
        peken_audit::record(
            &txn,
            caller,
            peken_audit::Change::new(audit_name(action), "order", order_id)
                .before(serde_json::json!({"status": before.status}))
                .after(serde_json::json!({
                    "status": action.to().as_str(),
                    "reason": reason,
                    "short_amount": shortfall.as_ref().map(|s| s.amount),
                })),
            now,
        )
        .await?;
    }
    txn.commit().await?;
    state
        .metrics
        .event("order_transition", action.to().as_str());
    Ok(body)
}

/// The audit log's name for an action on an order.
fn audit_name(action: Action) -> &'static str {
    match action {
        Action::ConfirmPayment => "order.paid",
        Action::Expire => "order.expired",
        Action::Cancel => "order.cancelled",
        Action::Accept => "order.accepted",
        Action::Reject => "order.rejected",
        Action::Ship => "order.shipped",
        Action::ConfirmReceipt => "order.received",
        Action::AutoComplete => "order.auto_completed",
        Action::Dispute => "order.disputed",
        Action::ResolveCompleted => "order.dispute_resolved_completed",
        Action::ResolveRefunded => "order.dispute_resolved_refunded",
        Action::Approve => "order.approved",
        Action::Decline => "order.approval_rejected",
        Action::ExpireApproval => "order.approval_expired",
    }
}

/// Completes shipped orders whose confirmation window passed without receipt or dispute. Safe
/// with several workers: each completion is a conditional transition from `shipped`.
pub async fn auto_complete_due(state: &AppState, limit: u64) -> ApiResult<usize> {
    let now = state.now();
    let policies = state.policies.get(&state.db).await?;
    let cutoff = now - Duration::hours(i64::from(policies.confirmation_window_hours));
    let due: Vec<String> = order::Entity::find()
        .select_only()
        .column(order::Column::Id)
        .filter(order::Column::Status.eq(OrderStatus::Shipped.as_str()))
        .filter(order::Column::ShippedAt.lte(cutoff))
        // An OPD order completes only with its BAST.
        .filter(
            order::Column::Id.not_in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(sea_orm::sea_query::Alias::new("order_id"))
                    .from(sea_orm::sea_query::Alias::new("opd_orders"))
                    .to_owned(),
            ),
        )
        .order_by_asc(order::Column::ShippedAt)
        .limit(limit)
        .into_tuple()
        .all(&state.db)
        .await?;
    let mut completed = 0;
    for order_id in due {
        let txn = state.db.begin().await?;
        match transition(
            &txn,
            &order_id,
            Action::AutoComplete,
            None,
            Some("confirmation window passed"),
            now,
        )
        .await
        {
            Ok(before) => {
                complete_order(state, &txn, &before, now).await?;
                txn.commit().await?;
                completed += 1;
            }
            // Confirmed, disputed or completed by another worker since we looked.
            Err(e) if e.code() == "invalid_transition" => txn.rollback().await?,
            Err(e) => return Err(e),
        }
    }
    if completed > 0 {
        state.metrics.event("order_auto_completed", "ok");
    }
    Ok(completed)
}
