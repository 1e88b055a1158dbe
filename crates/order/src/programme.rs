//! What the programme's reports read from the orders: each shop's last sale, and the paid
//! orders and distinct buyers of every WIB month. Read only; a few grouped statements whatever
//! the range.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use peken_kernel::sql;
use sea_orm::{ConnectionTrait, DbErr, Value};

/// `AND merchant_id IN (…)` for the shops given, numbered from `first`; nothing for all shops.
fn shop_filter(shops: Option<&[String]>, first: usize) -> (String, Vec<Value>) {
    match shops {
        None => (String::new(), Vec::new()),
        Some(ids) => (
            format!(" AND merchant_id IN ({})", sql::list(ids.len(), first)),
            ids.iter().map(|id| id.clone().into()).collect(),
        ),
    }
}

/// When each shop first and last had an order paid (`orders.paid_at`); shops that never sold
/// are absent. `shops` limits the answer to those shops (`None`: every shop).
pub async fn sales_span<C: ConnectionTrait>(
    conn: &C,
    shops: Option<&[String]>,
) -> Result<HashMap<String, (DateTime<Utc>, DateTime<Utc>)>, DbErr> {
    if shops.is_some_and(<[String]>::is_empty) {
        return Ok(HashMap::new());
    }
    let (filter, values) = shop_filter(shops, 1);
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

/// The paid orders and distinct buyers of one WIB month (the month the buyer paid in).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MonthBuyers {
    /// `YYYY-MM`.
    pub period: String,
    pub paid_orders: i64,
    pub buyers: i64,
    pub asn_buyers: i64,
    pub public_buyers: i64,
}

/// Every WIB month with a paid order, from `from` to `to` (`YYYY-MM`, inclusive): its paid
/// orders (whatever became of them later) and its distinct buyers, ASN and public apart.
pub async fn monthly_buyers<C: ConnectionTrait>(
    conn: &C,
    shops: Option<&[String]>,
    from: &str,
    to: &str,
) -> Result<Vec<MonthBuyers>, DbErr> {
    if shops.is_some_and(<[String]>::is_empty) {
        return Ok(Vec::new());
    }
    let (filter, mut shop_values) = shop_filter(shops, 3);
    let mut values: Vec<Value> = vec![from.into(), to.into()];
    values.append(&mut shop_values);
    let rows = sql::query(
        conn,
        format!(
            "SELECT paid_period, COUNT(*) AS paid_orders, COUNT(DISTINCT buyer_id) AS buyers, \
             COUNT(DISTINCT CASE WHEN buyer_role = 'asn' THEN buyer_id END) AS asn_buyers, \
             COUNT(DISTINCT CASE WHEN buyer_role = 'public' THEN buyer_id END) AS public_buyers \
             FROM orders WHERE paid_period IS NOT NULL AND paid_period >= $1 \
             AND paid_period <= $2{filter} GROUP BY paid_period ORDER BY paid_period"
        ),
        values,
    )
    .await?;
    rows.iter()
        .map(|r| {
            Ok(MonthBuyers {
                period: r.try_get("", "paid_period")?,
                paid_orders: r.try_get("", "paid_orders")?,
                buyers: r.try_get("", "buyers")?,
                asn_buyers: r.try_get("", "asn_buyers")?,
                public_buyers: r.try_get("", "public_buyers")?,
            })
        })
        .collect()
}

/// Distinct buyers with a paid order in the months `from` to `to` (`YYYY-MM`, inclusive): all,
/// ASN and public.
pub async fn distinct_buyers<C: ConnectionTrait>(
    conn: &C,
    shops: Option<&[String]>,
    from: &str,
    to: &str,
) -> Result<(i64, i64, i64), DbErr> {
    if shops.is_some_and(<[String]>::is_empty) {
        return Ok((0, 0, 0));
    }
    let (filter, mut shop_values) = shop_filter(shops, 3);
    let mut values: Vec<Value> = vec![from.into(), to.into()];
    values.append(&mut shop_values);
    let row = sql::query_one(
        conn,
        format!(
            "SELECT COUNT(DISTINCT buyer_id) AS buyers, \
             COUNT(DISTINCT CASE WHEN buyer_role = 'asn' THEN buyer_id END) AS asn_buyers, \
             COUNT(DISTINCT CASE WHEN buyer_role = 'public' THEN buyer_id END) AS public_buyers \
             FROM orders WHERE paid_period IS NOT NULL AND paid_period >= $1 \
             AND paid_period <= $2{filter}"
        ),
        values,
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
