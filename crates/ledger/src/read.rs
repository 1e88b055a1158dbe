//! Reading the journal: balances, an account's entries, turnover, and the payable movements that
//! payout batches claim.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use peken_kernel::period::Period;
use sea_orm::{ConnectionTrait, DbErr, Value};

use peken_kernel::sql;

/// One account's balance (signed: debits positive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountBalance {
    pub code: String,
    pub kind: String,
    pub merchant_id: Option<String>,
    pub balance: i64,
}

/// Every account with its balance, ordered by code.
pub async fn balances<C: ConnectionTrait>(conn: &C) -> Result<Vec<AccountBalance>, DbErr> {
    let rows = sql::query(
        conn,
        "SELECT code, kind, merchant_id, balance FROM ledger_account_balances ORDER BY code",
        vec![],
    )
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(AccountBalance {
                code: r.try_get("", "code")?,
                kind: r.try_get("", "kind")?,
                merchant_id: r.try_get("", "merchant_id")?,
                balance: r.try_get("", "balance")?,
            })
        })
        .collect()
}

/// One account's balance; zero for an account that never had an entry.
pub async fn balance_of<C: ConnectionTrait>(conn: &C, code: &str) -> Result<i64, DbErr> {
    Ok(sql::query_one(
        conn,
        "SELECT balance FROM ledger_account_balances WHERE code = $1",
        vec![code.into()],
    )
    .await?
    .map(|r| r.try_get::<i64>("", "balance"))
    .transpose()?
    .unwrap_or(0))
}

/// Totals that prove the journal balances: the sum of all entries, the sum of all stored
/// balances, the ids of any transaction whose entries do not sum to zero, and accounts whose
/// stored balance differs from the sum of their entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JournalCheck {
    pub entries_total: i64,
    pub balances_total: i64,
    pub unbalanced_transactions: Vec<String>,
    pub drifted_accounts: Vec<String>,
    pub transactions: i64,
}

impl JournalCheck {
    pub fn is_sound(&self) -> bool {
        self.entries_total == 0
            && self.balances_total == 0
            && self.unbalanced_transactions.is_empty()
            && self.drifted_accounts.is_empty()
    }
}

pub async fn check<C: ConnectionTrait>(conn: &C) -> Result<JournalCheck, DbErr> {
    let total = |sql_text: &'static str| async move {
        sql::query_one(conn, sql_text, vec![])
            .await?
            .map(|r| r.try_get_by_index::<i64>(0))
            .transpose()
            .map(Option::unwrap_or_default)
    };
    let entries_total =
        total("SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM ledger_entries").await?;
    let balances_total =
        total("SELECT CAST(COALESCE(SUM(balance), 0) AS BIGINT) FROM ledger_account_balances")
            .await?;
    let transactions = total("SELECT COUNT(*) FROM ledger_transactions").await?;
    let unbalanced_transactions = sql::query(
        conn,
        "SELECT txn_id FROM ledger_entries GROUP BY txn_id HAVING SUM(amount) <> 0 \
         UNION SELECT t.id FROM ledger_transactions t WHERE NOT EXISTS \
         (SELECT 1 FROM ledger_entries e WHERE e.txn_id = t.id)",
        vec![],
    )
    .await?
    .into_iter()
    .map(|r| r.try_get_by_index::<String>(0))
    .collect::<Result<Vec<_>, _>>()?;
    let drifted_accounts = sql::query(
        conn,
        "SELECT a.code FROM ledger_account_balances a LEFT JOIN (SELECT account, SUM(amount) AS total \
         FROM ledger_entries GROUP BY account) e ON e.account = a.code \
         WHERE a.balance <> COALESCE(e.total, 0)",
        vec![],
    )
    .await?
    .into_iter()
    .map(|r| r.try_get_by_index::<String>(0))
    .collect::<Result<Vec<_>, _>>()?;
    Ok(JournalCheck {
        entries_total,
        balances_total,
        unbalanced_transactions,
        drifted_accounts,
        transactions,
    })
}

/// One entry of an account, with the account's balance after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryLine {
    pub txn_id: String,
    pub line_no: i32,
    pub kind: String,
    pub natural_key: String,
    pub occurred_at: DateTime<Utc>,
    pub amount: i64,
    pub running_balance: i64,
    pub order_id: Option<String>,
    pub payout_item_id: Option<String>,
    pub memo: Option<String>,
}

/// An account's entries in posting order, after the cursor `(txn id, line)`, at most `limit`.
pub async fn entries<C: ConnectionTrait>(
    conn: &C,
    account: &str,
    after: Option<(String, i32)>,
    limit: u64,
) -> Result<Vec<EntryLine>, DbErr> {
    let (after_txn, after_line) = after.unwrap_or_default();
    let rows = sql::query(
        conn,
        "SELECT x.* FROM (SELECT e.txn_id, e.line_no, e.amount, e.occurred_at, t.kind, \
         t.natural_key, t.order_id, t.payout_item_id, t.memo, \
         CAST(SUM(e.amount) OVER (ORDER BY e.txn_id, e.line_no ROWS UNBOUNDED PRECEDING) \
         AS BIGINT) AS running_balance \
         FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.txn_id \
         WHERE e.account = $1) x \
         WHERE x.txn_id > $2 OR (x.txn_id = $2 AND x.line_no > $3) \
         ORDER BY x.txn_id, x.line_no LIMIT $4",
        vec![
            account.into(),
            after_txn.into(),
            after_line.into(),
            (limit as i64).into(),
        ],
    )
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(EntryLine {
                txn_id: r.try_get("", "txn_id")?,
                line_no: r.try_get("", "line_no")?,
                kind: r.try_get("", "kind")?,
                natural_key: r.try_get("", "natural_key")?,
                occurred_at: r.try_get("", "occurred_at")?,
                amount: r.try_get("", "amount")?,
                running_balance: r.try_get("", "running_balance")?,
                order_id: r.try_get("", "order_id")?,
                payout_item_id: r.try_get("", "payout_item_id")?,
                memo: r.try_get("", "memo")?,
            })
        })
        .collect()
}

/// The balance of an account from its entries dated before `before`.
pub async fn balance_before<C: ConnectionTrait>(
    conn: &C,
    account: &str,
    before: DateTime<Utc>,
) -> Result<i64, DbErr> {
    Ok(sql::query_one(
        conn,
        "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM ledger_entries \
         WHERE account = $1 AND occurred_at < $2",
        vec![account.into(), before.into()],
    )
    .await?
    .map(|r| r.try_get_by_index::<i64>(0))
    .transpose()?
    .unwrap_or(0))
}

/// A merchant's turnover in one WIB month.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MonthTurnover {
    pub merchant_id: String,
    pub period: String,
    /// Gross at completion.
    pub gross: i64,
    /// Refunds (and reversals) of completed orders.
    pub refunds: i64,
    pub completed_orders: i64,
}

/// Turnover per shop and month, from the summary every posting keeps
/// (`ledger_turnover_months`): the same figures as summing the journal's transactions, read
/// from one row per shop and month.
const TURNOVER_SELECT: &str = "SELECT merchant_id, period, \
     CAST(SUM(gross_amount) AS BIGINT) AS gross, \
     CAST(SUM(refunds_amount) AS BIGINT) AS refunds, \
     CAST(SUM(completed_orders) AS BIGINT) AS completed_orders \
     FROM ledger_turnover_months";

fn month_row(r: &sea_orm::QueryResult) -> Result<MonthTurnover, DbErr> {
    Ok(MonthTurnover {
        merchant_id: r.try_get("", "merchant_id")?,
        period: r.try_get("", "period")?,
        gross: r.try_get("", "gross")?,
        refunds: r.try_get("", "refunds")?,
        completed_orders: r.try_get("", "completed_orders")?,
    })
}

/// One merchant's turnover per month from `from` to `to` inclusive; months without any are
/// absent.
pub async fn merchant_turnover<C: ConnectionTrait>(
    conn: &C,
    merchant_id: &str,
    from: Period,
    to: Period,
) -> Result<Vec<MonthTurnover>, DbErr> {
    let rows = sql::query(
        conn,
        format!(
            "{TURNOVER_SELECT} WHERE merchant_id = $1 AND period >= $2 AND period <= $3 \
             GROUP BY merchant_id, period ORDER BY period"
        ),
        vec![
            merchant_id.into(),
            from.to_string().into(),
            to.to_string().into(),
        ],
    )
    .await?;
    rows.iter().map(month_row).collect()
}

/// Every merchant's turnover over the months `from` to `to`, one row per merchant (the period
/// field holds `from`).
pub async fn turnover_by_merchant<C: ConnectionTrait>(
    conn: &C,
    from: Period,
    to: Period,
) -> Result<Vec<MonthTurnover>, DbErr> {
    let rows = sql::query(
        conn,
        "SELECT merchant_id, $1 AS period, \
             CAST(SUM(gross_amount) AS BIGINT) AS gross, \
             CAST(SUM(refunds_amount) AS BIGINT) AS refunds, \
             CAST(SUM(completed_orders) AS BIGINT) AS completed_orders \
             FROM ledger_turnover_months WHERE period >= $1 AND period <= $2 \
             GROUP BY merchant_id ORDER BY merchant_id",
        vec![from.to_string().into(), to.to_string().into()],
    )
    .await?;
    rows.iter().map(month_row).collect()
}

/// A merchant's cumulative turnover in a WIB year, as kept with each posting.
pub async fn year_turnover<C: ConnectionTrait>(
    conn: &C,
    merchant_id: &str,
    year: i32,
) -> Result<i64, DbErr> {
    Ok(sql::query_one(
        conn,
        "SELECT amount FROM turnover_years WHERE merchant_id = $1 AND year = $2",
        vec![merchant_id.into(), year.into()],
    )
    .await?
    .map(|r| r.try_get::<i64>("", "amount"))
    .transpose()?
    .unwrap_or(0))
}

/// A cumulative yearly turnover threshold crossed by a merchant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnoverAlert {
    pub merchant_id: String,
    pub year: i32,
    pub threshold: i64,
    pub turnover: i64,
    pub txn_id: String,
    pub crossed_at: DateTime<Utc>,
}

/// Alerts, newest first, optionally of one merchant or one year.
pub async fn turnover_alerts<C: ConnectionTrait>(
    conn: &C,
    merchant_id: Option<&str>,
    year: Option<i32>,
) -> Result<Vec<TurnoverAlert>, DbErr> {
    let mut sql_text = String::from(
        "SELECT merchant_id, year, threshold_amount, turnover_amount, txn_id, crossed_at \
         FROM turnover_alerts WHERE 1 = 1",
    );
    let mut values: Vec<Value> = Vec::new();
    if let Some(m) = merchant_id {
        values.push(m.into());
        let _ = write!(sql_text, " AND merchant_id = ${}", values.len());
    }
    if let Some(y) = year {
        values.push(y.into());
        let _ = write!(sql_text, " AND year = ${}", values.len());
    }
    sql_text.push_str(" ORDER BY crossed_at DESC, merchant_id, threshold_amount");
    sql::query(conn, sql_text, values)
        .await?
        .into_iter()
        .map(|r| {
            Ok(TurnoverAlert {
                merchant_id: r.try_get("", "merchant_id")?,
                year: r.try_get("", "year")?,
                threshold: r.try_get("", "threshold_amount")?,
                turnover: r.try_get("", "turnover_amount")?,
                txn_id: r.try_get("", "txn_id")?,
                crossed_at: r.try_get("", "crossed_at")?,
            })
        })
        .collect()
}

/// The sum of one account's entries of one kind of transaction on one WIB day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayMovement {
    /// WIB date, `YYYY-MM-DD`.
    pub day: String,
    pub account: String,
    /// The transaction kind (`payment_confirmed`, `refund_paid`, …).
    pub kind: String,
    /// Signed, debits positive.
    pub amount: i64,
}

/// The entries of the given accounts dated in `[from, until)`, summed per WIB day, account and
/// transaction kind, ordered by day: one statement whatever the length of the range.
pub async fn daily_movements<C: ConnectionTrait>(
    conn: &C,
    accounts: &[&str],
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<DayMovement>, DbErr> {
    if accounts.is_empty() {
        return Ok(Vec::new());
    }
    let day = sql::wib_day(conn.get_database_backend(), "e.occurred_at");
    let mut values: Vec<Value> = vec![from.into(), until.into()];
    values.extend(accounts.iter().map(|a| Value::from(*a)));
    let rows = sql::query(
        conn,
        format!(
            "SELECT {day} AS day, e.account, t.kind, CAST(SUM(e.amount) AS BIGINT) AS amount \
             FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.txn_id \
             WHERE e.occurred_at >= $1 AND e.occurred_at < $2 AND e.account IN ({}) \
             GROUP BY {day}, e.account, t.kind ORDER BY 1, 2, 3",
            sql::list(accounts.len(), 3)
        ),
        values,
    )
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(DayMovement {
                day: r.try_get("", "day")?,
                account: r.try_get("", "account")?,
                kind: r.try_get("", "kind")?,
                amount: r.try_get("", "amount")?,
            })
        })
        .collect()
}

/// The turnover of every WIB month from `from` to `to` (`period` is the month; `merchant_id`
/// is empty), of the shops given or of all (`None`); months without any are absent. One
/// grouped statement whatever the range.
pub async fn turnover_by_period<C: ConnectionTrait>(
    conn: &C,
    shops: Option<&[String]>,
    from: Period,
    to: Period,
) -> Result<Vec<MonthTurnover>, DbErr> {
    if shops.is_some_and(<[String]>::is_empty) {
        return Ok(Vec::new());
    }
    let (filter, shop_values) = sql::shop_filter(shops, 3);
    let mut values: Vec<sea_orm::Value> = vec![from.to_string().into(), to.to_string().into()];
    values.extend(shop_values);
    let rows = sql::query(
        conn,
        format!(
            "SELECT '' AS merchant_id, period, \
             CAST(SUM(gross_amount) AS BIGINT) AS gross, \
             CAST(SUM(refunds_amount) AS BIGINT) AS refunds, \
             CAST(SUM(completed_orders) AS BIGINT) AS completed_orders \
             FROM ledger_turnover_months WHERE period >= $1 AND period <= $2{filter} \
             GROUP BY period ORDER BY period"
        ),
        values,
    )
    .await?;
    rows.iter().map(month_row).collect()
}

/// The yearly turnover (`turnover_years`) of every shop with any in the years given:
/// `(merchant_id, year, amount)`.
pub async fn turnover_of_years<C: ConnectionTrait>(
    conn: &C,
    years: &[i32],
) -> Result<Vec<(String, i32, i64)>, DbErr> {
    if years.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sql::query(
        conn,
        format!(
            "SELECT merchant_id, year, amount FROM turnover_years WHERE year IN ({})",
            sql::list(years.len(), 1)
        ),
        years.iter().map(|y| sea_orm::Value::from(*y)).collect(),
    )
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("", "merchant_id")?,
                r.try_get("", "year")?,
                r.try_get("", "amount")?,
            ))
        })
        .collect()
}

/// One shop's yearly turnover (`turnover_years`), by year, oldest first.
pub async fn years_of_merchant<C: ConnectionTrait>(
    conn: &C,
    merchant_id: &str,
) -> Result<Vec<(i32, i64)>, DbErr> {
    let rows = sql::query(
        conn,
        "SELECT year, amount FROM turnover_years WHERE merchant_id = $1 ORDER BY year",
        vec![merchant_id.into()],
    )
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("", "year")?, r.try_get("", "amount")?)))
        .collect()
}
