//! Reports from the journal: merchant turnover and UMKM class, the city-wide turnover report,
//! the trial balance, the daily close, the payout service level, and a merchant's ledger.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;

use chrono::{DateTime, NaiveDate, Utc};
use peken_kernel::period::{Period, WorkingCalendar, wib_date, wib_midnight_utc};
use peken_kernel::regions::Regions;
use peken_kernel::{ApiError, ApiResult, Rupiah};
use peken_ledger::{Account, read, sql};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::batches::{held_merchants, item_row};
use crate::merchants;
use crate::reconcile::LineView;
use crate::views::ItemView;

/// The longest range a turnover report covers.
pub const MAX_MONTHS: usize = 36;

/// Turnover of one WIB month.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MonthRow {
    pub period: Period,
    /// Gross sales of orders completed in the month.
    pub gross_amount: Rupiah,
    /// Refunds of completed orders made in the month.
    pub refunds_amount: Rupiah,
    pub net_amount: Rupiah,
    pub completed_orders: i64,
}

/// Totals of a span of months.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Totals {
    pub gross_amount: Rupiah,
    pub refunds_amount: Rupiah,
    pub net_amount: Rupiah,
    pub completed_orders: i64,
}

/// The business class by annual sales (PP 7/2021 art. 35).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UmkmClass {
    /// `mikro` (≤ Rp2 billion), `kecil` (≤ Rp15 billion), `menengah` (≤ Rp50 billion) or `besar`.
    pub class: String,
    /// The net turnover of the year used as annual sales.
    pub annual_sales_amount: Rupiah,
    pub year: i32,
}

/// A cumulative yearly turnover threshold crossed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AlertView {
    pub merchant_id: String,
    pub year: i32,
    /// Rp500 million or Rp4.8 billion.
    pub threshold_amount: Rupiah,
    /// The year's cumulative turnover right after crossing.
    pub turnover_amount: Rupiah,
    pub crossed_at: DateTime<Utc>,
}

impl From<read::TurnoverAlert> for AlertView {
    fn from(a: read::TurnoverAlert) -> Self {
        AlertView {
            merchant_id: a.merchant_id,
            year: a.year,
            threshold_amount: Rupiah::new(a.threshold),
            turnover_amount: Rupiah::new(a.turnover),
            crossed_at: a.crossed_at,
        }
    }
}

/// A merchant's turnover report.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MerchantTurnover {
    pub merchant_id: String,
    pub from: Period,
    pub to: Period,
    /// Every month of the range, months without sales included.
    pub months: Vec<MonthRow>,
    pub total: Totals,
    /// January to `to` of `to`'s year.
    pub year_to_date: Totals,
    pub umkm_class: UmkmClass,
    pub alerts: Vec<AlertView>,
}

/// The class of a business by annual sales, in rupiah (PP 7/2021 art. 35).
pub fn umkm_class(annual_sales: i64) -> &'static str {
    if annual_sales <= 2_000_000_000 {
        "mikro"
    } else if annual_sales <= 15_000_000_000 {
        "kecil"
    } else if annual_sales <= 50_000_000_000 {
        "menengah"
    } else {
        "besar"
    }
}

/// Checks a `from`/`to` range of months.
pub fn months_between(from: Period, to: Period) -> ApiResult<Vec<Period>> {
    if from > to {
        return Err(ApiError::field(
            "from",
            "invalid_range",
            "from must not be after to",
        ));
    }
    let mut months = vec![from];
    while let Some(last) = months.last().copied()
        && last < to
    {
        if months.len() >= MAX_MONTHS {
            return Err(ApiError::field(
                "to",
                "range_too_long",
                format!("a report covers at most {MAX_MONTHS} months"),
            ));
        }
        months.push(last.next());
    }
    Ok(months)
}

fn totals<'a>(rows: impl IntoIterator<Item = &'a read::MonthTurnover>) -> Totals {
    let (mut gross, mut refunds, mut orders) = (0_i64, 0_i64, 0_i64);
    for r in rows {
        gross = gross.saturating_add(r.gross);
        refunds = refunds.saturating_add(r.refunds);
        orders = orders.saturating_add(r.completed_orders);
    }
    Totals {
        gross_amount: Rupiah::new(gross),
        refunds_amount: Rupiah::new(refunds),
        net_amount: Rupiah::new(gross.saturating_sub(refunds)),
        completed_orders: orders,
    }
}

pub async fn merchant_turnover<C: ConnectionTrait>(
    conn: &C,
    merchant_id: &str,
    from: Period,
    to: Period,
) -> ApiResult<MerchantTurnover> {
    let months = months_between(from, to)?;
    let rows = read::merchant_turnover(conn, merchant_id, from, to).await?;
    let by_period: BTreeMap<&str, &read::MonthTurnover> =
        rows.iter().map(|r| (r.period.as_str(), r)).collect();
    let month_rows = months
        .iter()
        .map(|p| {
            let text = p.to_string();
            let t = totals(by_period.get(text.as_str()).copied());
            MonthRow {
                period: *p,
                gross_amount: t.gross_amount,
                refunds_amount: t.refunds_amount,
                net_amount: t.net_amount,
                completed_orders: t.completed_orders,
            }
        })
        .collect();
    let year_start =
        Period::new(to.year(), 1).map_err(|e| ApiError::field("to", e.code(), e.to_string()))?;
    let ytd_rows = read::merchant_turnover(conn, merchant_id, year_start, to).await?;
    let year_to_date = totals(&ytd_rows);
    let annual = year_to_date.net_amount.get();
    let alerts = read::turnover_alerts(conn, Some(merchant_id), None)
        .await?
        .into_iter()
        .map(AlertView::from)
        .collect();
    Ok(MerchantTurnover {
        merchant_id: merchant_id.to_owned(),
        from,
        to,
        months: month_rows,
        total: totals(&rows),
        year_to_date,
        umkm_class: UmkmClass {
            class: umkm_class(annual).to_owned(),
            annual_sales_amount: Rupiah::new(annual),
            year: to.year(),
        },
        alerts,
    })
}

/// The merchant turnover report as CSV, one line per month.
pub fn merchant_turnover_csv(report: &MerchantTurnover) -> String {
    let mut out = String::from("period,gross_amount,refunds_amount,net_amount,completed_orders\n");
    for m in &report.months {
        let _ = writeln!(
            out,
            "{},{},{},{},{}",
            m.period, m.gross_amount, m.refunds_amount, m.net_amount, m.completed_orders
        );
    }
    out
}

/// One line of the city-wide report.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CityRow {
    pub kecamatan_code: String,
    pub kecamatan_name: String,
    /// `toko_kelontong`, `umkm`, `koperasi` or `padat_karya`.
    pub kind: String,
    /// Merchants with turnover in the range.
    pub merchants: i64,
    pub gross_amount: Rupiah,
    pub refunds_amount: Rupiah,
    pub net_amount: Rupiah,
    pub completed_orders: i64,
}

/// The city's turnover by kecamatan and merchant kind.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CityTurnover {
    pub from: Period,
    pub to: Period,
    pub rows: Vec<CityRow>,
    pub total: Totals,
}

pub async fn city_turnover<C: ConnectionTrait>(
    conn: &C,
    regions: &Regions,
    from: Period,
    to: Period,
) -> ApiResult<CityTurnover> {
    months_between(from, to)?;
    let per_merchant = read::turnover_by_merchant(conn, from, to).await?;
    let ids: Vec<String> = per_merchant.iter().map(|r| r.merchant_id.clone()).collect();
    let facts = merchants::facts(conn, &ids).await?;
    let mut groups: BTreeMap<(String, String), Vec<&read::MonthTurnover>> = BTreeMap::new();
    for row in &per_merchant {
        let key = facts.get(&row.merchant_id).map_or_else(
            || ("unknown".to_owned(), "unknown".to_owned()),
            |f| (f.kecamatan_code.clone(), f.kind.clone()),
        );
        groups.entry(key).or_default().push(row);
    }
    let rows = groups
        .into_iter()
        .map(|((kecamatan_code, kind), members)| {
            let t = totals(members.iter().copied());
            CityRow {
                kecamatan_name: regions
                    .get(&kecamatan_code)
                    .map_or_else(String::new, |r| r.name.clone()),
                kecamatan_code,
                kind,
                merchants: members.len() as i64,
                gross_amount: t.gross_amount,
                refunds_amount: t.refunds_amount,
                net_amount: t.net_amount,
                completed_orders: t.completed_orders,
            }
        })
        .collect();
    Ok(CityTurnover {
        from,
        to,
        rows,
        total: totals(&per_merchant),
    })
}

/// The city-wide report as CSV.
pub fn city_turnover_csv(report: &CityTurnover) -> ApiResult<String> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| ApiError::internal(anyhow::anyhow!("report csv: {e}"));
    writer
        .write_record([
            "kecamatan_code",
            "kecamatan_name",
            "kind",
            "merchants",
            "gross_amount",
            "refunds_amount",
            "net_amount",
            "completed_orders",
        ])
        .map_err(fail)?;
    for r in &report.rows {
        writer
            .write_record([
                r.kecamatan_code.clone(),
                r.kecamatan_name.clone(),
                r.kind.clone(),
                r.merchants.to_string(),
                r.gross_amount.to_string(),
                r.refunds_amount.to_string(),
                r.net_amount.to_string(),
                r.completed_orders.to_string(),
            ])
            .map_err(fail)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| ApiError::internal(anyhow::anyhow!("report csv: {e}")))?;
    String::from_utf8(bytes).map_err(|e| ApiError::internal(anyhow::anyhow!("report csv: {e}")))
}

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
    actor: &str,
    now: DateTime<Utc>,
) -> ApiResult<DailyClose> {
    let close = daily_close(db, date).await?;
    sql::exec(
        db,
        "INSERT INTO daily_closes (id, close_date, ledger_amount, statement_amount, \
         difference_amount, status, statement_id, closed_by, closed_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        vec![
            peken_kernel::db::new_id().into(),
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
    for claim in read::unclaimed(conn, now).await? {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_follow_pp_7_2021() {
        assert_eq!(umkm_class(0), "mikro");
        assert_eq!(umkm_class(2_000_000_000), "mikro");
        assert_eq!(umkm_class(2_000_000_001), "kecil");
        assert_eq!(umkm_class(15_000_000_000), "kecil");
        assert_eq!(umkm_class(50_000_000_000), "menengah");
        assert_eq!(umkm_class(50_000_000_001), "besar");
    }

    #[test]
    fn month_ranges_are_checked() {
        let p = |s: &str| s.parse::<Period>().unwrap_or_else(|_| unreachable!());
        assert_eq!(
            months_between(p("2025-11"), p("2026-02"))
                .map(|m| m.len())
                .ok(),
            Some(4)
        );
        assert!(months_between(p("2026-02"), p("2025-11")).is_err());
        assert!(months_between(p("2020-01"), p("2026-01")).is_err());
    }
}
