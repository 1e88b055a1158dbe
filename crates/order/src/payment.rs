//! Money received: provider callbacks, manual transfer proofs verified by treasury, and the
//! expiry of unpaid checkouts. Every notification of money is a receipt keyed by the provider's
//! reference, so a replay can never count twice, and money that arrives for a bill that can no
//! longer be paid (expired, cancelled, already paid) is recorded as owed back, never lost.

use chrono::{DateTime, Utc};
use peken_kernel::auth::Caller;
use peken_kernel::db::new_id;
use peken_kernel::period::Period;
use peken_kernel::{ApiError, ApiResult, AppState, Rupiah};
use peken_merchant::stock::{self, MovementKind, StockChange};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, DbBackend, EntityTrait, FromQueryResult, IdenStatic, Iterable,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, Statement, TransactionTrait,
};

use crate::lifecycle::{add_spend, event_row, ledger_error, release_stock, transition};
use crate::notify;
use crate::status::{Action, OrderStatus};
use crate::store::{order, order_event, order_item, payment, payment_receipt, refund};

/// A notification that money for a payment arrived.
#[derive(Debug, Clone)]
pub struct Notice {
    pub payment_id: String,
    pub provider_reference: String,
    pub amount: Rupiah,
    pub paid_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiptOutcome {
    /// The bill is now paid.
    Applied,
    /// This notification was seen before; nothing changed.
    Replayed,
    /// Money arrived for a bill that can no longer take it; it is recorded as owed back.
    RefundDue,
    /// The bank statement had recorded this money already; the notification confirms it and
    /// counts nothing again.
    Confirmed,
}

/// Records a provider's notification in its own transaction.
pub async fn receive(state: &AppState, notice: &Notice) -> ApiResult<ReceiptOutcome> {
    let outcome = receive_on(&state.db, notice, state.now()).await?;
    let label = match outcome {
        ReceiptOutcome::Applied => "applied",
        ReceiptOutcome::Replayed => "replayed",
        ReceiptOutcome::RefundDue => "refund_due",
        ReceiptOutcome::Confirmed => "confirmed",
    };
    state.metrics.event("payment_receipt", label);
    Ok(outcome)
}

/// Records a provider's notification at `now` in its own transaction on a database (what
/// `receive` does, without the server's state).
pub async fn receive_on(
    db: &DatabaseConnection,
    notice: &Notice,
    now: DateTime<Utc>,
) -> ApiResult<ReceiptOutcome> {
    let txn = db.begin().await?;
    let outcome = receive_in(now, &txn, notice, "callback").await?;
    if outcome == ReceiptOutcome::Replayed {
        txn.rollback().await?;
    } else {
        txn.commit().await?;
    }
    Ok(outcome)
}

async fn receive_in(
    now: DateTime<Utc>,
    txn: &DatabaseTransaction,
    notice: &Notice,
    source: &str,
) -> ApiResult<ReceiptOutcome> {
    // The common case first: a pending bill of this amount takes the money in one conditional
    // update (the expiry worker races it with the same condition, so exactly one of them wins),
    // and the receipt follows; a reference seen before undoes it all (the caller rolls back).
    if txn.get_database_backend() == DbBackend::Postgres {
        if let Some(outcome) = take_on_postgres(txn, notice, source, now).await? {
            return Ok(outcome);
        }
    } else if let Some(outcome) = take(txn, notice, source, now).await? {
        return Ok(outcome);
    }
    let bill = payment::Entity::find_by_id(notice.payment_id.clone())
        .one(txn)
        .await?
        .ok_or_else(|| ApiError::not_found("payment"))?;
    if notice.amount.get() != bill.amount {
        return Err(ApiError::unprocessable(
            "amount_mismatch",
            "the amount paid differs from the bill; nothing was recorded",
        )
        .with_context(serde_json::json!({"expected": bill.amount, "received": notice.amount})));
    }
    if source == "callback" {
        // Money the bank statement recorded first: this callback is its confirmation, once.
        if crate::credit::callback_seen(txn, &notice.provider_reference).await? {
            return earlier_receipt(txn, &bill, notice).await;
        }
        if crate::credit::pair_callback(txn, &bill.id, notice).await? {
            return Ok(ReceiptOutcome::Confirmed);
        }
    }
    let Some(receipt_id) = record_receipt(txn, &bill, notice, source, now).await? else {
        return earlier_receipt(txn, &bill, notice).await;
    };
    // Expired, cancelled or already paid by another transfer: the money is owed back.
    payment_receipt::Entity::update_many()
        .col_expr(payment_receipt::Column::Outcome, "refund_due".into())
        .filter(payment_receipt::Column::Id.eq(receipt_id.clone()))
        .exec(txn)
        .await?;
    let key = format!("{}:receipt:{receipt_id}", bill.id);
    peken_ledger::post_payment_confirmed(txn, &key, notice.amount, now)
        .await
        .map_err(ledger_error)?;
    owe_back(
        txn,
        &bill,
        None,
        notice.amount,
        &format!("receipt:{receipt_id}"),
        "payment arrived for a bill that was no longer payable",
        now,
    )
    .await?;
    tracing::warn!(payment_id = %bill.id, status = %bill.status, "money received for an unpayable bill; refund recorded");
    Ok(ReceiptOutcome::RefundDue)
}

/// The conditional update by which a bill pending at the notice's amount takes the money.
fn taken(notice: &Notice, now: DateTime<Utc>) -> sea_orm::UpdateMany<payment::Entity> {
    payment::Entity::update_many()
        .col_expr(payment::Column::Status, "paid".into())
        .col_expr(
            payment::Column::ProviderReference,
            Some(notice.provider_reference.clone()).into(),
        )
        .col_expr(payment::Column::PaidAt, Some(notice.paid_at).into())
        .col_expr(payment::Column::ConfirmedAt, Some(now).into())
        .col_expr(payment::Column::UpdatedAt, now.into())
        .filter(payment::Column::Id.eq(notice.payment_id.clone()))
        .filter(payment::Column::Status.eq("pending"))
        .filter(payment::Column::Amount.eq(notice.amount.get()))
}

/// A pending bill of this amount takes the money: the bill, then its receipt, then its orders.
/// `None` when the bill is not pending at this amount.
async fn take(
    txn: &DatabaseTransaction,
    notice: &Notice,
    source: &str,
    now: DateTime<Utc>,
) -> ApiResult<Option<ReceiptOutcome>> {
    let Some(bill) = taken(notice, now)
        .exec_with_returning(txn)
        .await?
        .into_iter()
        .next()
    else {
        return Ok(None);
    };
    if record_receipt(txn, &bill, notice, source, now)
        .await?
        .is_none()
    {
        return earlier_receipt(txn, &bill, notice).await.map(Some);
    }
    apply_payment(txn, &bill, notice.paid_at, now).await?;
    Ok(Some(ReceiptOutcome::Applied))
}

/// `take` on PostgreSQL: the bill and its receipt in one statement (which also counts the
/// bill's orders), then the orders paid, their events and their lines in a second; the effects
/// follow as for any payment (`apply_paid`).
async fn take_on_postgres(
    txn: &DatabaseTransaction,
    notice: &Notice,
    source: &str,
    now: DateTime<Utc>,
) -> ApiResult<Option<ReceiptOutcome>> {
    let pg = DbBackend::Postgres;
    let mut bill = taken(notice, now).build(pg);
    bill.sql.push_str(" RETURNING *");
    let mut receipt = peken_kernel::sql::insert_only_if(
        payment_receipt::Entity::insert(receipt_row(
            &new_id(),
            &notice.payment_id,
            notice,
            source,
            now,
        ))
        .build(pg),
        "EXISTS (SELECT 1 FROM p)",
    );
    receipt
        .sql
        .push_str(" ON CONFLICT (provider_reference) DO NOTHING RETURNING id");
    let mut chain = peken_kernel::sql::Chain::new();
    chain.with_statement("p", bill).with_statement("r", receipt);
    let Some(row) = txn
        .query_one_raw(chain.finish(
            "SELECT p.*, (SELECT COUNT(*) FROM r) AS receipts, \
             (SELECT COUNT(*) FROM orders WHERE payment_id = p.id) AS orders FROM p",
            Vec::new(),
        ))
        .await?
    else {
        return Ok(None);
    };
    let bill = payment::Model::from_query_result(&row, "")?;
    if row.try_get::<i64>("", "receipts")? == 0 {
        return earlier_receipt(txn, &bill, notice).await.map(Some);
    }
    let orders = usize::try_from(row.try_get::<i64>("", "orders")?).unwrap_or(0);
    let bills = [(bill, notice.paid_at)];
    let bill_of = periods_of(&bills, now);
    let period = bill_of
        .get(notice.payment_id.as_str())
        .map(|(_, period)| *period)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("the bill's period")))?;
    let (paid, items) =
        pay_orders_on_postgres(txn, &notice.payment_id, period, orders, now).await?;
    apply_paid(txn, &bills, &bill_of, &paid, items, now).await?;
    Ok(Some(ReceiptOutcome::Applied))
}

/// The bill's waiting orders paid, an event each, and their lines, in one statement on
/// PostgreSQL (`orders`: how many orders the bill has, for the events' ids). Returns the orders
/// paid, sorted by id, and their lines.
async fn pay_orders_on_postgres(
    txn: &DatabaseTransaction,
    payment_id: &str,
    period: Period,
    orders: usize,
    now: DateTime<Utc>,
) -> ApiResult<(Vec<order::Model>, Vec<order_item::Model>)> {
    let mut update = order::Entity::update_many()
        .col_expr(order::Column::Status, OrderStatus::Paid.as_str().into())
        .col_expr(order::Column::PaidAt, Some(now).into())
        .col_expr(order::Column::PaidPeriod, Some(period.to_string()).into())
        .col_expr(order::Column::UpdatedAt, now.into())
        .filter(order::Column::PaymentId.eq(payment_id))
        .filter(order::Column::Status.eq(OrderStatus::AwaitingPayment.as_str()))
        .build(DbBackend::Postgres);
    update.sql.push_str(" RETURNING *");
    let mut chain = peken_kernel::sql::Chain::new();
    chain.with_statement("o", update);
    // The events: one id per order, joined to the orders paid by their rank.
    let ranks: Vec<String> = (1..=orders.max(1))
        .map(|n| format!("(${n}, {n})"))
        .collect();
    chain.with(
        "ids",
        &format!("SELECT * FROM (VALUES {}) AS ids (id, n)", ranks.join(", ")),
        (0..orders.max(1)).map(|_| new_id().into()).collect(),
    );
    let action = Action::ConfirmPayment;
    chain.with(
        "e",
        "INSERT INTO order_events (id, order_id, from_status, to_status, actor_id, actor_role, \
         note, created_at) SELECT ids.id, x.id, $1, $2, NULL, $3, NULL, $4 \
         FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM o) AS x \
         JOIN ids ON ids.n = x.n",
        vec![
            OrderStatus::AwaitingPayment.as_str().into(),
            action.to().as_str().into(),
            action.actor().as_str().into(),
            now.into(),
        ],
    );
    let columns = |alias: &str, names: Vec<&'static str>| {
        names
            .iter()
            .map(|c| format!("{alias}.\"{c}\" AS \"{alias}_{c}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let order_columns: Vec<&'static str> = order::Column::iter().map(|c| c.as_str()).collect();
    let item_columns: Vec<&'static str> = order_item::Column::iter().map(|c| c.as_str()).collect();
    let rows = txn
        .query_all_raw(chain.finish(
            &format!(
                "SELECT {}, {} FROM o LEFT JOIN order_items i ON i.order_id = o.id \
                 ORDER BY o.id, i.id",
                columns("o", order_columns),
                columns("i", item_columns)
            ),
            Vec::new(),
        ))
        .await?;
    let mut paid: Vec<order::Model> = Vec::new();
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        let order = order::Model::from_query_result(row, "o_")?;
        if paid.last().is_none_or(|o| o.id != order.id) {
            paid.push(order);
        }
        if row.try_get::<Option<String>>("", "i_id")?.is_some() {
            items.push(order_item::Model::from_query_result(row, "i_")?);
        }
    }
    Ok((paid, items))
}

/// Stores the receipt of a notification, keyed by the provider's reference; `None` when that
/// reference was recorded before.
async fn record_receipt(
    txn: &DatabaseTransaction,
    bill: &payment::Model,
    notice: &Notice,
    source: &str,
    now: DateTime<Utc>,
) -> ApiResult<Option<String>> {
    let receipt_id = new_id();
    let inserted =
        payment_receipt::Entity::insert(receipt_row(&receipt_id, &bill.id, notice, source, now))
            .on_conflict_do_nothing_on([payment_receipt::Column::ProviderReference])
            .exec_without_returning(txn)
            .await?;
    // `ON CONFLICT DO NOTHING` reports a conflict as zero rows inserted.
    Ok(match inserted {
        sea_orm::TryInsertResult::Conflicted | sea_orm::TryInsertResult::Inserted(0) => None,
        _ => Some(receipt_id),
    })
}

/// The receipt `id` of a notification for the bill `payment_id`, applied unless found
/// otherwise.
fn receipt_row(
    id: &str,
    payment_id: &str,
    notice: &Notice,
    source: &str,
    now: DateTime<Utc>,
) -> payment_receipt::ActiveModel {
    payment_receipt::ActiveModel {
        id: Set(id.to_owned()),
        payment_id: Set(payment_id.to_owned()),
        provider_reference: Set(notice.provider_reference.clone()),
        amount: Set(notice.amount.get()),
        paid_at: Set(notice.paid_at),
        outcome: Set("applied".to_owned()),
        created_at: Set(now),
        source: Set(source.to_owned()),
        statement_line_id: Set(None),
        callback_reference: Set(None),
    }
}

/// A notification whose reference was recorded before: a replay of the same payment's, or a
/// reference reused for another payment.
async fn earlier_receipt(
    txn: &DatabaseTransaction,
    bill: &payment::Model,
    notice: &Notice,
) -> ApiResult<ReceiptOutcome> {
    let earlier = payment_receipt::Entity::find()
        .filter(
            Condition::any()
                .add(
                    payment_receipt::Column::ProviderReference
                        .eq(notice.provider_reference.clone()),
                )
                .add(
                    payment_receipt::Column::CallbackReference
                        .eq(notice.provider_reference.clone()),
                ),
        )
        .one(txn)
        .await?;
    if earlier.is_some_and(|r| r.payment_id != bill.id) {
        return Err(ApiError::conflict(
            "reference_conflict",
            "this provider reference was already used for another payment",
        ));
    }
    Ok(ReceiptOutcome::Replayed)
}

/// Records money owed back to the buyer that belongs to no order (a late or duplicate payment,
/// or the part of a bill whose orders were cancelled before it was paid).
pub(crate) async fn owe_back<C: ConnectionTrait>(
    conn: &C,
    bill: &payment::Model,
    order_id: Option<&str>,
    amount: Rupiah,
    key: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    refund::Entity::insert(refund::ActiveModel {
        id: Set(new_id()),
        payment_id: Set(bill.id.clone()),
        order_id: Set(order_id.map(str::to_owned)),
        buyer_id: Set(bill.buyer_id.clone()),
        amount: Set(amount.get()),
        reason: Set(reason.to_owned()),
        kind: Set("order".to_owned()),
        status: Set("due".to_owned()),
        created_at: Set(now),
    })
    .exec_without_returning(conn)
    .await?;
    peken_ledger::post_refund(
        conn,
        &format!("{key}:refunded"),
        order_id,
        None,
        amount,
        now,
    )
    .await
    .map_err(ledger_error)?;
    Ok(())
}

/// The bill is paid: its waiting orders become paid, their reserved units become sales, the
/// money enters the ledger, the merchants' month-to-date turnover and the ASN's spend grow, the
/// month's buyers are counted (`buyer_months`), and buyer and shops are told. Each step is one
/// statement for all of the bill's orders.
pub(crate) async fn apply_payment<C: ConnectionTrait>(
    conn: &C,
    bill: &payment::Model,
    paid_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    apply_payments(conn, &[(bill.clone(), paid_at)], now).await
}

/// Many bills paid at once (a bank statement's credits), each with the effects of
/// `apply_payment`; each step is one statement (per chunk, and per month paid in) for all of
/// their orders.
pub(crate) async fn apply_payments<C: ConnectionTrait>(
    conn: &C,
    bills: &[(payment::Model, DateTime<Utc>)],
    now: DateTime<Utc>,
) -> ApiResult<()> {
    const CHUNK: usize = 500;
    if bills.is_empty() {
        return Ok(());
    }
    let bill_of = periods_of(bills, now);
    let mut by_period: std::collections::BTreeMap<Period, Vec<String>> =
        std::collections::BTreeMap::new();
    for (bill, _) in bills {
        if let Some((_, period)) = bill_of.get(bill.id.as_str()) {
            by_period.entry(*period).or_default().push(bill.id.clone());
        }
    }
    // Orders the buyer cancelled meanwhile keep their status: the conditional update is the
    // transition, and its rows are the orders it moved.
    let mut paid: Vec<order::Model> = Vec::new();
    for (period, ids) in &by_period {
        for chunk in ids.chunks(CHUNK) {
            paid.extend(
                order::Entity::update_many()
                    .col_expr(order::Column::Status, OrderStatus::Paid.as_str().into())
                    .col_expr(order::Column::PaidAt, Some(now).into())
                    .col_expr(order::Column::PaidPeriod, Some(period.to_string()).into())
                    .col_expr(order::Column::UpdatedAt, now.into())
                    .filter(order::Column::PaymentId.is_in(chunk.to_vec()))
                    .filter(order::Column::Status.eq(OrderStatus::AwaitingPayment.as_str()))
                    .exec_with_returning(conn)
                    .await?,
            );
        }
    }
    paid.sort_by(|a, b| a.id.cmp(&b.id));
    let mut items = Vec::new();
    if !paid.is_empty() {
        for chunk in paid.chunks(CHUNK) {
            let events: Vec<_> = chunk
                .iter()
                .map(|o| {
                    event_row(
                        &o.id,
                        Some(OrderStatus::AwaitingPayment),
                        Action::ConfirmPayment,
                        None,
                        None,
                        now,
                    )
                })
                .collect();
            order_event::Entity::insert_many(events)
                .exec_without_returning(conn)
                .await?;
        }
        for chunk in paid.chunks(CHUNK) {
            let ids: Vec<String> = chunk.iter().map(|o| o.id.clone()).collect();
            items.extend(
                order_item::Entity::find()
                    .filter(order_item::Column::OrderId.is_in(ids))
                    .all(conn)
                    .await?,
            );
        }
    }
    apply_paid(conn, bills, &bill_of, &paid, items, now).await
}

/// The month each bill's money counts for: the month the buyer paid (the provider's signed
/// time, the verified transfer time, or the bank's value date), held between the checkout and
/// now, so that a notification that arrives after midnight still counts a 23:59 payment for its
/// month.
fn periods_of(
    bills: &[(payment::Model, DateTime<Utc>)],
    now: DateTime<Utc>,
) -> std::collections::HashMap<&str, (&payment::Model, Period)> {
    bills
        .iter()
        .map(|(bill, paid_at)| {
            let period = Period::of((*paid_at).max(bill.created_at).min(now));
            (bill.id.as_str(), (bill, period))
        })
        .collect()
}

/// The most orders and sale lines of a payment whose effects are one statement on PostgreSQL
/// (bigger batches, from a bank statement's credits, take a statement per step).
const CHAINED_ORDERS: usize = 200;

/// What paid orders add to the month's figures: each shop's turnover by month, each ASN's
/// spend, and the buyers of the month.
struct Effects<'a> {
    turnovers: &'a std::collections::BTreeMap<Period, Vec<(&'a str, Rupiah, i64)>>,
    spends: &'a [(&'a str, Period, Rupiah)],
    buyers: &'a [crate::programme::BuyerPaid<'a>],
}

/// The effects of paid orders on PostgreSQL in one statement: the sales' stock movements, the
/// turnover, the spend and the month's buyers, in that order (the order of the separate
/// statements on SQLite, so concurrent payments lock rows in the same order), with the shops and
/// people the messages name; then the messages.
async fn effects_on_postgres<C: ConnectionTrait>(
    conn: &C,
    sales: &[StockChange<'_>],
    effects: &Effects<'_>,
    paid: &[order::Model],
    items: &[order_item::Model],
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let mut chain = peken_kernel::sql::Chain::new();
    let stock_part = stock::apply_many_chained(&mut chain, "c_stock", sales, now)?;
    // An UNION ALL reads its branches in turn, each to its end: the parts run in this order.
    let mut reads = vec![format!(
        "SELECT 0 AS k, id AS a, CAST(NULL AS TEXT) AS b, CAST(NULL AS TEXT) AS c, stock AS n \
         FROM {stock_part}"
    )];
    for (i, (period, rows)) in effects.turnovers.iter().enumerate() {
        let name = format!("c_turnover_{i}");
        peken_merchant::service::add_turnovers_chained(&mut chain, &name, *period, rows);
        reads.push(format!("SELECT 1, merchant_id, NULL, NULL, 0 FROM {name}"));
    }
    if !effects.spends.is_empty() {
        crate::lifecycle::add_spends_chained(&mut chain, "c_spend", effects.spends);
        reads.push("SELECT 2, user_id, NULL, NULL, 0 FROM c_spend".to_owned());
    }
    if !effects.buyers.is_empty() {
        crate::programme::record_buyers_chained(&mut chain, "c_buyers", effects.buyers);
        reads.push("SELECT 3, buyer_id, NULL, NULL, 0 FROM c_buyers".to_owned());
    }
    let mut shop_ids: Vec<&str> = paid.iter().map(|o| o.merchant_id.as_str()).collect();
    shop_ids.sort_unstable();
    shop_ids.dedup();
    let mut buyer_ids: Vec<&str> = paid.iter().map(|o| o.buyer_id.as_str()).collect();
    buyer_ids.sort_unstable();
    buyer_ids.dedup();
    peken_merchant::service::shops_chained(&mut chain, "c_shops", &shop_ids);
    peken_identity::people::contacts_chained(
        &mut chain,
        "c_people",
        &buyer_ids,
        ("c_shops", "owner_user_id"),
    );
    reads.push("SELECT 4, id, name, owner_user_id, 0 FROM c_shops".to_owned());
    reads.push("SELECT 5, id, name, email, 0 FROM c_people".to_owned());
    let rows = conn
        .query_all_raw(chain.finish(&reads.join(" UNION ALL "), Vec::new()))
        .await?;
    let mut after = std::collections::HashMap::new();
    let mut shops = std::collections::HashMap::new();
    let mut contacts = std::collections::HashMap::new();
    for row in rows {
        let kind: i32 = row.try_get_by_index(0)?;
        let id: String = row.try_get_by_index(1)?;
        match kind {
            0 => {
                after.insert(id, row.try_get_by_index::<i64>(4)?);
            }
            4 => {
                shops.insert(id, (row.try_get_by_index(2)?, row.try_get_by_index(3)?));
            }
            5 => {
                contacts.insert(id, (row.try_get_by_index(2)?, row.try_get_by_index(3)?));
            }
            _ => {}
        }
    }
    stock::check_applied(conn, &after, sales).await?;
    let mails = notify::orders_paid_mails(paid, items, &shops, &contacts);
    peken_mail::enqueue_many(conn, mails, now).await?;
    Ok(())
}

/// What follows once the bills' waiting orders are paid (`paid`, sorted by id, with their
/// `items`): the sales, the turnover, the spend, the month's buyers, the messages, the ledger,
/// and money owed back for orders cancelled before the payment.
async fn apply_paid<C: ConnectionTrait>(
    conn: &C,
    bills: &[(payment::Model, DateTime<Utc>)],
    bill_of: &std::collections::HashMap<&str, (&payment::Model, Period)>,
    paid: &[order::Model],
    mut items: Vec<order_item::Model>,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let mut applied: std::collections::HashMap<&str, Rupiah> = std::collections::HashMap::new();
    // Government bills are paid net of the tax withheld from their orders.
    let withheld = if paid.iter().any(|o| o.buyer_role == "opd_staff") {
        let ids: Vec<String> = bills.iter().map(|(b, _)| b.id.clone()).collect();
        crate::opd::withholding::of_payments(conn, &ids).await?
    } else {
        std::collections::HashMap::new()
    };
    let mut withheld_by_bill: std::collections::BTreeMap<String, Rupiah> =
        std::collections::BTreeMap::new();
    if !paid.is_empty() {
        items.sort_by(|a, b| {
            a.listing_id
                .cmp(&b.listing_id)
                .then_with(|| a.order_id.cmp(&b.order_id))
        });
        let sales: Vec<StockChange<'_>> = items
            .iter()
            .map(|item| StockChange {
                listing_id: &item.listing_id,
                kind: MovementKind::Sale,
                quantity_delta: 0,
                units: item.quantity,
                reference: Some(("order", &item.order_id)),
                note: Some("paid"),
                actor_id: None,
            })
            .collect();
        // `apply_many` takes each listing once: the k-th order of a listing goes in round k.
        let mut rounds: Vec<Vec<StockChange<'_>>> = Vec::new();
        let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for sale in sales {
            let round = seen.entry(sale.listing_id).or_insert(0);
            if rounds.len() <= *round {
                rounds.push(Vec::new());
            }
            rounds[*round].push(sale);
            *round += 1;
        }
        // One row per shop and month: the turnover upsert may touch a row once a statement.
        let mut by_shop: std::collections::BTreeMap<(Period, &str), (Rupiah, i64)> =
            std::collections::BTreeMap::new();
        let mut spent: std::collections::BTreeMap<(&str, Period), Rupiah> =
            std::collections::BTreeMap::new();
        for order in paid {
            let Some((bill, period)) = bill_of.get(order.payment_id.as_str()).copied() else {
                continue;
            };
            let total = Rupiah::new(order.total_amount);
            let tax = withheld.get(&order.id).copied().unwrap_or(Rupiah::ZERO);
            let sum = applied.entry(bill.id.as_str()).or_insert(Rupiah::ZERO);
            *sum = sum
                .checked_add(total.checked_sub(tax).ok_or_else(overflow)?)
                .ok_or_else(overflow)?;
            if tax.is_positive() {
                let w = withheld_by_bill
                    .entry(bill.id.clone())
                    .or_insert(Rupiah::ZERO);
                *w = w.checked_add(tax).ok_or_else(overflow)?;
            }
            let shop = by_shop
                .entry((period, order.merchant_id.as_str()))
                .or_insert((Rupiah::ZERO, 0));
            shop.0 = shop.0.checked_add(total).ok_or_else(overflow)?;
            shop.1 += 1;
            if order.buyer_role == "asn" {
                let s = spent
                    .entry((bill.buyer_id.as_str(), period))
                    .or_insert(Rupiah::ZERO);
                *s = s.checked_add(total).ok_or_else(overflow)?;
            }
        }
        let mut turnovers: std::collections::BTreeMap<Period, Vec<(&str, Rupiah, i64)>> =
            std::collections::BTreeMap::new();
        for ((period, shop), (total, orders)) in by_shop {
            turnovers
                .entry(period)
                .or_default()
                .push((shop, total, orders));
        }
        let spends: Vec<(&str, Period, Rupiah)> = spent
            .into_iter()
            .filter(|(_, amount)| amount.is_positive())
            .map(|((buyer, period), amount)| (buyer, period, amount))
            .collect();
        let buyers: Vec<crate::programme::BuyerPaid<'_>> = paid
            .iter()
            .filter_map(|order| {
                let (_, period) = bill_of.get(order.payment_id.as_str())?;
                Some(crate::programme::BuyerPaid {
                    period: period.to_string(),
                    buyer_id: &order.buyer_id,
                    merchant_id: &order.merchant_id,
                    role: &order.buyer_role,
                })
            })
            .collect();
        let effects = Effects {
            turnovers: &turnovers,
            spends: &spends,
            buyers: &buyers,
        };
        match rounds.as_slice() {
            [sales]
                if conn.get_database_backend() == DbBackend::Postgres
                    && paid.len() <= CHAINED_ORDERS
                    && sales.len() <= CHAINED_ORDERS =>
            {
                effects_on_postgres(conn, sales, &effects, paid, &items, now).await?;
            }
            _ => {
                for round in &rounds {
                    stock::apply_many(conn, round, now).await?;
                }
                for (period, rows) in effects.turnovers {
                    peken_merchant::service::add_turnovers(conn, *period, rows).await?;
                }
                for (buyer, period, amount) in effects.spends {
                    add_spend(conn, buyer, *period, *amount).await?;
                }
                crate::programme::record_buyers(conn, effects.buyers).await?;
                notify::orders_paid(conn, paid, &items, now).await?;
            }
        }
    }
    // Posted last: the ledger's city-wide accounts are striped, but the work above must still
    // not happen while their rows are held.
    if let [(bill, _)] = bills {
        peken_ledger::post_payment_confirmed(conn, &bill.id, Rupiah::new(bill.amount), now)
            .await
            .map_err(ledger_error)?;
    } else {
        let txns = bills
            .iter()
            .map(|(bill, _)| peken_ledger::NewTransaction {
                key: format!("payment:{}:confirmed", bill.id),
                kind: peken_ledger::TxnKind::PaymentConfirmed,
                occurred_at: now,
                memo: None,
                entries: vec![
                    (peken_ledger::Account::Collection, bill.amount),
                    (peken_ledger::Account::BuyerFundsHeld, -bill.amount),
                ],
                refs: peken_ledger::Refs {
                    payment_id: Some(bill.id.clone()),
                    amount: bill.amount,
                    ..peken_ledger::Refs::default()
                },
            })
            .collect();
        peken_ledger::post_many(conn, txns)
            .await
            .map_err(ledger_error)?;
    }
    for (payment_id, amount) in &withheld_by_bill {
        peken_ledger::post_withholding(conn, payment_id, *amount, now)
            .await
            .map_err(ledger_error)?;
    }
    // Orders the buyer cancelled before paying leave part of a bill without goods.
    for (bill, _) in bills {
        let amount = Rupiah::new(bill.amount);
        let remainder = amount
            .checked_sub(
                applied
                    .get(bill.id.as_str())
                    .copied()
                    .unwrap_or(Rupiah::ZERO),
            )
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("remainder overflow")))?;
        if remainder.is_positive() {
            owe_back(
                conn,
                bill,
                None,
                remainder,
                &format!("payment:{}:remainder", bill.id),
                "orders cancelled before payment",
                now,
            )
            .await?;
        }
    }
    Ok(())
}

fn overflow() -> ApiError {
    ApiError::internal(anyhow::anyhow!("total overflow"))
}

/// Proof states in which the bill waits for treasury.
pub(crate) const PROOF_WAITING: [&str; 2] = ["submitted", "approval_proposed"];

/// A buyer's manual proof of a bank transfer, for treasury to verify. Taken only while the bill
/// is open and before it expires; while it waits, the bill does not expire at its own time but
/// `PEKEN_PAYMENT_PROOF_WAIT_SECONDS` after the proof, so a transfer treasury has not yet seen
/// does not cancel the order, and a proof nobody acts on does not hold the stock for ever (money
/// that arrives for an expired bill is recorded and owed back).
pub async fn submit_proof(
    state: &AppState,
    caller: &Caller,
    payment_id: &str,
    reference: &str,
    paid_at: DateTime<Utc>,
) -> ApiResult<payment::Model> {
    let now = state.now();
    let bill = payment::Entity::find_by_id(payment_id.to_owned())
        .one(&state.db)
        .await?
        .filter(|p| p.buyer_id == caller.user_id)
        .ok_or_else(|| ApiError::not_found("payment"))?;
    if bill.status != "pending" {
        return Err(ApiError::conflict(
            "payment_not_pending",
            "this payment is no longer open",
        ));
    }
    if bill.expires_at <= now {
        return Err(ApiError::conflict(
            "payment_expired",
            "this payment has expired; a transfer made for it is refunded",
        ));
    }
    let wait_until = now
        + chrono::Duration::from_std(state.settings.payment_proof_wait)
            .map_err(ApiError::internal)?;
    let updated = payment::Entity::update_many()
        .col_expr(payment::Column::ProofStatus, "submitted".into())
        .col_expr(
            payment::Column::ProofReference,
            Some(reference.to_owned()).into(),
        )
        .col_expr(payment::Column::ProofPaidAt, Some(paid_at).into())
        .col_expr(payment::Column::ProofWaitUntil, Some(wait_until).into())
        .col_expr(
            payment::Column::ProofProposedBy,
            Option::<String>::None.into(),
        )
        .col_expr(payment::Column::UpdatedAt, now.into())
        .filter(payment::Column::Id.eq(bill.id.clone()))
        .filter(payment::Column::Status.eq("pending"))
        .filter(payment::Column::ExpiresAt.gt(now))
        .filter(payment::Column::ProofStatus.is_in(["none", "rejected"]))
        .exec(&state.db)
        .await?;
    if updated.rows_affected == 0 {
        return Err(ApiError::conflict(
            "proof_already_submitted",
            "a proof for this payment is already waiting for verification",
        ));
    }
    find(&state.db, payment_id).await
}

/// What a treasury decision on a proof did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofDecision {
    /// The first approval: the bill waits for a second treasury user.
    Proposed,
    /// The second approval: the transfer was recorded.
    Received(ReceiptOutcome),
    Rejected,
}

/// Treasury's decision on a manual proof. A proof is evidence the buyer typed, so marking a
/// bill paid by it takes two treasury users: the first approval proposes, a second user's
/// approval records the transfer like a provider's notification (keyed by the transfer
/// reference, so it cannot count twice); the proposer approving again is 403
/// `four_eyes_required`. Either may reject at any point.
pub async fn verify_proof(
    state: &AppState,
    verifier: &Caller,
    payment_id: &str,
    approve: bool,
) -> ApiResult<(payment::Model, ProofDecision)> {
    let now = state.now();
    let txn = state.db.begin().await?;
    let bill = find(&txn, payment_id).await?;
    let claim = |to: &str| {
        payment::Entity::update_many()
            .col_expr(payment::Column::ProofStatus, to.into())
            .col_expr(payment::Column::UpdatedAt, now.into())
            .filter(payment::Column::Id.eq(bill.id.clone()))
    };
    let decision = if !approve {
        let claimed = claim("rejected")
            .col_expr(
                payment::Column::ProofVerifiedBy,
                Some(verifier.user_id.clone()).into(),
            )
            .filter(payment::Column::ProofStatus.is_in(PROOF_WAITING))
            .exec(&txn)
            .await?;
        if claimed.rows_affected == 0 {
            return Err(no_proof());
        }
        ProofDecision::Rejected
    } else if claim("approval_proposed")
        .col_expr(
            payment::Column::ProofProposedBy,
            Some(verifier.user_id.clone()).into(),
        )
        .filter(payment::Column::ProofStatus.eq("submitted"))
        .exec(&txn)
        .await?
        .rows_affected
        == 1
    {
        ProofDecision::Proposed
    } else {
        let claimed = claim("approved")
            .col_expr(
                payment::Column::ProofVerifiedBy,
                Some(verifier.user_id.clone()).into(),
            )
            .filter(payment::Column::ProofStatus.eq("approval_proposed"))
            .filter(payment::Column::ProofProposedBy.ne(verifier.user_id.clone()))
            .exec(&txn)
            .await?;
        if claimed.rows_affected == 0 {
            let now_seen = find(&txn, payment_id).await?;
            return Err(
                if now_seen.proof_status == "approval_proposed"
                    && now_seen.proof_proposed_by.as_deref() == Some(verifier.user_id.as_str())
                {
                    ApiError::four_eyes()
                } else {
                    no_proof()
                },
            );
        }
        let notice = Notice {
            payment_id: bill.id.clone(),
            provider_reference: format!(
                "manual:{}",
                bill.proof_reference.clone().unwrap_or_default()
            ),
            amount: Rupiah::new(bill.amount),
            paid_at: bill.proof_paid_at.unwrap_or(now),
        };
        let outcome = receive_in(now, &txn, &notice, "manual").await?;
        if outcome == ReceiptOutcome::Replayed {
            return Err(ApiError::conflict(
                "transfer_already_recorded",
                "a transfer with this reference was already recorded",
            ));
        }
        ProofDecision::Received(outcome)
    };
    let after = find(&txn, payment_id).await?;
    peken_audit::record(
        &txn,
        verifier,
        peken_audit::Change::new(
            match decision {
                ProofDecision::Proposed => "payment.proof_approval_proposed",
                ProofDecision::Received(_) => "payment.proof_approved",
                ProofDecision::Rejected => "payment.proof_rejected",
            },
            "payment",
            payment_id,
        )
        .before(serde_json::json!({"status": bill.status, "proof_status": bill.proof_status}))
        .after(serde_json::json!({
            "status": after.status, "proof_status": after.proof_status,
            "amount": bill.amount, "transfer_reference": bill.proof_reference,
        })),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok((find(&state.db, payment_id).await?, decision))
}

fn no_proof() -> ApiError {
    ApiError::conflict(
        "no_proof_to_verify",
        "this payment has no proof waiting for verification",
    )
}

pub async fn find<C: ConnectionTrait>(conn: &C, payment_id: &str) -> ApiResult<payment::Model> {
    payment::Entity::find_by_id(payment_id.to_owned())
        .one(conn)
        .await?
        .ok_or_else(|| ApiError::not_found("payment"))
}

/// Expires unpaid bills past their time, or past their proof wait when a proof waits: their
/// orders are cancelled and their stock returns, once, even with several workers racing.
pub async fn expire_due(state: &AppState, limit: u64) -> ApiResult<usize> {
    let now = state.now();
    let due_condition = || {
        Condition::any()
            .add(
                Condition::all()
                    .add(payment::Column::ProofStatus.is_not_in(PROOF_WAITING))
                    .add(payment::Column::ExpiresAt.lte(now)),
            )
            .add(
                Condition::all()
                    .add(payment::Column::ProofStatus.is_in(PROOF_WAITING))
                    .add(payment::Column::ProofWaitUntil.lte(now)),
            )
    };
    let due: Vec<String> = payment::Entity::find()
        .select_only()
        .column(payment::Column::Id)
        .filter(payment::Column::Status.eq("pending"))
        .filter(due_condition())
        .order_by_asc(payment::Column::ExpiresAt)
        .limit(limit)
        .into_tuple()
        .all(&state.db)
        .await?;
    let mut expired = 0;
    for payment_id in due {
        let txn = state.db.begin().await?;
        let won = payment::Entity::update_many()
            .col_expr(payment::Column::Status, "expired".into())
            .col_expr(payment::Column::UpdatedAt, now.into())
            .filter(payment::Column::Id.eq(payment_id.clone()))
            .filter(payment::Column::Status.eq("pending"))
            .filter(due_condition())
            .exec(&txn)
            .await?;
        if won.rows_affected == 0 {
            // Paid, or expired by another worker, since we looked.
            txn.rollback().await?;
            continue;
        }
        let waiting = order::Entity::find()
            .filter(order::Column::PaymentId.eq(payment_id.clone()))
            .filter(order::Column::Status.eq(OrderStatus::AwaitingPayment.as_str()))
            .order_by_asc(order::Column::Id)
            .all(&txn)
            .await?;
        for waiting_order in waiting {
            let before = transition(
                &txn,
                &waiting_order.id,
                Action::Expire,
                None,
                Some("payment expired"),
                now,
            )
            .await?;
            release_stock(&txn, &before, "payment expired", None, now).await?;
            // An OPD bill that was never paid withheld nothing.
            crate::opd::withholding::void(&txn, &waiting_order.id, &payment_id).await?;
        }
        txn.commit().await?;
        expired += 1;
    }
    if expired > 0 {
        state.metrics.event("payment_expired", "ok");
        tracing::info!(expired, "unpaid checkouts expired");
    }
    Ok(expired)
}

/// When the buyer cancels the last waiting order of an unpaid bill, the bill closes too, so a
/// late transfer for it is recorded as owed back.
pub async fn close_if_empty<C: ConnectionTrait>(
    conn: &C,
    payment_id: &str,
    now: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    let backend = conn.get_database_backend();
    conn.execute_raw(Statement::from_sql_and_values(
        backend,
        "UPDATE payments SET status = 'cancelled', updated_at = $1 \
         WHERE id = $2 AND status = 'pending' AND NOT EXISTS \
         (SELECT 1 FROM orders WHERE payment_id = $2 AND status = 'awaiting_payment')",
        [now.into(), payment_id.into()],
    ))
    .await?;
    Ok(())
}
