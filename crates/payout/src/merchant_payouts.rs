//! Payouts as the shop sees them: each transfer the city sent (or is sending) it, where the
//! transfer stands, the bank's record of it once the statement shows it, and the orders and
//! refunds it pays, read from the journal.
//!
//! A shop sees an item once its batch is approved: a draft may still be cancelled and its
//! money given back to the next batch, so it promises nothing yet (and the items of a cancelled
//! batch were only ever drafts). What the shop sees is `in_transit` (approved, not yet on the
//! statement), `paid` (matched to a debit line of the city's bank statement) or `failed` (the
//! bank returned it; the money is owed again and a later payout carries it as a
//! `returned_payout` line).
//!
//! The lines of a payout are the merchant's payable movements of the item's claimed range
//! `(seq_after, seq_to]` (`peken_ledger::claims::movements_in`): the item's amount is by
//! construction their sum, so the lines add up to it exactly, refunds negative. Amounts are what
//! the shop is owed (net of platform fee and tax where those apply).

use std::collections::HashMap;
use std::fmt::Write as _;

use chrono::{DateTime, NaiveDate, Utc};
use peken_kernel::auth::{Caller, Role};
use peken_kernel::pagination::{Page, PageParams};
use peken_kernel::period::{wib_date, wib_midnight_utc};
use peken_kernel::sql;
use peken_kernel::{ApiError, ApiResult, Rupiah};
use peken_ledger::claims;
use peken_merchant::facts::{self as merchants, MerchantFacts};
use sea_orm::{ConnectionTrait, QueryResult, Value};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Where a payout stands, as its shop is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PayoutStatus {
    /// Approved by treasury and sent to the bank; not seen on the city's statement yet.
    InTransit,
    /// Seen leaving the city's account on the bank statement.
    Paid,
    /// The bank returned it: the money is owed to the shop again and paid in a later payout.
    Failed,
}

impl PayoutStatus {
    /// The item status stored in `payout_items`.
    fn stored(self) -> &'static str {
        match self {
            PayoutStatus::InTransit => "approved",
            PayoutStatus::Paid => "paid",
            PayoutStatus::Failed => "failed",
        }
    }

    fn from_stored(status: &str) -> Option<PayoutStatus> {
        [
            PayoutStatus::InTransit,
            PayoutStatus::Paid,
            PayoutStatus::Failed,
        ]
        .into_iter()
        .find(|s| s.stored() == status)
    }
}

/// The item statuses a shop sees: drafts and cancelled drafts are treasury's business.
const VISIBLE: &str = "('approved', 'paid', 'failed')";

/// The debit line of the city's bank statement a payout was matched to.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SeenOnStatement {
    /// The value date of the debit, `YYYY-MM-DD`.
    pub value_date: String,
    /// The bank's own reference of the transfer, when the statement carries one (MT940: the
    /// account servicing institution's reference after `//` in `:61:`); CSV statements have
    /// none, the narrative is the bank's record then.
    pub bank_reference: Option<String>,
    /// The bank's narrative of the debit, as the statement gives it.
    pub narrative: String,
}

/// One payout to the shop.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MerchantPayout {
    pub id: String,
    pub batch_id: String,
    pub merchant_id: String,
    pub amount: Rupiah,
    pub status: PayoutStatus,
    /// `BIFAST`, `SKN` or `RTGS`, chosen by amount.
    pub rail: String,
    /// The transfer reference (`PKN…`) in the transfer's remark.
    pub reference: String,
    pub bank_code: String,
    /// The account the payout was sent to, as it was when the batch was built. In full for the
    /// shop's owner, admins and treasury; staff see only the last four digits (`******7890`),
    /// as they see no bank details of the shop elsewhere.
    pub account_number: String,
    pub account_name: String,
    /// The batch's cut-off: money owed up to this instant is in the payout.
    pub cutoff: DateTime<Utc>,
    /// When treasury approved the batch (the transfer was released).
    pub approved_at: DateTime<Utc>,
    /// When the transfer was seen on the bank statement.
    pub paid_at: Option<DateTime<Utc>>,
    pub failed_at: Option<DateTime<Utc>>,
    /// Treasury's note of why the bank returned it.
    pub failure_reason: Option<String>,
    /// The statement line that showed the transfer; present once `paid`.
    pub seen_on_statement: Option<SeenOnStatement>,
}

/// What one line of a payout is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    /// An order the buyer received: what the shop is owed for it.
    Order,
    /// A refund of a completed order: taken back (negative).
    Refund,
    /// An earlier payout the bank returned, paid again here.
    ReturnedPayout,
    /// A correction of the journal (a reversal).
    Adjustment,
}

/// One order, refund or returned payout a payout pays.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PayoutLine {
    pub kind: LineKind,
    pub order_id: Option<String>,
    /// For `returned_payout`: the payout that came back, and its reference.
    pub payout_id: Option<String>,
    pub payout_reference: Option<String>,
    /// The WIB date it happened (the order's receipt, the refund, the return).
    #[schema(value_type = String, format = Date)]
    pub date: NaiveDate,
    pub occurred_at: DateTime<Utc>,
    /// Signed: refunds are negative.
    pub amount: Rupiah,
}

/// A payout with everything it pays; `lines` add up to `amount` exactly.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MerchantPayoutDetail {
    #[serde(flatten)]
    pub payout: MerchantPayout,
    pub lines: Vec<PayoutLine>,
    /// The sum of the `order` lines.
    pub orders_amount: Rupiah,
    /// The sum of the `refund` lines (zero or negative).
    pub refunds_amount: Rupiah,
    /// The sum of the other lines (returned payouts, adjustments).
    pub other_amount: Rupiah,
}

/// What the list may be narrowed to.
#[derive(Debug, Clone, Default)]
pub struct PayoutFilter {
    pub status: Option<PayoutStatus>,
    /// Approved on or after this WIB day.
    pub from: Option<NaiveDate>,
    /// Approved on or before this WIB day.
    pub to: Option<NaiveDate>,
}

/// The merchant whose payouts the caller asks for, and whether the caller sees its account
/// numbers in full. A merchant's people see only their own merchant (any other is 404, as an
/// unknown one is); admins and treasury see any.
pub struct Viewer {
    pub merchant: MerchantFacts,
    pub full_account: bool,
}

pub async fn viewer<C: ConnectionTrait>(conn: &C, caller: &Caller, id: &str) -> ApiResult<Viewer> {
    let not_found = || ApiError::not_found("merchant");
    match caller.role {
        Role::Merchant if caller.is_merchant_of(id) => {}
        Role::Admin | Role::Treasury => {}
        _ => return Err(not_found()),
    }
    let merchant = merchants::facts(conn, &[id.to_owned()])
        .await?
        .remove(id)
        .ok_or_else(not_found)?;
    let full_account = caller.role != Role::Merchant || caller.user_id == merchant.owner_user_id;
    Ok(Viewer {
        merchant,
        full_account,
    })
}

const SELECT: &str = "SELECT i.id, i.batch_id, i.merchant_id, i.amount, i.reference, i.bank_code, \
     i.account_number, i.account_name, i.rail, i.status, i.approved_at, i.settled_at, \
     i.failed_at, i.failure_reason, i.seq_after, i.seq_to, b.cutoff, \
     l.value_date AS line_value_date, l.description AS line_description, l.raw AS line_raw \
     FROM payout_items i JOIN payout_batches b ON b.id = i.batch_id \
     LEFT JOIN payout_matches pm ON pm.payout_item_id = i.id \
     LEFT JOIN bank_statement_lines l ON l.id = pm.statement_line_id";

/// A row of [`SELECT`] with the item's claimed range.
struct Row {
    payout: MerchantPayout,
    seq_after: i64,
    seq_to: i64,
}

fn row(r: &QueryResult, full_account: bool) -> ApiResult<Row> {
    let status: String = r.try_get("", "status")?;
    let status = PayoutStatus::from_stored(&status)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("payout item status {status}")))?;
    let approved_at: Option<DateTime<Utc>> = r.try_get("", "approved_at")?;
    let approved_at = approved_at
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("an approved item without its time")))?;
    let account_number: String = r.try_get("", "account_number")?;
    let line_value_date: Option<String> = r.try_get("", "line_value_date")?;
    let seen_on_statement = match line_value_date {
        Some(value_date) => {
            let raw: String = r.try_get("", "line_raw")?;
            Some(SeenOnStatement {
                value_date,
                bank_reference: crate::statement::mt940::bank_reference(&raw),
                narrative: r.try_get("", "line_description")?,
            })
        }
        None => None,
    };
    Ok(Row {
        payout: MerchantPayout {
            id: r.try_get("", "id")?,
            batch_id: r.try_get("", "batch_id")?,
            merchant_id: r.try_get("", "merchant_id")?,
            amount: Rupiah::new(r.try_get("", "amount")?),
            status,
            rail: r.try_get("", "rail")?,
            reference: r.try_get("", "reference")?,
            bank_code: r.try_get("", "bank_code")?,
            account_number: if full_account {
                account_number
            } else {
                peken_audit::mask_account(&account_number)
            },
            account_name: r.try_get("", "account_name")?,
            cutoff: r.try_get("", "cutoff")?,
            approved_at,
            paid_at: r.try_get("", "settled_at")?,
            failed_at: r.try_get("", "failed_at")?,
            failure_reason: r.try_get("", "failure_reason")?,
            seen_on_statement,
        },
        seq_after: r.try_get("", "seq_after")?,
        seq_to: r.try_get("", "seq_to")?,
    })
}

/// The merchant's payouts, newest first (by item id: items are numbered when their batch is
/// built, and batches are approved in the order they are built, one draft at a time).
pub async fn list<C: ConnectionTrait>(
    conn: &C,
    viewer: &Viewer,
    filter: &PayoutFilter,
    page: &PageParams,
) -> ApiResult<Page<MerchantPayout>> {
    let limit = page.limit()?;
    if let (Some(from), Some(to)) = (filter.from, filter.to)
        && from > to
    {
        return Err(ApiError::field(
            "from",
            "invalid_date_range",
            "from must be on or before to",
        ));
    }
    let cursor: Option<String> = page.cursor()?;
    let mut values: Vec<Value> = vec![viewer.merchant.id.clone().into()];
    let mut text = format!("{SELECT} WHERE i.merchant_id = $1 AND i.status IN {VISIBLE}");
    let mut condition = |clause: &str, value: Value| {
        values.push(value);
        let _ = write!(text, " AND {clause} ${}", values.len());
    };
    if let Some(status) = filter.status {
        condition("i.status =", status.stored().into());
    }
    if let Some(from) = filter.from {
        condition("i.approved_at >=", wib_midnight_utc(from).into());
    }
    if let Some(next) = filter.to.and_then(|d| d.succ_opt()) {
        condition("i.approved_at <", wib_midnight_utc(next).into());
    }
    if let Some(after) = cursor {
        condition("i.id <", after.into());
    }
    values.push((limit as i64 + 1).into());
    let _ = write!(text, " ORDER BY i.id DESC LIMIT ${}", values.len());
    let rows = sql::query(conn, text, values).await?;
    let rows = rows
        .iter()
        .map(|r| row(r, viewer.full_account).map(|r| r.payout))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Page::from_rows(rows, limit, |p| p.id.clone(), |p| p))
}

/// One payout of the merchant with the orders, refunds and returned payouts it pays. Another
/// merchant's payout, a draft and an unknown id are all 404.
pub async fn detail<C: ConnectionTrait>(
    conn: &C,
    viewer: &Viewer,
    payout_id: &str,
) -> ApiResult<MerchantPayoutDetail> {
    let found = sql::query_one(
        conn,
        format!("{SELECT} WHERE i.id = $1 AND i.merchant_id = $2 AND i.status IN {VISIBLE}"),
        vec![payout_id.into(), viewer.merchant.id.clone().into()],
    )
    .await?
    .ok_or_else(|| ApiError::not_found("payout"))?;
    let Row {
        payout,
        seq_after,
        seq_to,
    } = row(&found, viewer.full_account)?;
    let movements =
        claims::movements_in(conn, &[(payout.merchant_id.clone(), seq_after, seq_to)]).await?;
    let returned: Vec<String> = movements
        .iter()
        .filter_map(|m| m.payout_item_id.clone())
        .collect();
    let references = references_of(conn, &payout.merchant_id, &returned).await?;
    let lines: Vec<PayoutLine> = movements
        .into_iter()
        .map(|m| {
            let kind = match m.kind.as_str() {
                "order_completed" => LineKind::Order,
                "refund" => LineKind::Refund,
                "payout_failed" => LineKind::ReturnedPayout,
                _ => LineKind::Adjustment,
            };
            PayoutLine {
                kind,
                payout_reference: m
                    .payout_item_id
                    .as_ref()
                    .and_then(|id| references.get(id).cloned()),
                order_id: m.order_id,
                payout_id: m.payout_item_id,
                date: wib_date(m.occurred_at),
                occurred_at: m.occurred_at,
                amount: Rupiah::new(m.amount),
            }
        })
        .collect();
    let sum_of = |wanted: &dyn Fn(LineKind) -> bool| -> ApiResult<i64> {
        lines
            .iter()
            .filter(|l| wanted(l.kind))
            .try_fold(0_i64, |acc, l| acc.checked_add(l.amount.get()))
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("payout lines overflow")))
    };
    let orders = sum_of(&|k| k == LineKind::Order)?;
    let refunds = sum_of(&|k| k == LineKind::Refund)?;
    let other = sum_of(&|k| !matches!(k, LineKind::Order | LineKind::Refund))?;
    let total = orders
        .checked_add(refunds)
        .and_then(|t| t.checked_add(other));
    // The item was built as the sum of exactly these movements; anything else is a broken
    // journal, not something to show a shop.
    if total != Some(payout.amount.get()) {
        return Err(ApiError::internal(anyhow::anyhow!(
            "payout item {} of {} does not equal its movements ({total:?})",
            payout.id,
            payout.amount.get()
        )));
    }
    Ok(MerchantPayoutDetail {
        payout,
        lines,
        orders_amount: Rupiah::new(orders),
        refunds_amount: Rupiah::new(refunds),
        other_amount: Rupiah::new(other),
    })
}

/// The references of the merchant's payout items among `ids`, by id.
async fn references_of<C: ConnectionTrait>(
    conn: &C,
    merchant_id: &str,
    ids: &[String],
) -> ApiResult<HashMap<String, String>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut values: Vec<Value> = vec![merchant_id.into()];
    values.extend(ids.iter().map(|id| Value::from(id.clone())));
    let rows = sql::query(
        conn,
        format!(
            "SELECT id, reference FROM payout_items WHERE merchant_id = $1 AND id IN ({})",
            sql::list(ids.len(), 2)
        ),
        values,
    )
    .await?;
    Ok(rows
        .iter()
        .map(|r| Ok((r.try_get("", "id")?, r.try_get("", "reference")?)))
        .collect::<Result<_, sea_orm::DbErr>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shop_statuses_map_to_stored_ones_and_drafts_are_not_among_them() {
        for status in [
            PayoutStatus::InTransit,
            PayoutStatus::Paid,
            PayoutStatus::Failed,
        ] {
            assert_eq!(PayoutStatus::from_stored(status.stored()), Some(status));
            assert!(VISIBLE.contains(&format!("'{}'", status.stored())));
        }
        assert_eq!(PayoutStatus::from_stored("draft"), None);
        assert_eq!(PayoutStatus::from_stored("cancelled"), None);
    }
}
