//! What the OPDs spent through the marketplace, for the report on small-business purchasing.

use peken_kernel::period::Period;
use peken_kernel::sql;
use sea_orm::{ConnectionTrait, DbErr, Value};

/// The spend of one OPD at one shop in one WIB month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpendLine {
    pub opd_id: String,
    pub period: Period,
    pub merchant_id: String,
    /// Orders with something left after refunds.
    pub orders: i64,
    /// The orders' totals (before withholding: what the budget spent) less what was refunded
    /// of them: nothing of an order refunded whole, the shortfall of one supplied in part.
    pub amount: i64,
}

/// What an order spent: nothing once it was refunded whole (rejected, cancelled after payment,
/// a dispute refunded), else its total less the shortfall refunded at acceptance.
const SPENT: &str = "CASE WHEN o.status IN ('cancelled', 'rejected', 'refunded') THEN 0 \
                     ELSE o.total_amount - o.short_amount END";

/// The spend of OPD orders paid in the WIB months `from..=to` (their payment month, as an
/// ASN's spend), by OPD, month and shop, in one statement. `opd_id` limits it to one OPD.
pub async fn spend_lines<C: ConnectionTrait>(
    conn: &C,
    from: Period,
    to: Period,
    opd_id: Option<&str>,
) -> Result<Vec<SpendLine>, DbErr> {
    let mut values: Vec<Value> = vec![from.to_string().into(), to.to_string().into()];
    let opd_filter = match opd_id {
        Some(id) => {
            values.push(id.to_owned().into());
            " AND p.opd_id = $3"
        }
        None => "",
    };
    let rows = sql::query(
        conn,
        format!(
            "SELECT p.opd_id, o.paid_period, o.merchant_id, \
                    CAST(SUM(CASE WHEN {SPENT} > 0 THEN 1 ELSE 0 END) AS BIGINT) AS orders, \
                    CAST(SUM({SPENT}) AS BIGINT) AS amount \
             FROM opd_orders p \
             JOIN orders o ON o.id = p.order_id \
             WHERE o.paid_period >= $1 AND o.paid_period <= $2{opd_filter} \
             GROUP BY p.opd_id, o.paid_period, o.merchant_id \
             ORDER BY p.opd_id, o.paid_period, o.merchant_id"
        ),
        values,
    )
    .await?;
    rows.iter()
        .map(|r| {
            let period: String = r.try_get("", "paid_period")?;
            Ok(SpendLine {
                opd_id: r.try_get("", "opd_id")?,
                period: Period::parse(&period)
                    .map_err(|e| DbErr::Type(format!("paid_period {period:?}: {e}")))?,
                merchant_id: r.try_get("", "merchant_id")?,
                orders: r.try_get("", "orders")?,
                amount: r.try_get("", "amount")?,
            })
        })
        .collect()
}
