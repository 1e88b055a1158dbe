//! Bank statement import and reconciliation: lines stored raw and deduplicated, automatic
//! matching of payout debits, the exceptions list, and manual matches approved by a second
//! treasury user.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use peken_kernel::db::new_id;
use peken_kernel::error::FieldError;
use peken_kernel::period::{WorkingCalendar, wib_date, wib_midnight_utc};
use peken_kernel::{ApiError, ApiResult, Rupiah};
use peken_ledger::{LedgerError, payout_settled, post_many, sql};
use sea_orm::{ConnectionTrait, DatabaseConnection, QueryResult, TransactionTrait, Value};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::batches::{find_item, four_eyes, item_row};
use crate::statement::{self, Line, LineError, Statement, digits_of, references_in};
use crate::views::ItemView;

/// A payout debit may appear on the statement up to this many days after approval and still be
/// matched by amount, date and account when its reference is missing.
pub const MATCH_WINDOW_DAYS: u64 = 7;
/// An approved item not seen on a statement after this many working days is overdue.
pub const OVERDUE_WORKING_DAYS: u32 = 2;

/// What an import did.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ImportResult {
    pub statement_id: String,
    /// Lines in the file.
    pub lines: usize,
    /// New lines matched to payout items now.
    pub matched: usize,
    /// New lines left unmatched.
    pub unmatched: usize,
    /// Lines already imported before (from this or another file); nothing was added for them.
    pub duplicates: usize,
    /// True when the whole statement had been imported before.
    pub already_imported: bool,
}

/// The format an upload is read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Mt940,
}

impl Format {
    /// Decides by content type, sniffing the body when the type says only `text/plain` or
    /// nothing useful.
    pub fn detect(content_type: &str, body: &str) -> Format {
        let ct = content_type.to_ascii_lowercase();
        if ct.contains("csv") {
            Format::Csv
        } else if ct.contains("mt940") || statement::mt940::sniff(body) {
            Format::Mt940
        } else {
            Format::Csv
        }
    }
}

/// Parses an upload, or answers 422 with every bad line.
pub fn parse(format: Format, body: &str, account: Option<String>) -> ApiResult<Statement> {
    let parsed = match format {
        Format::Csv => statement::csv::parse(body, account),
        Format::Mt940 => statement::mt940::parse(body).map(|mut s| {
            if s.account.is_none() {
                s.account = account;
            }
            s
        }),
    };
    parsed.map_err(|errors| {
        let mut err = ApiError::validation(
            errors
                .into_iter()
                .take(100)
                .map(
                    |LineError {
                         line,
                         code,
                         message,
                     }| FieldError {
                        field: format!("line {line}"),
                        code: code.to_owned(),
                        message,
                    },
                )
                .collect(),
        );
        err = err.with_detail("the statement has invalid lines; nothing was imported");
        err
    })
}

/// Imports a parsed statement: stores the new lines, matches payout debits among them, and
/// posts each match (in transit → collection). Re-importing adds nothing.
pub async fn import(
    db: &DatabaseConnection,
    parsed: &Statement,
    actor: &str,
    now: DateTime<Utc>,
) -> ApiResult<ImportResult> {
    let digests = statement::line_digests(parsed.account.as_deref(), &parsed.lines);
    let content = statement::statement_digest(parsed, &digests);
    let txn = db.begin().await?;
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
        return Ok(ImportResult {
            statement_id: existing.try_get("", "id")?,
            lines: parsed.lines.len(),
            matched: 0,
            unmatched: 0,
            duplicates: parsed.lines.len(),
            already_imported: true,
        });
    }
    let new_lines = insert_lines(&txn, &statement_id, parsed, &digests, now).await?;
    let duplicates = parsed.lines.len() - new_lines.len();
    let debits: Vec<StoredLine> = new_lines
        .into_iter()
        .filter(|l| l.direction == "debit")
        .collect();
    let found = auto_match(&txn, &debits).await?;
    let matched = found.len();
    apply_matches(&txn, &found, None, None, now).await?;
    let new_count = parsed.lines.len() - duplicates;
    sql::exec(
        &txn,
        "UPDATE bank_statements SET new_lines = $1, duplicates = $2, matched = $3 WHERE id = $4",
        vec![
            (new_count as i32).into(),
            (duplicates as i32).into(),
            (matched as i32).into(),
            statement_id.clone().into(),
        ],
    )
    .await?;
    txn.commit().await?;
    Ok(ImportResult {
        statement_id,
        lines: parsed.lines.len(),
        matched,
        unmatched: new_count - matched,
        duplicates,
        already_imported: false,
    })
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
struct Found {
    line_id: String,
    value_date: NaiveDate,
    item: ItemView,
    method: &'static str,
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

const ITEM_SELECT: &str = "SELECT id, batch_id, merchant_id, amount, reference, bank_code, \
     account_number, account_name, rail, status, oldest_receipt_at, approved_at, settled_at, \
     failed_at, failure_reason FROM payout_items";

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
async fn apply_matches<C: ConnectionTrait>(
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

/// A statement line as listed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LineView {
    pub id: String,
    pub statement_id: String,
    pub value_date: String,
    /// `debit` or `credit`.
    pub direction: String,
    pub amount: Rupiah,
    pub description: String,
    pub balance_amount: Option<Rupiah>,
    pub account: Option<String>,
    /// `unmatched` or `matched`.
    pub status: String,
    /// The line exactly as it appeared in the file.
    pub raw: String,
}

pub(crate) fn line_row(r: &QueryResult) -> Result<LineView, sea_orm::DbErr> {
    Ok(LineView {
        id: r.try_get("", "id")?,
        statement_id: r.try_get("", "statement_id")?,
        value_date: r.try_get("", "value_date")?,
        direction: r.try_get("", "direction")?,
        amount: Rupiah::new(r.try_get("", "amount")?),
        description: r.try_get("", "description")?,
        balance_amount: r.try_get::<Option<i64>>("", "balance")?.map(Rupiah::new),
        account: r.try_get("", "account")?,
        status: r.try_get("", "status")?,
        raw: r.try_get("", "raw")?,
    })
}

const LINE_SELECT: &str = "SELECT id, statement_id, value_date, direction, amount, description, \
     balance, account, status, raw FROM bank_statement_lines";

pub async fn find_line<C: ConnectionTrait>(conn: &C, id: &str) -> ApiResult<Option<LineView>> {
    let row = sql::query_one(
        conn,
        format!("{LINE_SELECT} WHERE id = $1"),
        vec![id.into()],
    )
    .await?;
    Ok(row.as_ref().map(line_row).transpose()?)
}

/// An approved payout not yet seen on any statement after the allowed working days.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OverdueItem {
    #[serde(flatten)]
    pub item: ItemView,
    /// Working days since approval.
    pub working_days_in_transit: i64,
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
    Ok(Exceptions {
        unmatched_lines,
        overdue_items,
        pending_matches,
        truncated,
    })
}

/// A manual match waiting for, or decided by, a second treasury user.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProposalView {
    pub id: String,
    pub statement_line_id: String,
    pub payout_item_id: String,
    pub note: Option<String>,
    /// `pending`, `approved` or `rejected`.
    pub status: String,
    pub proposed_by: String,
    pub proposed_at: DateTime<Utc>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
}

fn proposal_row(r: &QueryResult) -> Result<ProposalView, sea_orm::DbErr> {
    Ok(ProposalView {
        id: r.try_get("", "id")?,
        statement_line_id: r.try_get("", "statement_line_id")?,
        payout_item_id: r.try_get("", "payout_item_id")?,
        note: r.try_get("", "note")?,
        status: r.try_get("", "status")?,
        proposed_by: r.try_get("", "proposed_by")?,
        proposed_at: r.try_get("", "proposed_at")?,
        decided_by: r.try_get("", "decided_by")?,
        decided_at: r.try_get("", "decided_at")?,
    })
}

const PROPOSAL_SELECT: &str = "SELECT id, statement_line_id, payout_item_id, note, status, \
     proposed_by, proposed_at, decided_by, decided_at FROM payout_match_proposals";

async fn proposals<C: ConnectionTrait>(
    conn: &C,
    status: Option<&str>,
) -> ApiResult<Vec<ProposalView>> {
    let rows = match status {
        Some(s) => {
            sql::query(
                conn,
                format!("{PROPOSAL_SELECT} WHERE status = $1 ORDER BY proposed_at, id"),
                vec![s.into()],
            )
            .await?
        }
        None => {
            sql::query(
                conn,
                format!("{PROPOSAL_SELECT} ORDER BY proposed_at, id"),
                vec![],
            )
            .await?
        }
    };
    Ok(rows.iter().map(proposal_row).collect::<Result<_, _>>()?)
}

async fn find_proposal<C: ConnectionTrait>(conn: &C, id: &str) -> ApiResult<ProposalView> {
    let row = sql::query_one(
        conn,
        format!("{PROPOSAL_SELECT} WHERE id = $1"),
        vec![id.into()],
    )
    .await?
    .ok_or_else(|| ApiError::not_found("match"))?;
    Ok(proposal_row(&row)?)
}

/// Checks that a line and an item can be matched to each other now.
async fn check_pair<C: ConnectionTrait>(
    conn: &C,
    line_id: &str,
    item_id: &str,
) -> ApiResult<(LineView, ItemView)> {
    let line = find_line(conn, line_id).await?;
    let item = find_item(conn, item_id).await?;
    let mut v = peken_kernel::Validation::new();
    v.require(
        line.is_some(),
        "statement_line_id",
        "unknown_statement_line",
        "no statement line with this id",
    );
    v.require(
        item.is_some(),
        "payout_item_id",
        "unknown_payout_item",
        "no payout item with this id",
    );
    v.finish()?;
    let (Some(line), Some(item)) = (line, item) else {
        return Err(ApiError::internal(anyhow::anyhow!(
            "validated pair missing"
        )));
    };
    if line.status != "unmatched" {
        return Err(ApiError::conflict(
            "statement_line_matched",
            "this statement line is matched already",
        ));
    }
    if line.direction != "debit" {
        return Err(ApiError::unprocessable(
            "not_a_debit",
            "a payout is matched to a debit line",
        ));
    }
    if item.status != "approved" {
        return Err(ApiError::conflict(
            "payout_item_not_in_transit",
            format!("the payout item is {}, not in transit", item.status),
        ));
    }
    if item.amount != line.amount {
        return Err(ApiError::unprocessable(
            "amount_mismatch",
            "the line's amount differs from the item's",
        ));
    }
    Ok((line, item))
}

/// Proposes a manual match; it takes effect only when another treasury user approves it.
pub async fn propose(
    db: &DatabaseConnection,
    line_id: &str,
    item_id: &str,
    note: Option<String>,
    actor: &str,
    now: DateTime<Utc>,
) -> ApiResult<ProposalView> {
    let txn = db.begin().await?;
    check_pair(&txn, line_id, item_id).await?;
    let pending = sql::query_one(
        &txn,
        "SELECT id FROM payout_match_proposals WHERE status = 'pending' \
         AND (statement_line_id = $1 OR payout_item_id = $2)",
        vec![line_id.into(), item_id.into()],
    )
    .await?;
    if pending.is_some() {
        return Err(ApiError::conflict(
            "match_pending",
            "a manual match of this line or item is already waiting for approval",
        ));
    }
    let id = new_id();
    sql::exec(
        &txn,
        "INSERT INTO payout_match_proposals (id, statement_line_id, payout_item_id, note, status, \
         proposed_by, proposed_at) VALUES ($1, $2, $3, $4, 'pending', $5, $6)",
        vec![
            id.clone().into(),
            line_id.into(),
            item_id.into(),
            note.into(),
            actor.into(),
            now.into(),
        ],
    )
    .await?;
    let view = find_proposal(&txn, &id).await?;
    txn.commit().await?;
    Ok(view)
}

/// A second treasury user approves a manual match: the item is paid by the line and the ledger
/// moves the amount from in transit to the collection account.
pub async fn approve_match(
    db: &DatabaseConnection,
    proposal_id: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> ApiResult<ProposalView> {
    let txn = db.begin().await?;
    let proposal = find_proposal(&txn, proposal_id).await?;
    if proposal.status != "pending" {
        return Err(ApiError::conflict(
            "match_decided",
            format!("this match was {} already", proposal.status),
        ));
    }
    if proposal.proposed_by == actor {
        return Err(four_eyes());
    }
    let decided = sql::exec(
        &txn,
        "UPDATE payout_match_proposals SET status = 'approved', decided_by = $1, decided_at = $2 \
         WHERE id = $3 AND status = 'pending'",
        vec![actor.into(), now.into(), proposal_id.into()],
    )
    .await?;
    if decided != 1 {
        return Err(ApiError::conflict(
            "match_decided",
            "this match was decided meanwhile",
        ));
    }
    let (line, item) =
        check_pair(&txn, &proposal.statement_line_id, &proposal.payout_item_id).await?;
    let value_date = peken_kernel::period::parse_date(&line.value_date)
        .map_err(|e| ApiError::internal(anyhow::anyhow!("stored value date: {e}")))?;
    apply_matches(
        &txn,
        &[Found {
            line_id: line.id,
            value_date,
            item,
            method: "manual",
        }],
        Some(&proposal.proposed_by),
        Some(actor),
        now,
    )
    .await?;
    let view = find_proposal(&txn, proposal_id).await?;
    txn.commit().await?;
    Ok(view)
}

/// Rejects a pending manual match.
pub async fn reject_match(
    db: &DatabaseConnection,
    proposal_id: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> ApiResult<ProposalView> {
    let decided = sql::exec(
        db,
        "UPDATE payout_match_proposals SET status = 'rejected', decided_by = $1, decided_at = $2 \
         WHERE id = $3 AND status = 'pending'",
        vec![actor.into(), now.into(), proposal_id.into()],
    )
    .await?;
    let proposal = find_proposal(db, proposal_id).await?;
    if decided != 1 {
        return Err(ApiError::conflict(
            "match_decided",
            format!("this match was {} already", proposal.status),
        ));
    }
    Ok(proposal)
}
