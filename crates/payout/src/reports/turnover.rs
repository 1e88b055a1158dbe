//! Merchant turnover and UMKM class, turnover alerts, and the city-wide turnover report.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use peken_kernel::export::{Table, Value};
use peken_kernel::period::Period;
use peken_kernel::regions::Regions;
use peken_kernel::{ApiError, ApiResult, Rupiah};
use peken_ledger::read;
use sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use peken_merchant::facts as merchants;

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

/// The merchant turnover report as one sheet, one line per month.
pub fn merchant_turnover_table(report: &MerchantTurnover) -> Table {
    let mut table = Table::new(
        "Omzet",
        &[
            "period",
            "gross_amount",
            "refunds_amount",
            "net_amount",
            "completed_orders",
        ],
    );
    for m in &report.months {
        table.push(vec![
            Value::from(m.period.to_string()),
            m.gross_amount.into(),
            m.refunds_amount.into(),
            m.net_amount.into(),
            Value::Number(m.completed_orders),
        ]);
    }
    table
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

/// The city-wide report as one sheet.
pub fn city_turnover_table(report: &CityTurnover) -> Table {
    let mut table = Table::new(
        "Omzet kota",
        &[
            "kecamatan_code",
            "kecamatan_name",
            "kind",
            "merchants",
            "gross_amount",
            "refunds_amount",
            "net_amount",
            "completed_orders",
        ],
    );
    for r in &report.rows {
        table.push(vec![
            Value::from(&r.kecamatan_code),
            Value::from(&r.kecamatan_name),
            Value::from(&r.kind),
            Value::Number(r.merchants),
            r.gross_amount.into(),
            r.refunds_amount.into(),
            r.net_amount.into(),
            Value::Number(r.completed_orders),
        ]);
    }
    table
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
