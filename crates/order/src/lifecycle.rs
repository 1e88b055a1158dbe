//! Order transitions and their effects. A transition is a conditional update from the status
//! that was read, so two concurrent transitions of one order cannot both happen; every effect
//! (stock, rations, refunds, ledger postings, spend, mail) runs in the same transaction.

use chrono::{DateTime, Utc};
use peken_kernel::db::new_id;
use peken_kernel::period::Period;
use peken_kernel::{ApiError, ApiResult, AppState, Rupiah};
use peken_merchant::stock::{self, MovementKind, StockChange};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Statement,
};

use crate::checkout::release_rations;
use crate::notify::{self, BuyerEvent};
use crate::status::{Action, OrderStatus};
use crate::store::{order, order_event, order_item, refund};

/// Moves an order by `action` and records who did it. Returns the order as it was before.
pub async fn transition<C: ConnectionTrait>(
    conn: &C,
    order_id: &str,
    action: Action,
    actor_id: Option<&str>,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> ApiResult<order::Model> {
    let before = order::Entity::find_by_id(order_id.to_owned())
        .one(conn)
        .await?
        .ok_or_else(|| ApiError::not_found("order"))?;
    let from = OrderStatus::parse(&before.status)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("unknown status {}", before.status)))?;
    let refused = || {
        ApiError::conflict(
            "invalid_transition",
            format!(
                "an order that is {} cannot be {}",
                from.as_str(),
                action.to().as_str()
            ),
        )
        .with_context(serde_json::json!({"status": from.as_str()}))
    };
    if !action.allowed_from(from) {
        return Err(refused());
    }
    let backend = conn.get_database_backend();
    let stamp = action
        .timestamp_column()
        .map(|col| format!(", {col} = $1"))
        .unwrap_or_default();
    let sql = format!(
        "UPDATE orders SET status = $2, updated_at = $1{stamp}, \
         status_reason = COALESCE($3, status_reason) WHERE id = $4 AND status = $5"
    );
    let updated = conn
        .execute_raw(Statement::from_sql_and_values(
            backend,
            &sql,
            [
                now.into(),
                action.to().as_str().into(),
                note.map(str::to_owned).into(),
                order_id.into(),
                from.as_str().into(),
            ],
        ))
        .await?;
    if updated.rows_affected() == 0 {
        // Someone else moved it between our read and our write.
        return Err(refused());
    }
    record_event(
        conn,
        order_id,
        Some(from),
        action.to(),
        actor_id,
        action,
        note,
        now,
    )
    .await?;
    Ok(before)
}

#[expect(
    clippy::too_many_arguments,
    reason = "one row of history, field by field"
)]
pub(crate) async fn record_event<C: ConnectionTrait>(
    conn: &C,
    order_id: &str,
    from: Option<OrderStatus>,
    to: OrderStatus,
    actor_id: Option<&str>,
    action: Action,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    let mut row = event_row(order_id, from, action, actor_id, note, now);
    row.to_status = Set(to.as_str().to_owned());
    order_event::Entity::insert(row)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// One row of an order's history: the move `action` makes from `from`.
pub(crate) fn event_row(
    order_id: &str,
    from: Option<OrderStatus>,
    action: Action,
    actor_id: Option<&str>,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> order_event::ActiveModel {
    order_event::ActiveModel {
        id: Set(new_id()),
        order_id: Set(order_id.to_owned()),
        from_status: Set(from.map(|s| s.as_str().to_owned())),
        to_status: Set(action.to().as_str().to_owned()),
        actor_id: Set(actor_id.map(str::to_owned)),
        actor_role: Set(action.actor().as_str().to_owned()),
        note: Set(note.map(str::to_owned)),
        created_at: Set(now),
    }
}

pub async fn items_of<C: ConnectionTrait>(
    conn: &C,
    order_id: &str,
) -> Result<Vec<order_item::Model>, sea_orm::DbErr> {
    order_item::Entity::find()
        .filter(order_item::Column::OrderId.eq(order_id))
        .order_by_asc(order_item::Column::ListingId)
        .all(conn)
        .await
}

/// Returns an order's units to its listings (in listing-id order) and its rationed quantities
/// to the buyer. Called once per order: only after a transition that leaves a stock-holding
/// status, which itself can happen only once.
pub async fn release_stock<C: ConnectionTrait>(
    conn: &C,
    order: &order::Model,
    note: &str,
    actor_id: Option<&str>,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let items = items_of(conn, &order.id).await?;
    let releases: Vec<StockChange<'_>> = items
        .iter()
        .map(|item| StockChange {
            listing_id: &item.listing_id,
            kind: MovementKind::Release,
            quantity_delta: item.quantity,
            units: item.quantity,
            reference: Some(("order", &order.id)),
            note: Some(note),
            actor_id,
        })
        .collect();
    stock::apply_many(conn, &releases, now).await?;
    let rations: Vec<(String, i64)> = items
        .iter()
        .filter_map(|i| i.commodity_id.clone().map(|c| (c, i.quantity)))
        .collect();
    release_rations(conn, &order.buyer_id, order.created_at, &rations).await?;
    Ok(())
}

/// Records that a paid order's money is owed back to the buyer: the refund row, the ledger
/// posting (buyer funds held → refunds payable), and the order's amount (less any shortfall
/// refunded at acceptance) taken off the merchant's
/// month-to-date turnover and the ASN's spend for the month of the payment. `announce` sends the
/// refund mail; a rejection's own mail already states the refund.
pub async fn refund_paid_order<C: ConnectionTrait>(
    conn: &C,
    order: &order::Model,
    reason: &str,
    announce: bool,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    // A shortfall refunded at acceptance is not refunded again.
    let amount = Rupiah::new(order.supplied_amount());
    // A government buyer paid its bill net of the tax it withheld: it gets back what it paid,
    // and the withholding is reversed.
    let withheld = crate::opd::withholding::amount_of(conn, &order.id).await?;
    let cash = amount
        .checked_sub(withheld)
        .filter(|c| c.is_positive())
        .unwrap_or(amount);
    let withheld = amount.checked_sub(cash).unwrap_or(Rupiah::ZERO);
    if withheld.is_positive() {
        peken_ledger::post_withholding_reversed(conn, &order.id, &order.merchant_id, withheld, now)
            .await
            .map_err(ledger_error)?;
    }
    refund::Entity::insert(refund::ActiveModel {
        id: Set(new_id()),
        payment_id: Set(order.payment_id.clone()),
        order_id: Set(Some(order.id.clone())),
        buyer_id: Set(order.buyer_id.clone()),
        amount: Set(cash.get()),
        reason: Set(reason.to_owned()),
        kind: Set("order".to_owned()),
        status: Set("due".to_owned()),
        created_at: Set(now),
    })
    .exec_without_returning(conn)
    .await?;
    peken_ledger::post_refund(
        conn,
        &format!("order:{}:refunded", order.id),
        Some(&order.id),
        Some(&order.merchant_id),
        cash,
        now,
    )
    .await
    .map_err(ledger_error)?;
    let period = order
        .paid_period
        .as_deref()
        .and_then(|p| Period::parse(p).ok())
        .unwrap_or_else(|| Period::of(now));
    let negated = amount.checked_neg().unwrap_or(Rupiah::ZERO);
    peken_merchant::service::add_turnover(conn, &order.merchant_id, period, negated, -1).await?;
    if order.buyer_role == "asn" {
        add_spend(conn, &order.buyer_id, period, negated).await?;
    }
    if announce {
        notify::tell_buyer(
            conn,
            order,
            BuyerEvent::Refunded {
                amount: cash,
                reason,
            },
            now,
        )
        .await?;
    }
    Ok(())
}

/// The merchant is now owed the order's money (for the goods supplied): buyer funds held →
/// merchant payable, less the platform fee and tax withheld at the rates in force.
pub async fn complete_order<C: ConnectionTrait>(
    state: &AppState,
    conn: &C,
    order: &order::Model,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let policies = state.policies.get(conn).await?;
    // The shop is paid for what it supplied: the total less the shortfall refunded at
    // acceptance.
    let gross = Rupiah::new(order.supplied_amount());
    let (_net, fee, tax) =
        peken_ledger::split_completed(gross, policies.platform_fee_bps, policies.tax_bps())
            .map_err(ledger_error)?;
    // What a government buyer withheld from the bill is the shop's tax too.
    let tax = tax
        .checked_add(crate::opd::withholding::amount_of(conn, &order.id).await?)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("tax overflow")))?;
    peken_ledger::post_order_completed(conn, &order.id, &order.merchant_id, gross, fee, tax, now)
        .await
        .map_err(ledger_error)?;
    notify::tell_buyer(conn, order, BuyerEvent::Completed, now).await?;
    Ok(())
}

/// Adds to (or, negative, takes from) an ASN's spend for a WIB month.
pub async fn add_spend<C: ConnectionTrait>(
    conn: &C,
    user_id: &str,
    period: Period,
    amount: Rupiah,
) -> Result<(), sea_orm::DbErr> {
    let backend = conn.get_database_backend();
    conn.execute_raw(Statement::from_sql_and_values(
        backend,
        spend_upsert("($1, $2, $3)"),
        [
            user_id.into(),
            period.to_string().into(),
            amount.get().into(),
        ],
    ))
    .await?;
    Ok(())
}

/// The spend upsert of `values` rows of (ASN, month, amount): each added to the month's spend.
fn spend_upsert(values: &str) -> String {
    format!(
        "INSERT INTO asn_monthly_spend (user_id, period, spent_amount) VALUES {values} \
         ON CONFLICT (user_id, period) DO UPDATE \
         SET spent_amount = asn_monthly_spend.spent_amount + excluded.spent_amount"
    )
}

/// [`add_spend`] for several (ASN, month, amount) rows, distinct and in that order, as the part
/// `name` of a PostgreSQL [`peken_kernel::sql::Chain`]; it returns each user id it touched.
pub(crate) fn add_spends_chained(
    chain: &mut peken_kernel::sql::Chain,
    name: &str,
    rows: &[(&str, Period, Rupiah)],
) {
    let mut values: Vec<sea_orm::Value> = Vec::with_capacity(rows.len() * 3);
    for (user_id, period, amount) in rows {
        values.extend([
            (*user_id).into(),
            period.to_string().into(),
            amount.get().into(),
        ]);
    }
    chain.with(
        name,
        &format!(
            "{} RETURNING user_id",
            spend_upsert(&peken_kernel::sql::values_rows(rows.len(), 3, 1))
        ),
        values,
    );
}

pub(crate) fn ledger_error(err: peken_ledger::LedgerError) -> ApiError {
    use peken_kernel::error::{is_connection_error, is_transient_conflict};
    match err {
        // A lost database or a transaction the database aborted is no broken invariant: the
        // client gets the retryable 503 every other query would give.
        peken_ledger::LedgerError::Db(db)
            if is_connection_error(&db) || is_transient_conflict(&db) =>
        {
            db.into()
        }
        // Every other ledger failure here is a broken invariant, never the client's fault.
        other => ApiError::internal(anyhow::Error::new(other).context("ledger")),
    }
}
