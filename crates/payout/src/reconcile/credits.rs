//! Credit lines of an imported statement matched to bills (through the order crate, which owns
//! the bills and their receipts): each match confirms a callback, pays a pending bill, or is
//! owed back; the matched lines leave the exceptions list.

use chrono::{DateTime, NaiveDate, Utc};
use peken_kernel::sql;
use peken_kernel::{ApiError, ApiResult, Rupiah};
use peken_order::credit::{Credit, CreditMatch, CreditOutcome, receive_credits};
use sea_orm::{ConnectionTrait, Value};

/// What the credits of an import did.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct CreditCounts {
    pub(super) matched: usize,
    pub(super) confirmed: usize,
    pub(super) paid: usize,
    pub(super) refund_due: usize,
}

/// A new credit line as stored.
pub(super) struct CreditLine<'a> {
    pub(super) id: &'a str,
    pub(super) value_date: NaiveDate,
    pub(super) amount: i64,
    pub(super) description: &'a str,
}

/// Matches new credit lines to bills and marks the matched lines, in the caller's transaction.
pub(super) async fn match_credits<C: ConnectionTrait>(
    conn: &C,
    lines: &[CreditLine<'_>],
    now: DateTime<Utc>,
) -> ApiResult<CreditCounts> {
    if lines.is_empty() {
        return Ok(CreditCounts::default());
    }
    let credits: Vec<Credit> = lines
        .iter()
        .map(|l| Credit {
            line_id: l.id.to_owned(),
            value_date: l.value_date,
            amount: Rupiah::new(l.amount),
            narrative: l.description.to_owned(),
        })
        .collect();
    let found = receive_credits(conn, &credits, now).await?;
    mark_matched(conn, &found).await?;
    let mut counts = CreditCounts {
        matched: found.len(),
        ..CreditCounts::default()
    };
    for m in &found {
        match m.outcome {
            CreditOutcome::Confirmed => counts.confirmed += 1,
            CreditOutcome::Paid => counts.paid += 1,
            CreditOutcome::RefundDue => counts.refund_due += 1,
        }
    }
    Ok(counts)
}

/// Marks credit lines matched, each once.
pub(super) async fn mark_matched<C: ConnectionTrait>(
    conn: &C,
    found: &[CreditMatch],
) -> ApiResult<()> {
    for chunk in found.chunks(sql::CHUNK_ROWS) {
        let ids: Vec<Value> = chunk.iter().map(|m| m.line_id.clone().into()).collect();
        let seen = sql::exec(
            conn,
            format!(
                "UPDATE bank_statement_lines SET status = 'matched' \
                 WHERE status = 'unmatched' AND direction = 'credit' AND id IN ({})",
                sql::list(chunk.len(), 1)
            ),
            ids,
        )
        .await?;
        if seen != chunk.len() as u64 {
            return Err(ApiError::conflict(
                "statement_line_matched",
                "this statement line is matched already",
            ));
        }
    }
    Ok(())
}
