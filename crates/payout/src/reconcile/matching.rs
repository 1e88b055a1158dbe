//! Importing a statement: new lines stored, payout debits matched automatically, matches
//! applied and posted.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use peken_kernel::db::new_id;
use peken_kernel::idempotency::{self, Key, Outcome};
use peken_kernel::period::{wib_date, wib_midnight_utc};
use peken_kernel::sql;
use peken_kernel::{ApiError, ApiResult};
use peken_ledger::{LedgerError, payout_settled, post_many};
use sea_orm::{ConnectionTrait, DatabaseConnection, TransactionTrait, Value};

use super::credits::{CreditLine, match_credits};
use super::{ITEM_SELECT, ImportResult, MATCH_WINDOW_DAYS, refund_debits};
use crate::batches::item_row;
use crate::statement::{self, Line, Statement, digits_of, references_in};
use crate::views::ItemView;

/// Imports a parsed statement: stores the new lines, matches payout debits among them, and
/// posts each match (in transit → collection). Re-importing adds nothing.
pub async fn import(
    db: &DatabaseConnection,
    parsed: &Statement,
    who: impl Into<peken_audit::Actor>,
    now: DateTime<Utc>,
    key: Option<&Key>,
) -> ApiResult<Outcome<ImportResult>> {
    let who: peken_audit::Actor = who.into();
    let actor = who.user_id.as_str();
    let digests = statement::line_digests(parsed.account.as_deref(), &parsed.lines);
    let content = statement::statement_digest(parsed, &digests);
    let txn = db.begin().await?;
    if let Some((status, body)) = idempotency::claim(&txn, key, now).await? {
        return Ok(Outcome::Replay { status, body });
    }
    let statement_id = new_id();
    // The unique content digest makes a concurrent import of the same statement wait for the
    // first and then insert nothing.
    let inserted = sql::exec(
        &txn,
        "INSERT INTO bank_statements (id, content_hash, format, account, statement_ref, \
         opening_balance, closing_balance, closing_date, line_count, new_lines, duplicates, \
         matched, imported_by, imported_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, 0, 0, $10, $11) \
         ON CONFLICT (content_hash) DO NOTHING",
        vec![
            statement_id.clone().into(),
            content.clone().into(),
            parsed.format.into(),
            parsed.account.clone().into(),
            parsed.statement_ref.clone().into(),
            parsed.opening_balance.into(),
            parsed.closing.map(|(_, b)| b).into(),
            parsed.closing.map(|(d, _)| d.to_string()).into(),
            (parsed.lines.len() as i32).into(),
            actor.into(),
            now.into(),
        ],
    )
    .await?;
    if inserted == 0 {
        let existing = sql::query_one(
            &txn,
            "SELECT id FROM bank_statements WHERE content_hash = $1",
            vec![content.into()],
        )
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("statement digest vanished")))?;
        return Ok(Outcome::Done(ImportResult {
            statement_id: existing.try_get("", "id")?,
            lines: parsed.lines.len(),
            matched: 0,
            refunds_matched: 0,
            unmatched: 0,
            duplicates: parsed.lines.len(),
            already_imported: true,
            credits_matched: 0,
            credits_confirmed: 0,
            credits_paid: 0,
            credits_refund_due: 0,
        }));
    }
    let clock = std::time::Instant::now();
    let new_lines = insert_lines(&txn, &statement_id, parsed, &digests, now).await?;
    tracing::debug!(elapsed = ?clock.elapsed(), lines = new_lines.len(), "statement lines stored");
    let duplicates = parsed.lines.len() - new_lines.len();
    let credit_lines: Vec<CreditLine<'_>> = new_lines
        .iter()
        .filter(|l| l.direction == "credit")
        .map(|l| CreditLine {
            id: &l.id,
            value_date: l.value_date,
            amount: l.amount,
            description: &l.description,
        })
        .collect();
    let matching = std::time::Instant::now();
    let credits = match_credits(&txn, &credit_lines, now).await?;
    drop(credit_lines);
    tracing::debug!(elapsed = ?clock.elapsed(), matched = credits.matched, "credit lines matched");
    let debits: Vec<StoredLine> = new_lines
        .into_iter()
        .filter(|l| l.direction == "debit")
        .collect();
    let found = auto_match(&txn, &debits).await?;
    tracing::debug!(elapsed = ?clock.elapsed(), matched = found.len(), "statement lines matched");
    let matched = found.len();
    apply_matches(&txn, &found, None, None, now).await?;
    // Refund transfers among the debits no payout item took.
    let taken: HashSet<&str> = found.iter().map(|f| f.line_id.as_str()).collect();
    let left: Vec<refund_debits::DebitLine> = debits
        .iter()
        .filter(|l| !taken.contains(l.id.as_str()))
        .map(|l| refund_debits::DebitLine {
            id: &l.id,
            value_date: l.value_date,
            amount: l.amount,
            description: &l.description,
        })
        .collect();
    let refunds_matched = refund_debits::match_and_settle(&txn, &left, now).await?;
    tracing::info!(elapsed = ?matching.elapsed(), debits = matched, refunds = refunds_matched, credits = credits.matched, "statement matched");
    let new_count = parsed.lines.len() - duplicates;
    sql::exec(
        &txn,
        "UPDATE bank_statements SET new_lines = $1, duplicates = $2, matched = $3 WHERE id = $4",
        vec![
            (new_count as i32).into(),
            (duplicates as i32).into(),
            ((matched + refunds_matched + credits.matched) as i32).into(),
            statement_id.clone().into(),
        ],
    )
    .await?;
    peken_audit::record(
        &txn,
        &who,
        peken_audit::Change::new("bank_statement.imported", "bank_statement", &statement_id).after(
            serde_json::json!({
                "format": parsed.format, "lines": parsed.lines.len(), "new_lines": new_count,
                "duplicates": duplicates, "matched": matched,
                "credits_matched": credits.matched, "credits_confirmed": credits.confirmed,
                "credits_paid": credits.paid, "credits_refund_due": credits.refund_due,
                "refunds_matched": refunds_matched,
            }),
        ),
        now,
    )
    .await?;
    let value = ImportResult {
        statement_id,
        lines: parsed.lines.len(),
        matched,
        refunds_matched,
        unmatched: new_count - matched - refunds_matched - credits.matched,
        duplicates,
        already_imported: false,
        credits_matched: credits.matched,
        credits_confirmed: credits.confirmed,
        credits_paid: credits.paid,
        credits_refund_due: credits.refund_due,
    };
    idempotency::store_value(&txn, key, 201, &value).await?;
    txn.commit().await?;
    Ok(Outcome::Done(value))
}

/// A statement line as stored.
#[derive(Debug, Clone)]
struct StoredLine {
    id: String,
    value_date: NaiveDate,
    direction: String,
    amount: i64,
    description: String,
}

/// Inserts the lines not seen before and returns them; the unique content digest decides.
async fn insert_lines<C: ConnectionTrait>(
    conn: &C,
    statement_id: &str,
    parsed: &Statement,
    digests: &[String],
    now: DateTime<Utc>,
) -> ApiResult<Vec<StoredLine>> {
    let rows: Vec<(String, &Line, &String)> = parsed
        .lines
        .iter()
        .zip(digests)
        .map(|(line, digest)| (new_id(), line, digest))
        .collect();
    let mut inserted: HashSet<String> = HashSet::new();
    for chunk in rows.chunks(sql::CHUNK_ROWS) {
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 13);
        for (id, line, digest) in chunk {
            values.extend([
                id.clone().into(),
                statement_id.into(),
                (*digest).clone().into(),
                (line.line_no as i32).into(),
                line.value_date.to_string().into(),
                line.direction.as_str().into(),
                line.amount.into(),
                line.description.clone().into(),
                line.balance.into(),
                parsed.account.clone().into(),
                line.raw.clone().into(),
                "unmatched".into(),
                now.into(),
            ]);
        }
        let returned = sql::query(
            conn,
            format!(
                "INSERT INTO bank_statement_lines (id, statement_id, content_hash, line_no, \
                 value_date, direction, amount, description, balance, account, raw, status, \
                 created_at) VALUES {} ON CONFLICT (content_hash) DO NOTHING RETURNING id",
                sql::values_rows(chunk.len(), 13, 1)
            ),
            values,
        )
        .await?;
        for r in returned {
            inserted.insert(r.try_get_by_index::<String>(0)?);
        }
    }
    Ok(rows
        .into_iter()
        .filter(|(id, _, _)| inserted.contains(id))
        .map(|(id, line, _)| StoredLine {
            id,
            value_date: line.value_date,
            direction: line.direction.as_str().to_owned(),
            amount: line.amount,
            description: line.description.clone(),
        })
        .collect())
}

/// A statement line paired with the payout item it pays.
#[derive(Debug, Clone)]
pub(super) struct Found {
    pub(super) line_id: String,
    pub(super) value_date: NaiveDate,
    pub(super) item: ItemView,
    pub(super) method: &'static str,
}

/// Finds the payout item of each debit line: first by a reference in the narrative with the
/// exact amount, then by the exact amount, a value date within the window after approval and
/// the item's account number in the narrative. A line or item with more than one candidate is
/// left for a person.
async fn auto_match<C: ConnectionTrait>(conn: &C, lines: &[StoredLine]) -> ApiResult<Vec<Found>> {
    let mut found: Vec<Found> = Vec::new();
    let mut taken_items: HashSet<String> = HashSet::new();
    let mut taken_lines: HashSet<String> = HashSet::new();

    let refs: Vec<(usize, Vec<String>)> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| (i, references_in(&l.description)))
        .collect();
    let all_refs: Vec<String> = refs
        .iter()
        .flat_map(|(_, r)| r.iter().cloned())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let by_ref: HashMap<String, ItemView> = items_where(conn, "reference", &all_refs)
        .await?
        .into_iter()
        .map(|i| (i.reference.clone(), i))
        .collect();
    for (i, candidates) in &refs {
        let line = &lines[*i];
        let hits: Vec<&ItemView> = candidates
            .iter()
            .filter_map(|r| by_ref.get(r))
            .filter(|item| item.status == "approved" && item.amount.get() == line.amount)
            .collect();
        if let [item] = hits[..]
            && taken_items.insert(item.id.clone())
        {
            taken_lines.insert(line.id.clone());
            found.push(Found {
                line_id: line.id.clone(),
                value_date: line.value_date,
                item: item.clone(),
                method: "reference",
            });
        }
    }

    let rest: Vec<&StoredLine> = lines
        .iter()
        .filter(|l| !taken_lines.contains(&l.id))
        .collect();
    if rest.is_empty() {
        return Ok(found);
    }
    let amounts: Vec<i64> = rest
        .iter()
        .map(|l| l.amount)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let open = open_items_with_amounts(conn, &amounts).await?;
    let mut line_hits: Vec<(&StoredLine, Vec<&ItemView>)> = Vec::new();
    let mut item_hits: HashMap<&str, usize> = HashMap::new();
    for line in rest {
        let digits = digits_of(&line.description);
        let hits: Vec<&ItemView> = open
            .iter()
            .filter(|item| {
                let account = digits_of(&item.account_number);
                item.amount.get() == line.amount
                    && !taken_items.contains(&item.id)
                    && account.len() >= 6
                    && digits.contains(&account)
                    && item.approved_at.is_some_and(|at| {
                        let approved = wib_date(at);
                        line.value_date >= approved
                            && line.value_date <= approved + chrono::Days::new(MATCH_WINDOW_DAYS)
                    })
            })
            .collect();
        for item in &hits {
            *item_hits.entry(item.id.as_str()).or_default() += 1;
        }
        line_hits.push((line, hits));
    }
    for (line, hits) in line_hits {
        if let [item] = hits[..]
            && item_hits.get(item.id.as_str()) == Some(&1)
        {
            found.push(Found {
                line_id: line.id.clone(),
                value_date: line.value_date,
                item: item.clone(),
                method: "amount_date_account",
            });
        }
    }
    Ok(found)
}
async fn items_where<C: ConnectionTrait>(
    conn: &C,
    column: &'static str,
    keys: &[String],
) -> ApiResult<Vec<ItemView>> {
    let mut out = Vec::new();
    for chunk in keys.chunks(sql::CHUNK_ROWS * 4) {
        let values: Vec<Value> = chunk.iter().map(|k| k.clone().into()).collect();
        let rows = sql::query(
            conn,
            format!(
                "{ITEM_SELECT} WHERE {column} IN ({})",
                sql::list(chunk.len(), 1)
            ),
            values,
        )
        .await?;
        for r in &rows {
            out.push(item_row(r)?);
        }
    }
    Ok(out)
}

async fn open_items_with_amounts<C: ConnectionTrait>(
    conn: &C,
    amounts: &[i64],
) -> ApiResult<Vec<ItemView>> {
    let mut out = Vec::new();
    for chunk in amounts.chunks(sql::CHUNK_ROWS * 4) {
        let values: Vec<Value> = chunk.iter().map(|a| Value::from(*a)).collect();
        let rows = sql::query(
            conn,
            format!(
                "{ITEM_SELECT} WHERE status = 'approved' AND amount IN ({})",
                sql::list(chunk.len(), 1)
            ),
            values,
        )
        .await?;
        for r in &rows {
            out.push(item_row(r)?);
        }
    }
    Ok(out)
}

/// Records matches and posts their settlements, all with conditional statements: an item moves
/// from `approved` to `paid` and a line from `unmatched` to `matched` only once, and the unique
/// indexes on `payout_matches` hold a line to one item and an item to one line.
pub(super) async fn apply_matches<C: ConnectionTrait>(
    conn: &C,
    found: &[Found],
    proposed_by: Option<&str>,
    approved_by: Option<&str>,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    if found.is_empty() {
        return Ok(());
    }
    for chunk in found.chunks(sql::CHUNK_ROWS) {
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 7);
        for f in chunk {
            values.extend([
                new_id().into(),
                f.line_id.clone().into(),
                f.item.id.clone().into(),
                f.method.into(),
                proposed_by.map(str::to_owned).into(),
                approved_by.map(str::to_owned).into(),
                now.into(),
            ]);
        }
        sql::exec(
            conn,
            format!(
                "INSERT INTO payout_matches (id, statement_line_id, payout_item_id, method, \
                 proposed_by, approved_by, created_at) VALUES {}",
                sql::values_rows(chunk.len(), 7, 1)
            ),
            values,
        )
        .await
        .map_err(|e| match peken_kernel::error::unique_violation(&e) {
            Some(_) => ApiError::conflict(
                "already_matched",
                "the statement line or the payout item is matched already",
            ),
            None => e.into(),
        })?;
        let item_ids: Vec<Value> = chunk.iter().map(|f| f.item.id.clone().into()).collect();
        let mut values = vec![now.into()];
        values.extend(item_ids);
        let paid = sql::exec(
            conn,
            format!(
                "UPDATE payout_items SET status = 'paid', settled_at = $1 \
                 WHERE status = 'approved' AND id IN ({})",
                sql::list(chunk.len(), 2)
            ),
            values,
        )
        .await?;
        let line_ids: Vec<Value> = chunk.iter().map(|f| f.line_id.clone().into()).collect();
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
        if paid != chunk.len() as u64 || seen != chunk.len() as u64 {
            return Err(ApiError::conflict(
                "already_matched",
                "a payout item left transit or a line was matched meanwhile; try again",
            ));
        }
    }
    tracing::debug!(
        matches = found.len(),
        "matches recorded, items paid, lines matched"
    );
    let settlements = found
        .iter()
        .map(|f| {
            // The money left the bank on the value date, but never before the approval.
            let day = wib_midnight_utc(f.value_date);
            let at = f.item.approved_at.map_or(day, |a| a.max(day));
            payout_settled(&f.item.id, &f.item.merchant_id, f.item.amount.get(), at)
        })
        .collect();
    post_many(conn, settlements).await.map_err(|e| match e {
        LedgerError::InsufficientBalance { .. } => {
            ApiError::conflict("already_matched", "the payout is no longer in transit")
        }
        other => other.into(),
    })?;
    Ok(())
}
