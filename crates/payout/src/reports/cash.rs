//! The cash position: per WIB day what came into and went out of the city's collection account,
//! the platform fee recognised, and the balances at the end of each day.

use chrono::{DateTime, NaiveDate, Utc};
use peken_kernel::export::{Table, Value};
use peken_kernel::period::{day_range, wib_midnight_utc};
use peken_kernel::{ApiResult, Rupiah};
use peken_ledger::{Account, read};
use sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The longest range the cash position covers, in days.
pub const MAX_CASH_DAYS: i64 = 366;

/// One WIB day of the cash position. Amounts are positive in the direction their name says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CashDay {
    pub date: NaiveDate,
    /// Money received: payments confirmed on the day (debits of `collection` by
    /// `payment_confirmed`), including money later owed back to the buyer.
    pub collections_amount: Rupiah,
    /// Refunds paid back to buyers out of the collection account (`refund_paid`).
    pub refunds_paid_amount: Rupiah,
    /// Payouts to merchants seen on the bank statement on the day (`payout_settled`: credits of
    /// `collection`; an approved payout not yet on a statement is still in transit and not here).
    pub payouts_amount: Rupiah,
    /// Any other change of the collection account (reversals, adjustments), signed: positive
    /// adds to the account.
    pub other_amount: Rupiah,
    /// The day's change of the collection account:
    /// `collections − refunds_paid − payouts + other`.
    pub net_amount: Rupiah,
    /// The platform fee recognised on the day: credits of `platform_fee` at completion, less
    /// the fee given back by refunds of completed orders and reversals.
    pub fees_amount: Rupiah,
    /// The collection account's balance at the end of the day (WIB): the previous day's plus
    /// `net_amount`.
    pub closing_collection_amount: Rupiah,
    /// The float held for buyers at the end of the day: `buyer_funds_held` (paid, order not yet
    /// completed or refunded) plus `refunds_payable` (refunds owed to buyers, not yet paid),
    /// both on their normal (credit) side.
    pub buyer_float_amount: Rupiah,
}

/// The sums of the movements over the range.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CashTotals {
    pub collections_amount: Rupiah,
    pub refunds_paid_amount: Rupiah,
    pub payouts_amount: Rupiah,
    pub other_amount: Rupiah,
    pub net_amount: Rupiah,
    pub fees_amount: Rupiah,
}

/// The cash position over a range of WIB days, one row per day (days without movement too).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CashSeries {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The collection account's balance at the start of `from` (WIB midnight).
    pub opening_collection_amount: Rupiah,
    /// The float held for buyers at the start of `from`.
    pub opening_buyer_float_amount: Rupiah,
    pub days: Vec<CashDay>,
    pub totals: CashTotals,
    /// The collection account's balance at the end of `to`.
    pub closing_collection_amount: Rupiah,
    /// The float held for buyers at the end of `to`.
    pub closing_buyer_float_amount: Rupiah,
}

/// Checks a range of WIB days for the cash position (see [`peken_kernel::period::day_range`]).
pub fn cash_range(
    from: Option<&str>,
    to: Option<&str>,
    today: NaiveDate,
) -> ApiResult<(NaiveDate, NaiveDate)> {
    day_range(from, to, today, MAX_CASH_DAYS, "the cash position")
}

fn end_of(date: NaiveDate) -> DateTime<Utc> {
    date.succ_opt()
        .map_or(DateTime::<Utc>::MAX_UTC, wib_midnight_utc)
}

/// The cash position from `from` to `to` (WIB days, checked by [`cash_range`]): four
/// statements whatever the length of the range (three opening balances and the day sums).
pub async fn cash_series<C: ConnectionTrait>(
    conn: &C,
    from: NaiveDate,
    to: NaiveDate,
) -> ApiResult<CashSeries> {
    let collection = Account::Collection.code();
    let held = Account::BuyerFundsHeld.code();
    let refunds = Account::RefundsPayable.code();
    let fee = Account::PlatformFee.code();
    let start = wib_midnight_utc(from);
    let opening_collection = read::balance_before(conn, &collection, start).await?;
    let opening_float = read::balance_before(conn, &held, start)
        .await?
        .saturating_add(read::balance_before(conn, &refunds, start).await?)
        .saturating_neg();
    let movements = read::daily_movements(
        conn,
        &[&collection, &held, &refunds, &fee],
        start,
        end_of(to),
    )
    .await?;

    let mut days = Vec::with_capacity(usize::try_from((to - from).num_days() + 1).unwrap_or(0));
    let mut balance = opening_collection;
    let mut float = opening_float;
    let mut totals = CashTotals::default();
    let mut movements = movements.into_iter().peekable();
    let add =
        |slot: &mut Rupiah, amount: i64| *slot = Rupiah::new(slot.get().saturating_add(amount));
    for date in from.iter_days().take_while(|d| *d <= to) {
        let key = date.format("%Y-%m-%d").to_string();
        let mut day = CashDay {
            date,
            ..CashDay::default()
        };
        let mut float_change = 0_i64;
        while let Some(m) = movements.next_if(|m| m.day <= key) {
            if m.day < key {
                // Cannot happen (the query is bounded to the range and ordered); skipping keeps
                // a row from landing on the wrong day.
                continue;
            }
            if m.account == collection {
                match m.kind.as_str() {
                    "payment_confirmed" => add(&mut day.collections_amount, m.amount),
                    "refund_paid" => add(&mut day.refunds_paid_amount, -m.amount),
                    "payout_settled" => add(&mut day.payouts_amount, -m.amount),
                    _ => add(&mut day.other_amount, m.amount),
                }
                add(&mut day.net_amount, m.amount);
            } else if m.account == fee {
                add(&mut day.fees_amount, -m.amount);
            } else {
                float_change = float_change.saturating_sub(m.amount);
            }
        }
        balance = balance.saturating_add(day.net_amount.get());
        float = float.saturating_add(float_change);
        day.closing_collection_amount = Rupiah::new(balance);
        day.buyer_float_amount = Rupiah::new(float);
        add(&mut totals.collections_amount, day.collections_amount.get());
        add(
            &mut totals.refunds_paid_amount,
            day.refunds_paid_amount.get(),
        );
        add(&mut totals.payouts_amount, day.payouts_amount.get());
        add(&mut totals.other_amount, day.other_amount.get());
        add(&mut totals.net_amount, day.net_amount.get());
        add(&mut totals.fees_amount, day.fees_amount.get());
        days.push(day);
    }
    Ok(CashSeries {
        from,
        to,
        opening_collection_amount: Rupiah::new(opening_collection),
        opening_buyer_float_amount: Rupiah::new(opening_float),
        days,
        totals,
        closing_collection_amount: Rupiah::new(balance),
        closing_buyer_float_amount: Rupiah::new(float),
    })
}

/// The cash position as a table: one row per day and a last row `total` (the balances there
/// are those at the end of `to`).
pub fn cash_series_table(report: &CashSeries) -> Table {
    let mut table = Table::new(
        "Posisi kas",
        &[
            "date",
            "collections_amount",
            "refunds_paid_amount",
            "payouts_amount",
            "other_amount",
            "net_amount",
            "fees_amount",
            "closing_collection_amount",
            "buyer_float_amount",
        ],
    );
    for d in &report.days {
        table.push(vec![
            d.date.into(),
            d.collections_amount.into(),
            d.refunds_paid_amount.into(),
            d.payouts_amount.into(),
            d.other_amount.into(),
            d.net_amount.into(),
            d.fees_amount.into(),
            d.closing_collection_amount.into(),
            d.buyer_float_amount.into(),
        ]);
    }
    let t = &report.totals;
    table.push(vec![
        Value::from("total"),
        t.collections_amount.into(),
        t.refunds_paid_amount.into(),
        t.payouts_amount.into(),
        t.other_amount.into(),
        t.net_amount.into(),
        t.fees_amount.into(),
        report.closing_collection_amount.into(),
        report.closing_buyer_float_amount.into(),
    ]);
    table
}
