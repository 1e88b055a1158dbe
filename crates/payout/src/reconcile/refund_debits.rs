//! Refund transfers on the statement: debit lines no payout item took are matched to approved
//! refund items by a reference in the narrative and the exact amount, and each match is posted
//! (refunds payable → collection, key `refund_item:{item}:paid`), so the collection account
//! follows the bank. Set-based: one lookup for all references, multi-row inserts and
//! conditional updates per chunk. A line whose references name no approved refund item of its
//! amount, or more than one, is left for a person.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use peken_kernel::db::new_id;
use peken_kernel::period::wib_midnight_utc;
use peken_kernel::sql;
use peken_kernel::{ApiError, ApiResult};
use peken_ledger::{LedgerError, post_many, refund_paid};
use sea_orm::{ConnectionTrait, Value};

use crate::refund_batches::{ITEM_COLUMNS, RefundItemView, item_row};
use crate::statement::references_in;

/// A new debit line of the statement not taken by a payout item.
#[derive(Debug, Clone, Copy)]
pub struct DebitLine<'a> {
    pub id: &'a str,
    pub value_date: NaiveDate,
    pub amount: i64,
    pub description: &'a str,
}

/// Matches the lines to refund items in transit and posts each match; answers how many lines
/// it matched.
pub async fn match_and_settle<C: ConnectionTrait>(
    conn: &C,
    lines: &[DebitLine<'_>],
    now: DateTime<Utc>,
) -> ApiResult<usize> {
    let refs: Vec<Vec<String>> = lines.iter().map(|l| references_in(l.description)).collect();
    let all: Vec<String> = refs
        .iter()
        .flatten()
        .cloned()
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    if all.is_empty() {
        return Ok(0);
    }
    let mut by_ref: HashMap<String, RefundItemView> = HashMap::new();
    for chunk in all.chunks(sql::CHUNK_ROWS * 4) {
        let values: Vec<Value> = chunk.iter().map(|r| r.clone().into()).collect();
        let rows = sql::query(
            conn,
            format!(
                "SELECT {ITEM_COLUMNS} FROM refund_items WHERE status = 'approved' \
                 AND reference IN ({})",
                sql::list(chunk.len(), 1)
            ),
            values,
        )
        .await?;
        for r in &rows {
            let item = item_row(r)?;
            by_ref.insert(item.reference.clone(), item);
        }
    }
    let mut taken: HashSet<&str> = HashSet::new();
    let mut found: Vec<(&DebitLine, &RefundItemView)> = Vec::new();
    for (line, candidates) in lines.iter().zip(&refs) {
        let hits: Vec<&RefundItemView> = candidates
            .iter()
            .filter_map(|r| by_ref.get(r))
            .filter(|item| item.amount.get() == line.amount)
            .collect();
        if let [item] = hits[..]
            && taken.insert(item.id.as_str())
        {
            found.push((line, item));
        }
    }
    for chunk in found.chunks(sql::CHUNK_ROWS) {
        apply(conn, chunk, now).await?;
    }
    Ok(found.len())
}

async fn apply<C: ConnectionTrait>(
    conn: &C,
    chunk: &[(&DebitLine<'_>, &RefundItemView)],
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 5);
    for (line, item) in chunk {
        values.extend([
            new_id().into(),
            line.id.into(),
            item.id.clone().into(),
            "reference".into(),
            now.into(),
        ]);
    }
    sql::exec(
        conn,
        format!(
            "INSERT INTO refund_matches (id, statement_line_id, refund_item_id, method, \
             created_at) VALUES {}",
            sql::values_rows(chunk.len(), 5, 1)
        ),
        values,
    )
    .await
    .map_err(|e| match peken_kernel::error::unique_violation(&e) {
        Some(_) => ApiError::conflict(
            "already_matched",
            "the statement line or the refund item is matched already",
        ),
        None => e.into(),
    })?;
    let mut values: Vec<Value> = vec![now.into()];
    values.extend(chunk.iter().map(|(_, item)| Value::from(item.id.clone())));
    let paid = sql::exec(
        conn,
        format!(
            "UPDATE refund_items SET status = 'paid', settled_at = $1 \
             WHERE status = 'approved' AND id IN ({})",
            sql::list(chunk.len(), 2)
        ),
        values,
    )
    .await?;
    let line_ids: Vec<Value> = chunk.iter().map(|(l, _)| Value::from(l.id)).collect();
    let seen = sql::exec(
        conn,
        format!(
            "UPDATE bank_statement_lines SET status = 'matched' \
             WHERE status = 'unmatched' AND id IN ({})",
            sql::list(chunk.len(), 1)
        ),
        line_ids,
    )
    .await?;
    let refund_ids: Vec<String> = chunk.iter().map(|(_, i)| i.refund_id.clone()).collect();
    let settled = peken_order::refunds::settle(conn, &refund_ids, now).await?;
    if paid != chunk.len() as u64 || seen != chunk.len() as u64 || !settled {
        return Err(ApiError::conflict(
            "already_matched",
            "a refund item left transit or a line was matched meanwhile; try again",
        ));
    }
    let postings = chunk
        .iter()
        .map(|(line, item)| {
            // The money left the bank on the value date, but never before the approval.
            let day = wib_midnight_utc(line.value_date);
            let at = item.approved_at.map_or(day, |a| a.max(day));
            refund_paid(
                &format!("refund_item:{}:paid", item.id),
                item.order_id.as_deref(),
                item.amount.get(),
                at,
            )
        })
        .collect();
    post_many(conn, postings).await.map_err(|e| match e {
        LedgerError::InsufficientBalance { .. } => ApiError::conflict(
            "already_matched",
            "the refund is no longer owed in the ledger",
        ),
        other => other.into(),
    })?;
    Ok(())
}
