//! Treasury reports: the trial balance, the daily close, the payout service level, and a
//! merchant's ledger.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use peken_kernel::period::{WorkingCalendar, wib_date, wib_midnight_utc};
use peken_kernel::sql;
use peken_kernel::{ApiError, ApiResult, Rupiah};
use peken_ledger::{Account, read};
use sea_orm::{ConnectionTrait, DatabaseConnection, TransactionTrait};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::batches::{held_merchants, item_row};
use crate::reconcile::LineView;
use crate::views::ItemView;

/// One account in the trial balance.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AccountRow {
    /// `collection`, `merchant_payable:{merchant id}`, …
    pub account: String,
    pub kind: String,
    pub merchant_id: Option<String>,
    /// `debit` or `credit`.
    pub normal_side: String,
    /// The sum of the account's entries, debits positive.
    pub balance_amount: Rupiah,
    /// The balance seen from its normal side: positive when the account holds what it should.
    pub normal_balance_amount: Rupiah,
}

/// The totals of one kind of account.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct KindRow {
    pub kind: String,
    pub accounts: i64,
    pub balance_amount: Rupiah,
    pub normal_balance_amount: Rupiah,
}

/// Every account's balance; they sum to zero.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TrialBalance {
    pub accounts: Vec<AccountRow>,
    pub kinds: Vec<KindRow>,
    /// The sum of all balances: zero.
    pub total_amount: Rupiah,
    /// The sum of all journal entries: zero.
    pub entries_total_amount: Rupiah,
    pub transactions: i64,
    /// Transactions whose entries do not sum to zero (always empty).
    pub unbalanced_transactions: Vec<String>,
    /// Accounts whose balance differs from the sum of their entries (always empty).
    pub drifted_accounts: Vec<String>,
    pub balanced: bool,
}

pub async fn trial_balance<C: ConnectionTrait>(conn: &C) -> ApiResult<TrialBalance> {
    let balances = read::balances(conn).await?;
    let check = read::check(conn).await?;
    let mut kinds: BTreeMap<String, (i64, i64, i64)> = BTreeMap::new();
    let mut accounts = Vec::with_capacity(balances.len());
    for b in balances {
        let side =
            Account::parse(&b.code).map_or(peken_ledger::NormalSide::Debit, |a| a.normal_side());
        let normal = side.normal_balance(b.balance);
        let k = kinds.entry(b.kind.clone()).or_default();
        k.0 += 1;
        k.1 = k.1.saturating_add(b.balance);
        k.2 = k.2.saturating_add(normal);
        accounts.push(AccountRow {
            account: b.code,
            kind: b.kind,
            merchant_id: b.merchant_id,
            normal_side: side.as_str().to_owned(),
            balance_amount: Rupiah::new(b.balance),
            normal_balance_amount: Rupiah::new(normal),
        });
    }
    let order = |k: &str| {
        Account::KINDS
            .iter()
            .position(|x| *x == k)
            .unwrap_or(usize::MAX)
    };
    let mut kinds: Vec<KindRow> = kinds
        .into_iter()
        .map(|(kind, (n, balance, normal))| KindRow {
            kind,
            accounts: n,
            balance_amount: Rupiah::new(balance),
            normal_balance_amount: Rupiah::new(normal),
        })
        .collect();
    kinds.sort_by_key(|k| order(&k.kind));
    Ok(TrialBalance {
        balanced: check.is_sound(),
        accounts,
        kinds,
        total_amount: Rupiah::new(check.balances_total),
        entries_total_amount: Rupiah::new(check.entries_total),
        transactions: check.transactions,
        unbalanced_transactions: check.unbalanced_transactions,
        drifted_accounts: check.drifted_accounts,
    })
}

/// The ledger's collection account against the bank's closing balance for one WIB date.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DailyClose {
    pub date: NaiveDate,
    /// The collection account's balance at the end of the date (WIB).
    pub ledger_amount: Rupiah,
    /// The closing balance of the latest statement imported for the date.
    pub statement_amount: Option<Rupiah>,
    /// Statement minus ledger.
    pub difference_amount: Option<Rupiah>,
    /// `balanced`, `difference` or `no_statement`.
    pub status: String,
    pub statement_id: Option<String>,
    /// Payouts approved but not yet seen on a statement, at the time of the close.
    pub in_transit_amount: Rupiah,
    /// Unmatched statement lines dated up to the date: the usual explanations of a difference.
    pub unmatched_lines: Vec<LineView>,
}

pub async fn daily_close<C: ConnectionTrait>(conn: &C, date: NaiveDate) -> ApiResult<DailyClose> {
    let end = date
        .succ_opt()
        .map_or(DateTime::<Utc>::MAX_UTC, wib_midnight_utc);
    let ledger = read::balance_before(conn, &Account::Collection.code(), end).await?;
    let statement = sql::query_one(
        conn,
        "SELECT id, closing_balance FROM bank_statements WHERE closing_date = $1 \
         AND closing_balance IS NOT NULL ORDER BY imported_at DESC, id DESC LIMIT 1",
        vec![date.to_string().into()],
    )
    .await?;
    let (statement_id, statement_amount) = match statement {
        Some(r) => (
            Some(r.try_get::<String>("", "id")?),
            Some(r.try_get::<i64>("", "closing_balance")?),
        ),
        None => (None, None),
    };
    let in_transit = read::balance_of(conn, &Account::PayoutInTransit.code()).await?;
    let lines = sql::query(
        conn,
        "SELECT id, statement_id, value_date, direction, amount, description, balance, account, \
         status, raw FROM bank_statement_lines WHERE status = 'unmatched' AND value_date <= $1 \
         ORDER BY value_date, id LIMIT 200",
        vec![date.to_string().into()],
    )
    .await?;
    let unmatched_lines = lines
        .iter()
        .map(crate::reconcile::line_row)
        .collect::<Result<_, _>>()?;
    let difference = statement_amount.map(|s| s.saturating_sub(ledger));
    let status = match difference {
        None => "no_statement",
        Some(0) => "balanced",
        Some(_) => "difference",
    };
    Ok(DailyClose {
        date,
        ledger_amount: Rupiah::new(ledger),
        statement_amount: statement_amount.map(Rupiah::new),
        difference_amount: difference.map(Rupiah::new),
        status: status.to_owned(),
        statement_id,
        in_transit_amount: Rupiah::new(-in_transit),
        unmatched_lines,
    })
}

/// Records a daily close as it stands now; closing again later records a new row, so the
/// history shows when a difference was explained.
pub async fn record_close(
    db: &DatabaseConnection,
    date: NaiveDate,
    who: impl Into<peken_audit::Actor>,
    now: DateTime<Utc>,
) -> ApiResult<DailyClose> {
    let who: peken_audit::Actor = who.into();
    let actor = who.user_id.as_str();
    let close = daily_close(db, date).await?;
    let txn = db.begin().await?;
    let id = peken_kernel::db::new_id();
    sql::exec(
        &txn,
        "INSERT INTO daily_closes (id, close_date, ledger_amount, statement_amount, \
         difference_amount, status, statement_id, closed_by, closed_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        vec![
            id.clone().into(),
            date.to_string().into(),
            close.ledger_amount.get().into(),
            close.statement_amount.map(Rupiah::get).into(),
            close.difference_amount.map(Rupiah::get).into(),
            close.status.clone().into(),
            close.statement_id.clone().into(),
            actor.into(),
            now.into(),
        ],
    )
    .await?;
    peken_audit::record(
        &txn,
        &who,
        peken_audit::Change::new("daily_close.recorded", "daily_close", &id).after(
            serde_json::json!({
                "date": date, "status": close.status, "ledger_amount": close.ledger_amount.get(),
                "statement_amount": close.statement_amount.map(Rupiah::get),
            }),
        ),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(close)
}

/// A payout that took longer than the service level, measured in working days from the oldest
/// receipt it pays to its approval.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SlaItem {
    #[serde(flatten)]
    pub item: ItemView,
    pub receipt_date: NaiveDate,
    /// The last working day on which the payout was on time.
    pub deadline: NaiveDate,
    pub working_days_taken: i64,
}

/// Money owed past its deadline and not yet approved for payout.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SlaOutstanding {
    pub merchant_id: String,
    pub amount: Rupiah,
    pub oldest_receipt_at: DateTime<Utc>,
    pub deadline: NaiveDate,
    pub working_days_waiting: i64,
    /// In a draft batch (`draft_batch`), not in any batch (`unbatched`).
    pub state: String,
    /// The merchant's payouts are held after a failure.
    pub held: bool,
}

/// The payout service level report.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SlaReport {
    pub sla_working_days: u32,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Approved items with receipts in the range.
    pub items_checked: i64,
    /// Those approved later than the service level allows.
    pub breaches: Vec<SlaItem>,
    /// Money owed now that is already past its deadline.
    pub outstanding: Vec<SlaOutstanding>,
}

/// Breaches among items whose oldest receipt falls in `[from, to]` (WIB dates), and everything
/// outstanding past its deadline now.
pub async fn sla<C: ConnectionTrait>(
    conn: &C,
    calendar: &WorkingCalendar,
    sla_days: u32,
    from: NaiveDate,
    to: NaiveDate,
    now: DateTime<Utc>,
) -> ApiResult<SlaReport> {
    if from > to {
        return Err(ApiError::field(
            "from",
            "invalid_range",
            "from must not be after to",
        ));
    }
    let until = to
        .succ_opt()
        .map_or(DateTime::<Utc>::MAX_UTC, wib_midnight_utc);
    let rows = sql::query(
        conn,
        "SELECT id, batch_id, merchant_id, amount, reference, bank_code, account_number, \
         account_name, rail, status, oldest_receipt_at, approved_at, settled_at, failed_at, \
         failure_reason FROM payout_items WHERE oldest_receipt_at >= $1 \
         AND oldest_receipt_at < $2 AND approved_at IS NOT NULL ORDER BY oldest_receipt_at, id",
        vec![wib_midnight_utc(from).into(), until.into()],
    )
    .await?;
    let mut breaches = Vec::new();
    let items_checked = rows.len() as i64;
    for r in &rows {
        let item = item_row(r)?;
        let (Some(receipt), Some(approved)) = (item.oldest_receipt_at, item.approved_at) else {
            continue;
        };
        let receipt_date = wib_date(receipt);
        let deadline = calendar.add_working_days(receipt_date, sla_days);
        let approved_on = wib_date(approved);
        if approved_on > deadline {
            breaches.push(SlaItem {
                working_days_taken: calendar.working_days_between(receipt_date, approved_on),
                item,
                receipt_date,
                deadline,
            });
        }
    }

    let today = wib_date(now);
    let held: HashSet<String> = held_merchants(conn).await?.into_iter().collect();
    let mut outstanding = Vec::new();
    for claim in peken_ledger::claims::open_until(conn, now).await? {
        push_outstanding(
            &mut outstanding,
            calendar,
            sla_days,
            today,
            &held,
            claim.merchant_id,
            claim.amount,
            claim.oldest_receipt_at,
            "unbatched",
        );
    }
    let drafts = sql::query(
        conn,
        "SELECT merchant_id, amount, oldest_receipt_at FROM payout_items \
         WHERE status = 'draft' AND oldest_receipt_at IS NOT NULL ORDER BY oldest_receipt_at",
        vec![],
    )
    .await?;
    for r in drafts {
        push_outstanding(
            &mut outstanding,
            calendar,
            sla_days,
            today,
            &held,
            r.try_get("", "merchant_id")?,
            r.try_get("", "amount")?,
            r.try_get("", "oldest_receipt_at")?,
            "draft_batch",
        );
    }
    outstanding.sort_by_key(|o| (o.oldest_receipt_at, o.merchant_id.clone()));
    Ok(SlaReport {
        sla_working_days: sla_days,
        from,
        to,
        items_checked,
        breaches,
        outstanding,
    })
}

#[expect(
    clippy::too_many_arguments,
    reason = "one row of a report assembled from two sources"
)]
fn push_outstanding(
    out: &mut Vec<SlaOutstanding>,
    calendar: &WorkingCalendar,
    sla_days: u32,
    today: NaiveDate,
    held: &HashSet<String>,
    merchant_id: String,
    amount: i64,
    receipt: Option<DateTime<Utc>>,
    state: &str,
) {
    let Some(receipt) = receipt else {
        return;
    };
    if amount <= 0 {
        return;
    }
    let receipt_date = wib_date(receipt);
    let deadline = calendar.add_working_days(receipt_date, sla_days);
    if today > deadline {
        out.push(SlaOutstanding {
            held: held.contains(&merchant_id),
            merchant_id,
            amount: Rupiah::new(amount),
            oldest_receipt_at: receipt,
            deadline,
            working_days_waiting: calendar.working_days_between(receipt_date, today),
            state: state.to_owned(),
        });
    }
}

/// One entry of a merchant's ledger, seen from the merchant: positive is money owed to it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LedgerLine {
    pub transaction_id: String,
    pub line: i32,
    /// `order_completed`, `refund`, `payout_approved`, `payout_failed`, `reversal`, …
    pub kind: String,
    pub occurred_at: DateTime<Utc>,
    /// Owed to the merchant (+) or paid out / taken back (−).
    pub amount: Rupiah,
    /// What the merchant is owed after this entry.
    pub balance_amount: Rupiah,
    pub order_id: Option<String>,
    pub payout_item_id: Option<String>,
    pub memo: Option<String>,
}

pub async fn merchant_ledger<C: ConnectionTrait>(
    conn: &C,
    merchant_id: &str,
    after: Option<(String, i32)>,
    limit: u64,
) -> ApiResult<Vec<LedgerLine>> {
    let code = Account::MerchantPayable(merchant_id.to_owned()).code();
    let lines = read::entries(conn, &code, after, limit + 1).await?;
    Ok(lines
        .into_iter()
        .map(|e| LedgerLine {
            transaction_id: e.txn_id,
            line: e.line_no,
            kind: e.kind,
            occurred_at: e.occurred_at,
            amount: Rupiah::new(e.amount.saturating_neg()),
            balance_amount: Rupiah::new(e.running_balance.saturating_neg()),
            order_id: e.order_id,
            payout_item_id: e.payout_item_id,
            memo: e.memo,
        })
        .collect())
}
