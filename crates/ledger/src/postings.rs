//! The postings of the marketplace's money events, each with its natural key.

use chrono::{DateTime, Utc};
use peken_kernel::Rupiah;
use peken_kernel::money::round_half_up_div;
use sea_orm::ConnectionTrait;

use crate::account::Account;
use crate::error::LedgerError;
use crate::post::{NewTransaction, Posted, Refs, TxnKind, post};
use peken_kernel::sql;

/// Splits the gross of a completed order into what the merchant is owed, the platform fee and
/// the tax withheld, each rate in basis points rounded half up (the one tax rounding rule).
/// Every caller uses this, so a given order always splits the same way.
///
/// Returns `(net, fee, tax)` with `net + fee + tax == gross`, or an error when the gross is
/// negative or the rates exceed the whole.
pub fn split_completed(
    gross: Rupiah,
    fee_bps: u32,
    tax_bps: u32,
) -> Result<(Rupiah, Rupiah, Rupiah), LedgerError> {
    if gross.is_negative() {
        return Err(LedgerError::InvalidAmount("the gross is negative"));
    }
    let fee = gross.apply_rate_bps(fee_bps).ok_or(LedgerError::Overflow)?;
    let tax = gross.apply_rate_bps(tax_bps).ok_or(LedgerError::Overflow)?;
    let net = gross
        .checked_sub(fee)
        .and_then(|n| n.checked_sub(tax))
        .ok_or(LedgerError::Overflow)?;
    if net.is_negative() {
        return Err(LedgerError::InvalidAmount(
            "fee and tax exceed the gross amount",
        ));
    }
    Ok((net, fee, tax))
}

/// A payment was confirmed: the money is in the collection account and held for the buyer.
/// Natural key `payment:{id}:confirmed`.
pub async fn post_payment_confirmed<C: ConnectionTrait>(
    conn: &C,
    payment_id: &str,
    amount: Rupiah,
    at: DateTime<Utc>,
) -> Result<Posted, LedgerError> {
    positive(amount)?;
    let a = amount.get();
    post(
        conn,
        NewTransaction {
            key: format!("payment:{payment_id}:confirmed"),
            kind: TxnKind::PaymentConfirmed,
            occurred_at: at,
            memo: None,
            entries: vec![(Account::Collection, a), (Account::BuyerFundsHeld, -a)],
            refs: Refs {
                payment_id: Some(payment_id.to_owned()),
                amount: a,
                ..Refs::default()
            },
        },
    )
    .await
}

/// An order was completed (receipt, or the confirmation window passed): the buyer's money
/// becomes the merchant's (net), the platform's fee and the tax withheld. `gross` must equal
/// what the buyer paid for the order; compute `fee` and `tax` with [`split_completed`]. `at` is
/// the receipt time, from which the payout service level runs. Natural key
/// `order:{id}:completed`.
pub async fn post_order_completed<C: ConnectionTrait>(
    conn: &C,
    order_id: &str,
    merchant_id: &str,
    gross: Rupiah,
    fee: Rupiah,
    tax: Rupiah,
    at: DateTime<Utc>,
) -> Result<Posted, LedgerError> {
    positive(gross)?;
    if fee.is_negative() || tax.is_negative() {
        return Err(LedgerError::InvalidAmount(
            "fee and tax must not be negative",
        ));
    }
    let net = gross
        .checked_sub(fee)
        .and_then(|n| n.checked_sub(tax))
        .ok_or(LedgerError::Overflow)?;
    if net.is_negative() {
        return Err(LedgerError::InvalidAmount(
            "fee and tax exceed the gross amount",
        ));
    }
    let mut entries = vec![(Account::BuyerFundsHeld, gross.get())];
    push_nonzero(
        &mut entries,
        Account::MerchantPayable(merchant_id.to_owned()),
        -net.get(),
    );
    push_nonzero(&mut entries, Account::PlatformFee, -fee.get());
    push_nonzero(&mut entries, Account::TaxWithheld, -tax.get());
    post(
        conn,
        NewTransaction {
            key: format!("order:{order_id}:completed"),
            kind: TxnKind::OrderCompleted,
            occurred_at: at,
            memo: None,
            entries,
            refs: Refs {
                order_id: Some(order_id.to_owned()),
                merchant_id: Some(merchant_id.to_owned()),
                amount: gross.get(),
                turnover_amount: gross.get(),
                receipt_at: Some(at),
                ..Refs::default()
            },
        },
    )
    .await
}

/// A refund of a paid order or of a late, unattached payment: the money is now owed back to the
/// buyer. `key` is `order:{id}:refunded` or `payment:{id}:refunded`.
///
/// Before completion the money comes out of buyer funds held. After completion (when the order's
/// completion is in the journal) it comes back from the merchant's payable, the platform fee and
/// the tax withheld in the proportions of the completion, the last refund taking any rounding
/// remainder, and the merchant's turnover drops by the amount. A refund larger than what is left
/// of the completed order is refused. Callers serialise refunds of one order (they hold the
/// order's row).
pub async fn post_refund<C: ConnectionTrait>(
    conn: &C,
    key: &str,
    order_id: Option<&str>,
    merchant_id: Option<&str>,
    amount: Rupiah,
    at: DateTime<Utc>,
) -> Result<Posted, LedgerError> {
    positive(amount)?;
    let a = amount.get();
    let refs = Refs {
        order_id: order_id.map(str::to_owned),
        merchant_id: merchant_id.map(str::to_owned),
        amount: a,
        ..Refs::default()
    };
    let completed = match order_id {
        Some(order) => completion_of(conn, order).await?,
        None => None,
    };
    let (entries, refs) = match completed {
        Some(done) => {
            if a > done.remaining {
                return Err(LedgerError::InvalidAmount(
                    "the refund exceeds what is left of the completed order",
                ));
            }
            let refunded_before = done.gross - done.remaining;
            let share = |part: i64| -> Result<i64, LedgerError> {
                let upto = |refunded: i64| {
                    round_half_up_div(
                        i128::from(part) * i128::from(refunded),
                        i128::from(done.gross),
                    )
                    .ok_or(LedgerError::Overflow)
                };
                Ok(upto(refunded_before + a)? - upto(refunded_before)?)
            };
            let fee = share(done.fee)?;
            let tax = share(done.tax)?;
            let net = a - fee - tax;
            let mut entries = Vec::new();
            push_nonzero(
                &mut entries,
                Account::MerchantPayable(done.merchant_id.clone()),
                net,
            );
            push_nonzero(&mut entries, Account::PlatformFee, fee);
            push_nonzero(&mut entries, Account::TaxWithheld, tax);
            entries.push((Account::RefundsPayable, -a));
            let refs = Refs {
                merchant_id: Some(done.merchant_id),
                turnover_amount: -a,
                ..refs
            };
            (entries, refs)
        }
        None => (
            vec![(Account::BuyerFundsHeld, a), (Account::RefundsPayable, -a)],
            refs,
        ),
    };
    post(
        conn,
        NewTransaction {
            key: key.to_owned(),
            kind: TxnKind::Refund,
            occurred_at: at,
            memo: None,
            entries,
            refs,
        },
    )
    .await
}

/// A shop accepted an order with some units short: what those units cost the buyer is owed
/// back, out of buyer funds held, before the order completes. Natural key
/// `order:{id}:short`, so an order has at most one. Refused once the order's completion is in
/// the journal: the completion must already be of the reduced gross, so a shortfall after it
/// would pay the merchant for units it never supplied.
pub async fn post_shortfall<C: ConnectionTrait>(
    conn: &C,
    order_id: &str,
    merchant_id: &str,
    amount: Rupiah,
    at: DateTime<Utc>,
) -> Result<Posted, LedgerError> {
    positive(amount)?;
    if completion_of(conn, order_id).await?.is_some() {
        return Err(LedgerError::InvalidAmount(
            "a shortfall is refunded before the order completes",
        ));
    }
    let a = amount.get();
    post(
        conn,
        NewTransaction {
            key: format!("order:{order_id}:short"),
            kind: TxnKind::Refund,
            occurred_at: at,
            memo: Some("partial fulfilment".to_owned()),
            entries: vec![(Account::BuyerFundsHeld, a), (Account::RefundsPayable, -a)],
            refs: Refs {
                order_id: Some(order_id.to_owned()),
                merchant_id: Some(merchant_id.to_owned()),
                amount: a,
                ..Refs::default()
            },
        },
    )
    .await
}

/// A refund was paid out of the collection account. Natural key chosen by the caller:
/// `refund:{id}:paid` for a refund paid by hand (once: `paid` is final), `refund_item:{item}:paid`
/// for a refund batch item seen on the statement, so a refund paid again after a failed
/// transfer posts once for the payment that went through and never collides with the failed one.
pub async fn post_refund_paid<C: ConnectionTrait>(
    conn: &C,
    key: &str,
    order_id: Option<&str>,
    amount: Rupiah,
    at: DateTime<Utc>,
) -> Result<Posted, LedgerError> {
    positive(amount)?;
    post(conn, refund_paid(key, order_id, amount.get(), at)).await
}

/// The transaction of a refund paid out of the collection account (refunds payable →
/// collection), for `post_many`.
pub fn refund_paid(
    key: &str,
    order_id: Option<&str>,
    amount: i64,
    at: DateTime<Utc>,
) -> NewTransaction {
    NewTransaction {
        key: key.to_owned(),
        kind: TxnKind::RefundPaid,
        occurred_at: at,
        memo: None,
        entries: vec![
            (Account::RefundsPayable, amount),
            (Account::Collection, -amount),
        ],
        refs: Refs {
            order_id: order_id.map(str::to_owned),
            amount,
            ..Refs::default()
        },
    }
}

/// A payout item was approved: the merchant's payable moves to payout in transit.
pub fn payout_approved(
    item_id: &str,
    merchant_id: &str,
    amount: i64,
    at: DateTime<Utc>,
) -> NewTransaction {
    NewTransaction {
        key: format!("payout_item:{item_id}:approved"),
        kind: TxnKind::PayoutApproved,
        occurred_at: at,
        memo: None,
        entries: vec![
            (Account::MerchantPayable(merchant_id.to_owned()), amount),
            (Account::PayoutInTransit, -amount),
        ],
        refs: Refs {
            merchant_id: Some(merchant_id.to_owned()),
            payout_item_id: Some(item_id.to_owned()),
            amount,
            ..Refs::default()
        },
    }
}

/// A payout item was seen leaving the collection account on the bank statement.
pub fn payout_settled(
    item_id: &str,
    merchant_id: &str,
    amount: i64,
    at: DateTime<Utc>,
) -> NewTransaction {
    NewTransaction {
        key: format!("payout_item:{item_id}:settled"),
        kind: TxnKind::PayoutSettled,
        occurred_at: at,
        memo: None,
        entries: vec![
            (Account::PayoutInTransit, amount),
            (Account::Collection, -amount),
        ],
        refs: Refs {
            merchant_id: Some(merchant_id.to_owned()),
            payout_item_id: Some(item_id.to_owned()),
            amount,
            ..Refs::default()
        },
    }
}

/// A payout item failed or came back: the money is owed to the merchant again. `receipt_at` is
/// the oldest receipt the failed item paid, so the service level of the retry still runs from
/// it.
pub fn payout_failed(
    item_id: &str,
    merchant_id: &str,
    amount: i64,
    at: DateTime<Utc>,
    receipt_at: Option<DateTime<Utc>>,
) -> NewTransaction {
    NewTransaction {
        key: format!("payout_item:{item_id}:failed"),
        kind: TxnKind::PayoutFailed,
        occurred_at: at,
        memo: None,
        entries: vec![
            (Account::PayoutInTransit, amount),
            (Account::MerchantPayable(merchant_id.to_owned()), -amount),
        ],
        refs: Refs {
            merchant_id: Some(merchant_id.to_owned()),
            payout_item_id: Some(item_id.to_owned()),
            amount,
            receipt_at,
            ..Refs::default()
        },
    }
}

/// Reverses a transaction with the exact negation of its entries, under the natural key
/// `reversal:{txn id}`. Entries are never changed: a correction is a new transaction. Payout
/// postings are not reversible here; payouts are corrected through the payout workflow.
pub async fn reverse<C: ConnectionTrait>(
    conn: &C,
    txn_id: &str,
    at: DateTime<Utc>,
    memo: Option<String>,
) -> Result<Posted, LedgerError> {
    let Some(row) = sql::query_one(
        conn,
        "SELECT kind, order_id, merchant_id, payment_id, amount, turnover_amount \
         FROM ledger_transactions WHERE id = $1",
        vec![txn_id.into()],
    )
    .await?
    else {
        return Err(LedgerError::NotFound);
    };
    let kind: String = row.try_get("", "kind")?;
    match TxnKind::parse(&kind) {
        Some(TxnKind::PayoutApproved | TxnKind::PayoutSettled | TxnKind::PayoutFailed) => {
            return Err(LedgerError::NotReversible(
                "payouts are corrected as payouts",
            ));
        }
        Some(TxnKind::Reversal) => {
            return Err(LedgerError::NotReversible("a reversal is not reversed"));
        }
        _ => {}
    }
    let already = sql::query_one(
        conn,
        "SELECT id FROM ledger_transactions WHERE reverses_id = $1",
        vec![txn_id.into()],
    )
    .await?;
    if already.is_some() {
        return Err(LedgerError::AlreadyReversed);
    }
    let lines = sql::query(
        conn,
        "SELECT account, amount FROM ledger_entries WHERE txn_id = $1 ORDER BY line_no",
        vec![txn_id.into()],
    )
    .await?;
    let mut entries = Vec::with_capacity(lines.len());
    for line in lines {
        let code: String = line.try_get("", "account")?;
        let amount: i64 = line.try_get("", "amount")?;
        let account = Account::parse(&code).ok_or(LedgerError::InvalidKey(code))?;
        entries.push((account, amount.checked_neg().ok_or(LedgerError::Overflow)?));
    }
    let turnover: i64 = row.try_get("", "turnover_amount")?;
    post(
        conn,
        NewTransaction {
            key: format!("reversal:{txn_id}"),
            kind: TxnKind::Reversal,
            occurred_at: at,
            memo,
            entries,
            refs: Refs {
                order_id: row.try_get("", "order_id")?,
                merchant_id: row.try_get("", "merchant_id")?,
                payment_id: row.try_get("", "payment_id")?,
                reverses_id: Some(txn_id.to_owned()),
                amount: row.try_get("", "amount")?,
                turnover_amount: -turnover,
                ..Refs::default()
            },
        },
    )
    .await
}

struct Completion {
    merchant_id: String,
    gross: i64,
    fee: i64,
    tax: i64,
    /// Turnover of the order still standing: the gross less refunds and reversals since.
    remaining: i64,
}

async fn completion_of<C: ConnectionTrait>(
    conn: &C,
    order_id: &str,
) -> Result<Option<Completion>, LedgerError> {
    // A reversed completion put the money back into buyer funds held, where a refund then
    // takes it from.
    let Some(row) = sql::query_one(
        conn,
        "SELECT t.id, t.merchant_id, t.amount FROM ledger_transactions t WHERE t.natural_key = $1 \
         AND NOT EXISTS (SELECT 1 FROM ledger_transactions r WHERE r.reverses_id = t.id)",
        vec![format!("order:{order_id}:completed").into()],
    )
    .await?
    else {
        return Ok(None);
    };
    let id: String = row.try_get("", "id")?;
    let merchant_id: Option<String> = row.try_get("", "merchant_id")?;
    let gross: i64 = row.try_get("", "amount")?;
    let mut fee = 0;
    let mut tax = 0;
    for line in sql::query(
        conn,
        "SELECT account_kind, amount FROM ledger_entries WHERE txn_id = $1",
        vec![id.into()],
    )
    .await?
    {
        let kind: String = line.try_get("", "account_kind")?;
        let amount: i64 = line.try_get("", "amount")?;
        match kind.as_str() {
            "platform_fee" => fee -= amount,
            "tax_withheld" => tax -= amount,
            _ => {}
        }
    }
    let remaining = sql::query_one(
        conn,
        "SELECT CAST(COALESCE(SUM(turnover_amount), 0) AS BIGINT) AS remaining \
         FROM ledger_transactions WHERE order_id = $1",
        vec![order_id.into()],
    )
    .await?
    .map(|r| r.try_get::<i64>("", "remaining"))
    .transpose()?
    .unwrap_or(0);
    Ok(merchant_id.map(|merchant_id| Completion {
        merchant_id,
        gross,
        fee,
        tax,
        remaining,
    }))
}

fn positive(amount: Rupiah) -> Result<(), LedgerError> {
    if amount.is_positive() {
        Ok(())
    } else {
        Err(LedgerError::InvalidAmount("the amount must be positive"))
    }
}

fn push_nonzero(entries: &mut Vec<(Account, i64)>, account: Account, amount: i64) {
    if amount != 0 {
        entries.push((account, amount));
    }
}

/// A government buyer's bill was paid net of the tax it withheld (PPh 22 or PP 55/2022 final,
/// remitted by the buyer's treasurer): the `withheld` part of the orders' totals never reaches
/// the collection account, so it is posted as tax already settled: `tax_withheld` debited,
/// buyer funds held credited. With the payment's own posting (collection +paid, buyer funds
/// −paid) the buyer funds hold the orders' whole totals, so completion splits the gross as
/// for any order, its tax including the withholding (which brings `tax_withheld` back), and a
/// refund before completion gives back the cash and reverses this with
/// [`post_withholding_reversed`]. Natural key `payment:{id}:withheld`.
pub async fn post_withholding<C: ConnectionTrait>(
    conn: &C,
    payment_id: &str,
    withheld: Rupiah,
    at: DateTime<Utc>,
) -> Result<Posted, LedgerError> {
    positive(withheld)?;
    let w = withheld.get();
    post(
        conn,
        NewTransaction {
            key: format!("payment:{payment_id}:withheld"),
            kind: TxnKind::PaymentConfirmed,
            occurred_at: at,
            memo: Some("tax withheld by the government buyer".to_owned()),
            entries: vec![(Account::TaxWithheld, w), (Account::BuyerFundsHeld, -w)],
            refs: Refs {
                payment_id: Some(payment_id.to_owned()),
                amount: w,
                ..Refs::default()
            },
        },
    )
    .await
}

/// An order whose bill was paid net of withholding is refunded before completion: the
/// withholding posted at payment goes back (buyer funds held debited, `tax_withheld`
/// credited); the cash refunded is the order's total less it. Natural key
/// `order:{id}:withholding_reversed`.
pub async fn post_withholding_reversed<C: ConnectionTrait>(
    conn: &C,
    order_id: &str,
    merchant_id: &str,
    withheld: Rupiah,
    at: DateTime<Utc>,
) -> Result<Posted, LedgerError> {
    positive(withheld)?;
    let w = withheld.get();
    post(
        conn,
        NewTransaction {
            key: format!("order:{order_id}:withholding_reversed"),
            kind: TxnKind::Refund,
            occurred_at: at,
            memo: Some("withholding reversed with the refund".to_owned()),
            entries: vec![(Account::BuyerFundsHeld, w), (Account::TaxWithheld, -w)],
            refs: Refs {
                order_id: Some(order_id.to_owned()),
                merchant_id: Some(merchant_id.to_owned()),
                amount: w,
                ..Refs::default()
            },
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_split_always_adds_up() {
        let (net, fee, tax) = split_completed(Rupiah::new(100_000), 0, 50).unwrap();
        assert_eq!((net.get(), fee.get(), tax.get()), (99_500, 0, 500));
        let (net, fee, tax) = split_completed(Rupiah::new(101), 100, 50).unwrap();
        // 1% of 101 is 1.01 → 1; 0.5% of 101 is 0.505 → 1 (half up).
        assert_eq!((net.get(), fee.get(), tax.get()), (99, 1, 1));
        assert!(split_completed(Rupiah::new(100), 6_000, 6_000).is_err());
        assert!(split_completed(Rupiah::new(-1), 0, 0).is_err());
    }
}
