//! A shop's sales report: per WIB day or per product, the units sold, the gross, the refunds and
//! the net (gross − refunds), with totals.
//!
//! **Dating.** A sale counts on the WIB day its order's payment was recorded (`orders.paid_at`),
//! whatever became of the order later: an order paid and then rejected is a sale on its payment
//! day and a refund on its refund day. A refund counts on the WIB day it was made
//! (`refunds.created_at`), against the product lines of its order: the refund of a shortfall
//! (`kind = 'short'`, a partial acceptance) against the short units of each line at what the
//! buyer paid for them; any other refund against what was supplied (each line's total less its
//! short units), a whole one giving each line back exactly that, a smaller one shared out in
//! proportion, rounded half up, so the shares add up to the refund exactly.
//!
//! **Agreement with the turnover report.** The turnover report (`GET /merchants/{id}/turnover`,
//! from the journal) counts an order when it is completed and a refund only after completion.
//! Over a span in which every order paid was also completed or refunded (and none crossed its
//! edges), the two agree: paid = completed + refunded before completion, so this report's net
//! equals the turnover's net. A test checks it.
//!
//! Two statements, each one grouped query (sales) or one scan of the range's refunds with their
//! lines, whatever the number of orders.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use peken_kernel::export::{Table, Value};
use peken_kernel::money::round_half_up_div;
use peken_kernel::period::{day_range, parse_date, wib_date, wib_midnight_utc};
use peken_kernel::{ApiError, ApiResult, Rupiah, sql};
use sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The longest range one report covers, in days (a leap year).
pub const MAX_DAYS: i64 = 366;

/// How the report's rows are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SalesGroup {
    /// One row per WIB day of the range, days without sales included.
    #[default]
    Day,
    /// One row per product (listing) sold or refunded in the range.
    Product,
}

/// One row of the report.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SalesRow {
    /// The WIB day (`group=day`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<NaiveDate>,
    /// The listing (`group=product`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listing_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_id: Option<String>,
    /// The product's name as it was sold (`group=product`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Paid orders in the row (an order with two products counts in both product rows).
    pub orders: i64,
    /// Units sold (in orders paid in the row's span).
    pub quantity: i64,
    /// What those units sold for.
    pub gross_amount: Rupiah,
    /// Refunds made in the row's span, whenever their orders were paid.
    pub refunds_amount: Rupiah,
    /// `gross_amount − refunds_amount`.
    pub net_amount: Rupiah,
}

/// The totals of the report.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct SalesTotals {
    /// Orders paid in the range.
    pub orders: i64,
    pub quantity: i64,
    pub gross_amount: Rupiah,
    pub refunds_amount: Rupiah,
    pub net_amount: Rupiah,
}

/// A shop's sales over a range of WIB days.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SalesReport {
    pub merchant_id: String,
    /// First WIB day, inclusive.
    pub from: NaiveDate,
    /// Last WIB day, inclusive.
    pub to: NaiveDate,
    pub group: SalesGroup,
    pub rows: Vec<SalesRow>,
    pub total: SalesTotals,
}

/// Checks a range of WIB days for the sales report (see [`peken_kernel::period::day_range`]).
pub fn date_range(
    from: Option<&str>,
    to: Option<&str>,
    today: NaiveDate,
) -> ApiResult<(NaiveDate, NaiveDate)> {
    day_range(from, to, today, MAX_DAYS, "a sales report")
}

#[derive(Debug, Default, Clone)]
struct Acc {
    orders: i64,
    quantity: i64,
    gross: i64,
    refunds: i64,
    product_id: Option<String>,
    name: Option<String>,
    unit: Option<String>,
}

/// The report of one merchant (who may read it is the caller's business).
pub async fn report<C: ConnectionTrait>(
    conn: &C,
    merchant_id: &str,
    from: NaiveDate,
    to: NaiveDate,
    group: SalesGroup,
) -> ApiResult<SalesReport> {
    let start = wib_midnight_utc(from);
    let end = wib_midnight_utc(to + chrono::Days::new(1));
    let backend = conn.get_database_backend();
    let key = match group {
        SalesGroup::Day => sql::wib_day(backend, "o.paid_at"),
        SalesGroup::Product => "i.listing_id".to_owned(),
    };
    let sales = sql::query(
        conn,
        format!(
            "SELECT {key} AS k, MAX(i.product_id) AS product_id, MAX(i.name) AS name, \
             MAX(i.unit) AS unit, COUNT(DISTINCT o.id) AS orders, \
             CAST(COALESCE(SUM(i.quantity), 0) AS BIGINT) AS quantity, \
             CAST(COALESCE(SUM(i.line_total), 0) AS BIGINT) AS gross \
             FROM orders o JOIN order_items i ON i.order_id = o.id \
             WHERE o.merchant_id = $1 AND o.paid_at IS NOT NULL \
             AND o.paid_at >= $2 AND o.paid_at < $3 GROUP BY {key}"
        ),
        vec![merchant_id.into(), start.into(), end.into()],
    )
    .await?;
    let mut rows: BTreeMap<String, Acc> = BTreeMap::new();
    let mut total = SalesTotals::default();
    for r in &sales {
        let k: String = r.try_get("", "k")?;
        let acc = rows.entry(k).or_default();
        acc.orders = r.try_get("", "orders")?;
        acc.quantity = r.try_get("", "quantity")?;
        acc.gross = r.try_get("", "gross")?;
        acc.product_id = r.try_get("", "product_id")?;
        acc.name = r.try_get("", "name")?;
        acc.unit = r.try_get("", "unit")?;
    }
    // Orders paid in the range, counted once whatever the grouping.
    total.orders = match group {
        SalesGroup::Day => rows.values().map(|a| a.orders).sum(),
        SalesGroup::Product => sql::query_one(
            conn,
            "SELECT COUNT(*) AS n FROM orders WHERE merchant_id = $1 \
                 AND paid_at IS NOT NULL AND paid_at >= $2 AND paid_at < $3",
            vec![merchant_id.into(), start.into(), end.into()],
        )
        .await?
        .map(|r| r.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0),
    };

    // Refunds of the range with their orders' lines, shared out in memory.
    let refund_lines = sql::query(
        conn,
        "SELECT r.id AS refund_id, r.kind, r.amount, r.created_at, i.id AS item_id, \
         i.listing_id, i.product_id, i.name, i.unit, i.line_total, i.quantity, i.short_quantity \
         FROM refunds r JOIN orders o ON o.id = r.order_id \
         JOIN order_items i ON i.order_id = o.id \
         WHERE o.merchant_id = $1 AND r.created_at >= $2 AND r.created_at < $3 \
         ORDER BY r.id, i.id",
        vec![merchant_id.into(), start.into(), end.into()],
    )
    .await?;
    // What each line weighs in its refund: a shortfall refund (`kind = 'short'`) returns the
    // short units of each line at what the buyer paid for them, as the acceptance computed it;
    // any other refund returns what was supplied, the line's total less its short units.
    let weight = |r: &sea_orm::QueryResult| -> ApiResult<i64> {
        let kind: String = r.try_get("", "kind")?;
        let line_total: i64 = r.try_get("", "line_total")?;
        let quantity: i64 = r.try_get("", "quantity")?;
        let short: i64 = r.try_get("", "short_quantity")?;
        let short_value = if short > 0 && quantity > 0 {
            round_half_up_div(
                i128::from(line_total) * i128::from(short),
                i128::from(quantity),
            )
            .unwrap_or(0)
        } else {
            0
        };
        Ok(if kind == "short" {
            short_value
        } else {
            line_total - short_value
        })
    };
    let mut weights: HashMap<String, i64> = HashMap::new();
    for r in &refund_lines {
        let refund_id: String = r.try_get("", "refund_id")?;
        *weights.entry(refund_id).or_default() += weight(r)?;
    }
    // The refund being shared out and the weight of its lines seen so far.
    let mut current: Option<(String, i64)> = None;
    for r in &refund_lines {
        let refund_id: String = r.try_get("", "refund_id")?;
        let amount: i64 = r.try_get("", "amount")?;
        let order_total = weights.get(&refund_id).copied().unwrap_or(0);
        let line_total = weight(r)?;
        let at: DateTime<Utc> = r.try_get("", "created_at")?;
        let before = match &current {
            Some((id, so_far)) if *id == refund_id => *so_far,
            _ => 0,
        };
        let upto = |lines: i64| -> ApiResult<i64> {
            if order_total <= 0 {
                return Ok(0);
            }
            round_half_up_div(
                i128::from(amount) * i128::from(lines),
                i128::from(order_total),
            )
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("refund share overflow")))
        };
        let after = before.saturating_add(line_total);
        let share = upto(after)? - upto(before)?;
        current = Some((refund_id, after));
        let key = match group {
            SalesGroup::Day => wib_date(at).format("%Y-%m-%d").to_string(),
            SalesGroup::Product => r.try_get("", "listing_id")?,
        };
        let acc = rows.entry(key).or_default();
        acc.refunds = acc.refunds.saturating_add(share);
        if acc.name.is_none() {
            acc.product_id = r.try_get("", "product_id")?;
            acc.name = r.try_get("", "name")?;
            acc.unit = r.try_get("", "unit")?;
        }
    }

    if group == SalesGroup::Day {
        let mut day = from;
        while day <= to {
            rows.entry(day.format("%Y-%m-%d").to_string()).or_default();
            day = day + chrono::Days::new(1);
        }
    }
    let mut out = Vec::with_capacity(rows.len());
    for (key, acc) in rows {
        total.quantity = total.quantity.saturating_add(acc.quantity);
        total.gross_amount = Rupiah::new(total.gross_amount.get().saturating_add(acc.gross));
        total.refunds_amount = Rupiah::new(total.refunds_amount.get().saturating_add(acc.refunds));
        let row = SalesRow {
            date: None,
            listing_id: None,
            product_id: None,
            name: None,
            unit: None,
            orders: acc.orders,
            quantity: acc.quantity,
            gross_amount: Rupiah::new(acc.gross),
            refunds_amount: Rupiah::new(acc.refunds),
            net_amount: Rupiah::new(acc.gross.saturating_sub(acc.refunds)),
        };
        out.push(match group {
            SalesGroup::Day => SalesRow {
                date: Some(parse_date(&key).map_err(ApiError::internal)?),
                ..row
            },
            SalesGroup::Product => SalesRow {
                listing_id: Some(key),
                product_id: acc.product_id,
                name: acc.name,
                unit: acc.unit,
                ..row
            },
        });
    }
    if group == SalesGroup::Product {
        // Best sellers first, then by name, so the sheet reads like a ranking.
        out.sort_by(|a, b| {
            b.gross_amount
                .get()
                .cmp(&a.gross_amount.get())
                .then_with(|| a.name.cmp(&b.name))
                .then_with(|| a.listing_id.cmp(&b.listing_id))
        });
    }
    total.net_amount = Rupiah::new(
        total
            .gross_amount
            .get()
            .saturating_sub(total.refunds_amount.get()),
    );
    Ok(SalesReport {
        merchant_id: merchant_id.to_owned(),
        from,
        to,
        group,
        rows: out,
        total,
    })
}

/// The report as one sheet: its rows and a last row of totals.
pub fn table(report: &SalesReport) -> Table {
    let amounts = |row: &mut Vec<Value>, orders: i64, quantity: i64, g: i64, r: i64, n: i64| {
        row.extend([
            Value::Number(orders),
            Value::Number(quantity),
            Value::Rupiah(g),
            Value::Rupiah(r),
            Value::Rupiah(n),
        ]);
    };
    let t = &report.total;
    match report.group {
        SalesGroup::Day => {
            let mut table = Table::new(
                "Penjualan per hari",
                &[
                    "date",
                    "orders",
                    "quantity",
                    "gross_amount",
                    "refunds_amount",
                    "net_amount",
                ],
            );
            for r in &report.rows {
                let mut row = vec![Value::from(r.date)];
                amounts(
                    &mut row,
                    r.orders,
                    r.quantity,
                    r.gross_amount.get(),
                    r.refunds_amount.get(),
                    r.net_amount.get(),
                );
                table.push(row);
            }
            let mut row = vec![Value::from("total")];
            amounts(
                &mut row,
                t.orders,
                t.quantity,
                t.gross_amount.get(),
                t.refunds_amount.get(),
                t.net_amount.get(),
            );
            table.push(row);
            table
        }
        SalesGroup::Product => {
            let mut table = Table::new(
                "Penjualan per produk",
                &[
                    "listing_id",
                    "product_id",
                    "name",
                    "unit",
                    "orders",
                    "quantity",
                    "gross_amount",
                    "refunds_amount",
                    "net_amount",
                ],
            );
            for r in &report.rows {
                let mut row = vec![
                    Value::from(r.listing_id.clone()),
                    Value::from(r.product_id.clone()),
                    Value::from(r.name.clone()),
                    Value::from(r.unit.clone()),
                ];
                amounts(
                    &mut row,
                    r.orders,
                    r.quantity,
                    r.gross_amount.get(),
                    r.refunds_amount.get(),
                    r.net_amount.get(),
                );
                table.push(row);
            }
            let mut row = vec![
                Value::from("total"),
                Value::Empty,
                Value::Empty,
                Value::Empty,
            ];
            amounts(
                &mut row,
                t.orders,
                t.quantity,
                t.gross_amount.get(),
                t.refunds_amount.get(),
                t.net_amount.get(),
            );
            table.push(row);
            table
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        parse_date(s).unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn ranges_are_checked() {
        let today = d("2026-03-15");
        assert_eq!(
            date_range(None, None, today).ok(),
            Some((d("2026-03-01"), today))
        );
        assert_eq!(
            date_range(Some("2025-03-16"), Some("2026-03-15"), today).ok(),
            Some((d("2025-03-16"), today))
        );
        assert!(date_range(Some("2025-03-14"), Some("2026-03-15"), today).is_err());
        assert!(date_range(Some("2026-03-16"), Some("2026-03-15"), today).is_err());
        assert!(date_range(Some("2026-02-30"), None, today).is_err());
    }
}
