//! Bank statement import and reconciliation: lines stored raw and deduplicated, automatic
//! matching of payout debits and of credits to bills, the exceptions list, and manual matches approved by a second
//! treasury user.

mod credit_manual;
mod credits;
mod exceptions;
mod manual;
mod matching;
pub mod refund_debits;

pub use credit_manual::{
    CreditProposalView, approve_credit_match, propose_credit, reject_credit_match,
};
pub use exceptions::{
    Exceptions, OverdueItem, UnconfirmedReceipt, exception_sheets, exception_table, exceptions,
    exceptions_download, payout_candidates,
};
pub use manual::{ProposalView, approve_match, propose, reject_match};
pub use matching::import;

use peken_kernel::error::FieldError;
use peken_kernel::sql;
use peken_kernel::{ApiError, ApiResult, Rupiah};
use sea_orm::{ConnectionTrait, QueryResult};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::statement::{self, LineError, Statement};

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
    /// New debit lines matched to payout items now.
    pub matched: usize,
    /// New lines matched to refund transfers (refund batch items) now; not counted in
    /// `matched`, nor in `unmatched`.
    #[serde(default)]
    pub refunds_matched: usize,
    /// New lines left unmatched (debits and credits).
    pub unmatched: usize,
    /// Lines already imported before (from this or another file); nothing was added for them.
    pub duplicates: usize,
    /// True when the whole statement had been imported before.
    pub already_imported: bool,
    /// New credit lines matched to bills now (the next three add up to this).
    pub credits_matched: usize,
    /// Credits that confirmed money a callback or a verified proof had recorded.
    pub credits_confirmed: usize,
    /// Credits that paid a pending bill.
    pub credits_paid: usize,
    /// Credits for bills that could not take them (expired, cancelled, paid by other money):
    /// recorded as owed back.
    pub credits_refund_due: usize,
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

pub(crate) const LINE_SELECT: &str = "SELECT id, statement_id, value_date, direction, amount, description, \
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

/// The lines of one statement with their match status, in the order they were stored.
pub async fn lines_of<C: ConnectionTrait>(
    conn: &C,
    statement_id: &str,
) -> ApiResult<Vec<LineView>> {
    let rows = sql::query(
        conn,
        format!("{LINE_SELECT} WHERE statement_id = $1 ORDER BY id"),
        vec![statement_id.into()],
    )
    .await?;
    Ok(rows.iter().map(line_row).collect::<Result<_, _>>()?)
}

pub(crate) const ITEM_SELECT: &str = "SELECT id, batch_id, merchant_id, amount, reference, bank_code, \
     account_number, account_name, rail, status, oldest_receipt_at, approved_at, settled_at, \
     failed_at, failure_reason FROM payout_items";
