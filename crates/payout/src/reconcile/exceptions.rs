//! The exceptions list: what reconciliation could not settle by itself.

use chrono::{DateTime, Utc};
use peken_kernel::export::{Table, Value};
use peken_kernel::period::{WorkingCalendar, wib_date};
use peken_kernel::sql;
use peken_kernel::{ApiResult, Rupiah};
use sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::credit_manual::{CreditProposalView, credit_proposals};
use super::manual::{ProposalView, proposals};
use super::{ITEM_SELECT, LINE_SELECT, LineView, OVERDUE_WORKING_DAYS, line_row};
use crate::batches::item_row;
use crate::views::ItemView;

/// An approved payout not yet seen on any statement after the allowed working days.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OverdueItem {
    #[serde(flatten)]
    pub item: ItemView,
    /// Working days since approval.
    pub working_days_in_transit: i64,
}

/// Money a provider's callback (or a verified transfer proof) recorded that no statement credit
/// has confirmed after the allowed working days.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UnconfirmedReceipt {
    pub receipt_id: String,
    pub payment_id: String,
    /// `callback` or `manual`.
    pub source: String,
    pub provider_reference: String,
    pub amount: Rupiah,
    pub paid_at: DateTime<Utc>,
    /// `applied` (it paid the bill) or `refund_due`.
    pub outcome: String,
    pub recorded_at: DateTime<Utc>,
    /// Working days since it was recorded.
    pub working_days_unconfirmed: i64,
}

/// What reconciliation could not settle by itself.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Exceptions {
    /// Statement lines no payout explains (debits by default; see `direction`).
    pub unmatched_lines: Vec<LineView>,
    /// Approved payouts in transit for longer than the allowed working days.
    pub overdue_items: Vec<OverdueItem>,
    /// Manual matches waiting for a second treasury user.
    pub pending_matches: Vec<ProposalView>,
    /// Credit lines no bill explains (money that came in for nothing peken knows).
    pub unmatched_credits: Vec<LineView>,
    /// Money a callback recorded that no statement credit confirms after the allowed working
    /// days (`PEKEN_RECEIPT_UNCONFIRMED_WORKING_DAYS`).
    pub unconfirmed_receipts: Vec<UnconfirmedReceipt>,
    /// Manual matches of credit lines to bills waiting for a second treasury user.
    pub pending_credit_matches: Vec<CreditProposalView>,
    /// True when a list was cut at `limit`.
    pub truncated: bool,
}

/// The exceptions: unmatched lines of the given direction (all when `None`), overdue items and
/// pending manual matches, each list at most `limit` long.
pub async fn exceptions<C: ConnectionTrait>(
    conn: &C,
    calendar: &WorkingCalendar,
    direction: Option<&str>,
    limit: u64,
    unconfirmed_days: u32,
    now: DateTime<Utc>,
) -> ApiResult<Exceptions> {
    let fetch = limit as i64 + 1;
    let rows = match direction {
        Some(d) => {
            sql::query(
                conn,
                format!(
                    "{LINE_SELECT} WHERE status = 'unmatched' AND direction = $1 \
                     ORDER BY value_date, id LIMIT $2"
                ),
                vec![d.into(), fetch.into()],
            )
            .await?
        }
        None => {
            sql::query(
                conn,
                format!(
                    "{LINE_SELECT} WHERE status = 'unmatched' ORDER BY value_date, id LIMIT $1"
                ),
                vec![fetch.into()],
            )
            .await?
        }
    };
    let mut unmatched_lines: Vec<LineView> = rows.iter().map(line_row).collect::<Result<_, _>>()?;
    let mut truncated = unmatched_lines.len() as u64 > limit;
    unmatched_lines.truncate(limit as usize);

    let today = wib_date(now);
    let rows = sql::query(
        conn,
        format!("{ITEM_SELECT} WHERE status = 'approved' ORDER BY approved_at, id"),
        vec![],
    )
    .await?;
    let mut overdue_items = Vec::new();
    for r in &rows {
        let item = item_row(r)?;
        let Some(approved) = item.approved_at else {
            continue;
        };
        let waited = calendar.working_days_between(wib_date(approved), today);
        if waited > i64::from(OVERDUE_WORKING_DAYS) {
            if overdue_items.len() as u64 == limit {
                truncated = true;
                break;
            }
            overdue_items.push(OverdueItem {
                item,
                working_days_in_transit: waited,
            });
        }
    }
    let pending_matches = proposals(conn, Some("pending")).await?;
    let rows = sql::query(
        conn,
        format!(
            "{LINE_SELECT} WHERE status = 'unmatched' AND direction = 'credit' \
             ORDER BY value_date, id LIMIT $1"
        ),
        vec![fetch.into()],
    )
    .await?;
    let mut unmatched_credits: Vec<LineView> =
        rows.iter().map(line_row).collect::<Result<_, _>>()?;
    truncated |= unmatched_credits.len() as u64 > limit;
    unmatched_credits.truncate(limit as usize);
    // Oldest first: once one is recent enough, so are the rest.
    let mut unconfirmed_receipts = Vec::new();
    for r in peken_order::credit::unconfirmed_receipts(conn, now, limit + 1).await? {
        let waited = calendar.working_days_between(wib_date(r.recorded_at), today);
        if waited <= i64::from(unconfirmed_days) {
            break;
        }
        if unconfirmed_receipts.len() as u64 == limit {
            truncated = true;
            break;
        }
        unconfirmed_receipts.push(UnconfirmedReceipt {
            receipt_id: r.receipt_id,
            payment_id: r.payment_id,
            source: r.source,
            provider_reference: r.provider_reference,
            amount: r.amount,
            paid_at: r.paid_at,
            outcome: r.outcome,
            recorded_at: r.recorded_at,
            working_days_unconfirmed: waited,
        });
    }
    let pending_credit_matches = credit_proposals(conn, "pending").await?;
    Ok(Exceptions {
        unmatched_lines,
        overdue_items,
        pending_matches,
        unmatched_credits,
        unconfirmed_receipts,
        pending_credit_matches,
        truncated,
    })
}

const LINE_COLUMNS: [&str; 4] = ["value_date", "amount", "description", "id"];

fn line_cells(l: &LineView) -> Vec<Value> {
    vec![
        l.value_date.clone().into(),
        l.amount.into(),
        l.description.clone().into(),
        l.id.clone().into(),
    ]
}

/// The exceptions as one sheet per list, for a workbook.
pub fn exception_sheets(e: &Exceptions) -> Vec<Table> {
    let mut lines = Table::new(
        "unmatched_lines",
        &["direction", "value_date", "amount", "description", "id"],
    );
    for l in &e.unmatched_lines {
        let mut row = vec![Value::from(l.direction.clone())];
        row.extend(line_cells(l));
        lines.push(row);
    }
    let mut credits = Table::new("unmatched_credits", &LINE_COLUMNS);
    for l in &e.unmatched_credits {
        credits.push(line_cells(l));
    }
    let mut overdue = Table::new(
        "overdue_items",
        &[
            "id",
            "merchant_id",
            "amount",
            "reference",
            "approved_at",
            "working_days",
        ],
    );
    for o in &e.overdue_items {
        overdue.push(vec![
            o.item.id.clone().into(),
            o.item.merchant_id.clone().into(),
            o.item.amount.into(),
            o.item.reference.clone().into(),
            o.item.approved_at.map(|a| a.to_rfc3339()).into(),
            o.working_days_in_transit.into(),
        ]);
    }
    let mut receipts = Table::new(
        "unconfirmed_receipts",
        &[
            "receipt_id",
            "payment_id",
            "source",
            "provider_reference",
            "amount",
            "recorded_at",
            "working_days",
        ],
    );
    for r in &e.unconfirmed_receipts {
        receipts.push(vec![
            r.receipt_id.clone().into(),
            r.payment_id.clone().into(),
            r.source.clone().into(),
            r.provider_reference.clone().into(),
            r.amount.into(),
            r.recorded_at.to_rfc3339().into(),
            r.working_days_unconfirmed.into(),
        ]);
    }
    let mut pending = Table::new(
        "pending_matches",
        &[
            "id",
            "statement_line_id",
            "target",
            "proposed_by",
            "proposed_at",
        ],
    );
    for p in &e.pending_matches {
        pending.push(vec![
            p.id.clone().into(),
            p.statement_line_id.clone().into(),
            p.payout_item_id.clone().into(),
            p.proposed_by.clone().into(),
            p.proposed_at.to_rfc3339().into(),
        ]);
    }
    for p in &e.pending_credit_matches {
        pending.push(vec![
            p.id.clone().into(),
            p.statement_line_id.clone().into(),
            p.payment_id.clone().into(),
            p.proposed_by.clone().into(),
            p.proposed_at.to_rfc3339().into(),
        ]);
    }
    vec![lines, credits, overdue, receipts, pending]
}

/// The exceptions as one table: a `kind` column (the list a row comes from, its sheet's name)
/// and the columns of every list, empty where a list has none.
pub fn exception_table(e: &Exceptions) -> Table {
    let sheets = exception_sheets(e);
    let mut columns: Vec<&'static str> = vec!["kind"];
    for s in &sheets {
        for c in &s.columns {
            if !columns.contains(c) {
                columns.push(c);
            }
        }
    }
    let mut table = Table::new("exceptions", &columns);
    for s in &sheets {
        for row in &s.rows {
            let mut out = vec![Value::Empty; columns.len()];
            out[0] = s.sheet.clone().into();
            for (c, v) in s.columns.iter().zip(row) {
                if let Some(i) = columns.iter().position(|x| x == c) {
                    out[i] = v.clone();
                }
            }
            table.push(out);
        }
    }
    table
}

/// Payout items in transit of exactly `amount`, oldest approval first: the choices offered for
/// a manual match of a debit line of that amount (`propose` still checks the pair).
pub async fn payout_candidates<C: ConnectionTrait>(
    conn: &C,
    amount: Rupiah,
    limit: u64,
) -> ApiResult<Vec<ItemView>> {
    let rows = sql::query(
        conn,
        format!(
            "{ITEM_SELECT} WHERE status = 'approved' AND amount = $1 \
             ORDER BY approved_at, id LIMIT $2"
        ),
        vec![
            amount.get().into(),
            i64::try_from(limit).unwrap_or(i64::MAX).into(),
        ],
    )
    .await?;
    Ok(rows.iter().map(item_row).collect::<Result<_, _>>()?)
}

/// The exceptions as a download, as the API and the console give it: `format=xlsx` a workbook
/// with one sheet per list, else the one table with a `kind` column (CSV, or JSON when asked).
pub fn exceptions_download(
    req: &actix_web::HttpRequest,
    params: &peken_kernel::export::ExportParams,
    found: &Exceptions,
    now: DateTime<Utc>,
) -> ApiResult<actix_web::HttpResponse> {
    use peken_kernel::export;
    let filename = format!("exceptions-{}", wib_date(now));
    if params.format(req) == export::Format::Xlsx {
        return Ok(export::attachment(
            export::XLSX,
            &format!("{filename}.xlsx"),
            export::xlsx(&exception_sheets(found))?,
        ));
    }
    export::respond(req, params, &filename, found, || exception_table(found))
}
