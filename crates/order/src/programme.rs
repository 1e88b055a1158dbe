//! What the programme's reports read from the orders: each shop's last sale, and the distinct
//! buyers of every WIB month (`buyer_months`, kept by every payment). A grouped statement or
//! two whatever the range.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use peken_kernel::sql;
use sea_orm::{ConnectionTrait, DbErr, Value};

/// When each shop first and last had an order paid (`orders.paid_at`); shops that never sold
/// are absent. `shops` limits the answer to those shops (`None`: every shop).
pub async fn sales_span<C: ConnectionTrait>(
    conn: &C,
    shops: Option<&[String]>,
) -> Result<HashMap<String, (DateTime<Utc>, DateTime<Utc>)>, DbErr> {
    if shops.is_some_and(<[String]>::is_empty) {
        return Ok(HashMap::new());
    }
    let (filter, values) = sql::shop_filter(shops, 1);
    let rows = sql::query(
        conn,
        format!(
            "SELECT merchant_id, MIN(paid_at) AS first_paid_at, MAX(paid_at) AS last_paid_at FROM orders \
             WHERE paid_at IS NOT NULL{filter} GROUP BY merchant_id"
        ),
        values,
    )
    .await?;
    let mut out = HashMap::with_capacity(rows.len());
    for r in rows {
        let first: Option<DateTime<Utc>> = r.try_get("", "first_paid_at")?;
        let last: Option<DateTime<Utc>> = r.try_get("", "last_paid_at")?;
        if let (Some(first), Some(last)) = (first, last) {
            out.insert(r.try_get("", "merchant_id")?, (first, last));
        }
    }
    Ok(out)
}

/// The scope of the whole city in `buyer_months` (else a kecamatan code).
pub const CITY: &str = "*";

/// A buyer's payment for the programme's counts: the WIB month paid in, the buyer, the shop
/// paid and the role the order was placed in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct BuyerPaid<'a> {
    pub period: String,
    pub buyer_id: &'a str,
    pub merchant_id: &'a str,
    pub role: &'a str,
}

/// Records buyers who paid (`buyer_months`): one row per WIB month, scope (the city, and the
/// kecamatan of each shop paid) and buyer, marking whether they paid as a civil servant or as
/// a resident. Kept in the payment's transaction; a row is rewritten only when it gains a
/// role, so a buyer's second payment of the month changes nothing. One statement per chunk.
///
/// # Errors
/// When a statement fails.
pub async fn record_buyers<C: ConnectionTrait>(
    conn: &C,
    paid: &[BuyerPaid<'_>],
) -> Result<(), DbErr> {
    for chunk in distinct(paid).chunks(sql::CHUNK_ROWS) {
        sql::exec(
            conn,
            format!(
                "WITH v (period, buyer_id, merchant_id, asn, public) AS (VALUES {}) {}",
                sql::values_rows(chunk.len(), 5, 1),
                buyers_upsert("v")
            ),
            buyer_values(chunk),
        )
        .await?;
    }
    Ok(())
}

/// [`record_buyers`] as the part `name` of a PostgreSQL [`sql::Chain`] (with its rows in the
/// part `{name}_v` before it), for at most [`sql::CHUNK_ROWS`] payments.
pub fn record_buyers_chained(chain: &mut sql::Chain, name: &str, paid: &[BuyerPaid<'_>]) {
    let rows = distinct(paid);
    let v = format!("{name}_v");
    chain
        .with(
            &format!("{v} (period, buyer_id, merchant_id, asn, public)"),
            &format!("VALUES {}", sql::values_rows(rows.len(), 5, 1)),
            buyer_values(&rows),
        )
        .with(
            name,
            &format!("{} RETURNING buyer_id", buyers_upsert(&v)),
            Vec::new(),
        );
}

fn distinct<'p, 'a>(paid: &'p [BuyerPaid<'a>]) -> Vec<&'p BuyerPaid<'a>> {
    let mut rows: Vec<&BuyerPaid<'_>> = paid.iter().collect();
    rows.sort();
    rows.dedup();
    rows
}

fn buyer_values(rows: &[&BuyerPaid<'_>]) -> Vec<Value> {
    let mut values: Vec<Value> = Vec::with_capacity(rows.len() * 5);
    for row in rows {
        values.extend([
            row.period.clone().into(),
            row.buyer_id.into(),
            row.merchant_id.into(),
            i32::from(row.role == "asn").into(),
            i32::from(row.role == "public").into(),
        ]);
    }
    values
}

/// The upsert of `buyer_months` from the rows `v` (`period, buyer_id, merchant_id, asn, public`):
/// the city's row and each shop's kecamatan's, a role gained raising its flag.
fn buyers_upsert(v: &str) -> String {
    format!(
        "INSERT INTO buyer_months (period, scope, buyer_id, asn, public) \
         SELECT r.period, r.scope, r.buyer_id, MAX(r.asn), MAX(r.public) FROM ( \
         SELECT {v}.period, m.kecamatan_code AS scope, {v}.buyer_id, {v}.asn, {v}.public \
         FROM {v} JOIN merchants m ON m.id = {v}.merchant_id \
         UNION ALL SELECT {v}.period, '{CITY}', {v}.buyer_id, {v}.asn, {v}.public FROM {v} \
         ) AS r WHERE true GROUP BY r.period, r.scope, r.buyer_id \
         ON CONFLICT (period, scope, buyer_id) DO UPDATE SET \
         asn = CASE WHEN excluded.asn > buyer_months.asn THEN excluded.asn ELSE buyer_months.asn END, \
         public = CASE WHEN excluded.public > buyer_months.public THEN excluded.public ELSE buyer_months.public END \
         WHERE excluded.asn > buyer_months.asn OR excluded.public > buyer_months.public"
    )
}

/// The distinct buyers of one WIB month (the month the buyer paid in).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MonthBuyers {
    /// `YYYY-MM`.
    pub period: String,
    pub buyers: i64,
    pub asn_buyers: i64,
    pub public_buyers: i64,
}

/// Every WIB month with a paid order, from `from` to `to` (`YYYY-MM`, inclusive): its distinct
/// buyers, ASN and public apart, in the whole city or at the shops of one kecamatan (by the
/// shop's kecamatan when it was paid). Read from `buyer_months`.
pub async fn monthly_buyers<C: ConnectionTrait>(
    conn: &C,
    kecamatan_code: Option<&str>,
    from: &str,
    to: &str,
) -> Result<Vec<MonthBuyers>, DbErr> {
    let rows = sql::query(
        conn,
        "SELECT period, COUNT(*) AS buyers, CAST(SUM(asn) AS BIGINT) AS asn_buyers, \
         CAST(SUM(public) AS BIGINT) AS public_buyers FROM buyer_months \
         WHERE scope = $1 AND period >= $2 AND period <= $3 GROUP BY period ORDER BY period",
        vec![
            kecamatan_code.unwrap_or(CITY).into(),
            from.into(),
            to.into(),
        ],
    )
    .await?;
    rows.iter()
        .map(|r| {
            Ok(MonthBuyers {
                period: r.try_get("", "period")?,
                buyers: r.try_get("", "buyers")?,
                asn_buyers: r.try_get("", "asn_buyers")?,
                public_buyers: r.try_get("", "public_buyers")?,
            })
        })
        .collect()
}

/// Distinct buyers with a paid order in the months `from` to `to` (`YYYY-MM`, inclusive): all,
/// ASN and public; in the whole city or at one kecamatan's shops.
pub async fn distinct_buyers<C: ConnectionTrait>(
    conn: &C,
    kecamatan_code: Option<&str>,
    from: &str,
    to: &str,
) -> Result<(i64, i64, i64), DbErr> {
    let row = sql::query_one(
        conn,
        "SELECT COUNT(DISTINCT buyer_id) AS buyers, \
         COUNT(DISTINCT CASE WHEN asn = 1 THEN buyer_id END) AS asn_buyers, \
         COUNT(DISTINCT CASE WHEN public = 1 THEN buyer_id END) AS public_buyers \
         FROM buyer_months WHERE scope = $1 AND period >= $2 AND period <= $3",
        vec![
            kecamatan_code.unwrap_or(CITY).into(),
            from.into(),
            to.into(),
        ],
    )
    .await?;
    match row {
        Some(r) => Ok((
            r.try_get("", "buyers")?,
            r.try_get("", "asn_buyers")?,
            r.try_get("", "public_buyers")?,
        )),
        None => Ok((0, 0, 0)),
    }
}
