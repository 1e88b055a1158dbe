//! The treasury reports as export tables (`peken_kernel::export`): one function per report, so
//! every handler that answers CSV or XLSX builds its sheet the same way.

use std::collections::HashMap;
use std::hash::BuildHasher;

use chrono::{DateTime, SecondsFormat, Utc};
use peken_kernel::export::{Table, Value};

use super::treasury::{DailyClose, LedgerLine, SlaReport, TrialBalance};
use super::turnover::AlertView;
use crate::views::{BatchView, ItemView};

/// An instant as RFC 3339 text in UTC, to the second.
fn instant(at: DateTime<Utc>) -> Value {
    Value::Text(at.to_rfc3339_opts(SecondsFormat::Secs, true))
}

fn maybe_instant(at: Option<DateTime<Utc>>) -> Value {
    at.map_or(Value::Empty, instant)
}

/// Every account with its balance (`account`, `kind`, `merchant_id`, `normal_side`,
/// `balance_amount`, `normal_balance_amount`).
pub fn trial_balance_table(report: &TrialBalance) -> Table {
    let mut table = Table::new(
        "Neraca saldo",
        &[
            "account",
            "kind",
            "merchant_id",
            "normal_side",
            "balance_amount",
            "normal_balance_amount",
        ],
    );
    for a in &report.accounts {
        table.push(vec![
            (&a.account).into(),
            (&a.kind).into(),
            a.merchant_id.as_ref().into(),
            (&a.normal_side).into(),
            a.balance_amount.into(),
            a.normal_balance_amount.into(),
        ]);
    }
    table
}

/// The close as a first row `close` and one row `unmatched_line` per unmatched statement line.
pub fn daily_close_table(close: &DailyClose) -> Table {
    let mut table = Table::new(
        "Tutup harian",
        &[
            "row",
            "date",
            "ledger_amount",
            "statement_amount",
            "difference_amount",
            "in_transit_amount",
            "status",
            "statement_id",
            "line_id",
            "direction",
            "amount",
            "description",
        ],
    );
    table.push(vec![
        "close".into(),
        close.date.into(),
        close.ledger_amount.into(),
        close.statement_amount.into(),
        close.difference_amount.into(),
        close.in_transit_amount.into(),
        (&close.status).into(),
        close.statement_id.as_ref().into(),
        Value::Empty,
        Value::Empty,
        Value::Empty,
        Value::Empty,
    ]);
    for l in &close.unmatched_lines {
        table.push(vec![
            "unmatched_line".into(),
            (&l.value_date).into(),
            Value::Empty,
            Value::Empty,
            Value::Empty,
            Value::Empty,
            (&l.status).into(),
            (&l.statement_id).into(),
            (&l.id).into(),
            (&l.direction).into(),
            l.amount.into(),
            (&l.description).into(),
        ]);
    }
    table
}

/// The breaches (`section` `breach`) and the money outstanding past its deadline
/// (`outstanding`), one row each.
pub fn sla_table(report: &SlaReport) -> Table {
    let mut table = Table::new(
        "Layanan pembayaran",
        &[
            "section",
            "merchant_id",
            "payout_item_id",
            "reference",
            "amount",
            "receipt_date",
            "deadline",
            "working_days",
            "status",
            "held",
        ],
    );
    for b in &report.breaches {
        table.push(vec![
            "breach".into(),
            (&b.item.merchant_id).into(),
            (&b.item.id).into(),
            (&b.item.reference).into(),
            b.item.amount.into(),
            b.receipt_date.into(),
            b.deadline.into(),
            b.working_days_taken.into(),
            (&b.item.status).into(),
            Value::Empty,
        ]);
    }
    for o in &report.outstanding {
        table.push(vec![
            "outstanding".into(),
            (&o.merchant_id).into(),
            Value::Empty,
            Value::Empty,
            o.amount.into(),
            peken_kernel::period::wib_date(o.oldest_receipt_at).into(),
            o.deadline.into(),
            o.working_days_waiting.into(),
            (&o.state).into(),
            o.held.into(),
        ]);
    }
    table
}

/// Turnover alerts (`merchant_id`, `year`, `threshold_amount`, `turnover_amount`,
/// `crossed_at`).
pub fn alerts_table(alerts: &[AlertView]) -> Table {
    let mut table = Table::new(
        "Peringatan omzet",
        &[
            "merchant_id",
            "year",
            "threshold_amount",
            "turnover_amount",
            "crossed_at",
        ],
    );
    for a in alerts {
        table.push(vec![
            (&a.merchant_id).into(),
            a.year.into(),
            a.threshold_amount.into(),
            a.turnover_amount.into(),
            instant(a.crossed_at),
        ]);
    }
    table
}

/// A merchant's ledger lines, seen from the merchant.
pub fn ledger_table(lines: &[LedgerLine]) -> Table {
    let mut table = Table::new(
        "Buku besar",
        &[
            "occurred_at",
            "kind",
            "amount",
            "balance_amount",
            "order_id",
            "payout_item_id",
            "memo",
            "transaction_id",
            "line",
        ],
    );
    for l in lines {
        table.push(vec![
            instant(l.occurred_at),
            (&l.kind).into(),
            l.amount.into(),
            l.balance_amount.into(),
            l.order_id.as_ref().into(),
            l.payout_item_id.as_ref().into(),
            l.memo.as_ref().into(),
            (&l.transaction_id).into(),
            l.line.into(),
        ]);
    }
    table
}

/// Payout batches, one row each.
pub fn batches_table(batches: &[BatchView]) -> Table {
    let mut table = Table::new(
        "Batch pembayaran",
        &[
            "id",
            "status",
            "cutoff",
            "item_count",
            "total_amount",
            "created_by",
            "created_at",
            "approved_by",
            "approved_at",
            "cancelled_by",
            "cancelled_at",
        ],
    );
    for b in batches {
        table.push(vec![
            (&b.id).into(),
            (&b.status).into(),
            instant(b.cutoff),
            b.item_count.into(),
            b.total_amount.into(),
            (&b.created_by).into(),
            instant(b.created_at),
            b.approved_by.as_ref().into(),
            maybe_instant(b.approved_at),
            b.cancelled_by.as_ref().into(),
            maybe_instant(b.cancelled_at),
        ]);
    }
    table
}

/// One batch's items, with each merchant's name from `names` (by merchant id).
pub fn batch_items_table<S: BuildHasher>(
    items: &[ItemView],
    names: &HashMap<String, String, S>,
) -> Table {
    let mut table = Table::new(
        "Rincian batch",
        &[
            "item_id",
            "merchant_id",
            "merchant_name",
            "amount",
            "reference",
            "bank_code",
            "account_number",
            "account_name",
            "rail",
            "status",
            "approved_at",
            "settled_at",
            "failed_at",
            "failure_reason",
        ],
    );
    for i in items {
        table.push(vec![
            (&i.id).into(),
            (&i.merchant_id).into(),
            names.get(&i.merchant_id).into(),
            i.amount.into(),
            (&i.reference).into(),
            (&i.bank_code).into(),
            (&i.account_number).into(),
            (&i.account_name).into(),
            (&i.rail).into(),
            (&i.status).into(),
            maybe_instant(i.approved_at),
            maybe_instant(i.settled_at),
            maybe_instant(i.failed_at),
            i.failure_reason.as_ref().into(),
        ]);
    }
    table
}
