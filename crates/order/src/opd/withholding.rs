//! The tax an OPD withholds from a shop when it pays (PPh 22, or PP 55/2022 final instead when
//! the shop holds a verified certificate valid on the day the bill is issued).
//!
//! Computed per order when the treasurer issues the bill and stored (`tax_withholdings`), one
//! row and one slip (bukti potong) per order. The base is the order's total: the shops are not
//! VAT-registered, so the price before VAT is the price ([`base_of`] is the one place a VAT base
//! would be taken out). Tax is withheld only when the base is above
//! `Policies::opd_withholding_threshold` (Rp2,000,000 by default), at
//! `opd_pph22_rate_bps` (1.5%) or `opd_pph_final_rate_bps` (0.5%), rounded half up with
//! `Rupiah::apply_rate_bps`, the kernel's one tax rounding.

use chrono::{DateTime, Utc};
use peken_kernel::policy::Policies;
use peken_kernel::{ApiError, ApiResult, Rupiah};
use sea_orm::{ConnectionTrait, Statement};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WithholdingKind {
    /// PPh pasal 22 withheld by a government treasurer.
    Pph22,
    /// PPh final 0.5% (PP 55/2022), for a shop with a valid certificate.
    PphFinal,
}

impl WithholdingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            WithholdingKind::Pph22 => "pph22",
            WithholdingKind::PphFinal => "pph_final",
        }
    }

    pub fn parse(s: &str) -> Option<WithholdingKind> {
        match s {
            "pph22" => Some(WithholdingKind::Pph22),
            "pph_final" => Some(WithholdingKind::PphFinal),
            _ => None,
        }
    }
}

/// What is withheld from one order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Withheld {
    pub kind: WithholdingKind,
    pub rate_bps: u32,
    pub base: Rupiah,
    pub amount: Rupiah,
    /// The PP 55/2022 certificate that made it final.
    pub certificate_number: Option<String>,
}

/// The base of the withholding: the price before VAT. The shops are not VAT-registered, so it
/// is the order's total; a VAT-registered shop's base would be its total less the VAT here.
pub fn base_of(total: Rupiah) -> Rupiah {
    total
}

/// The withholding of an order of `total`, or `None` when its base is at or below the
/// threshold (or the tax rounds to nothing). `certificate` is the number of the shop's
/// verified PP 55/2022 certificate valid on the bill's day.
pub fn compute(total: Rupiah, policies: &Policies, certificate: Option<&str>) -> Option<Withheld> {
    let base = base_of(total);
    if base <= policies.opd_withholding_threshold {
        return None;
    }
    let (kind, rate_bps) = match certificate {
        Some(_) => (WithholdingKind::PphFinal, policies.opd_pph_final_rate_bps),
        None => (WithholdingKind::Pph22, policies.opd_pph22_rate_bps),
    };
    let amount = base.apply_rate_bps(rate_bps)?;
    amount.is_positive().then(|| Withheld {
        kind,
        rate_bps,
        base,
        amount,
        certificate_number: certificate.map(str::to_owned),
    })
}

/// A withholding and its slip, as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WithholdingView {
    pub id: String,
    pub order_id: String,
    pub merchant_id: String,
    pub opd_id: String,
    pub payment_id: String,
    pub kind: WithholdingKind,
    pub rate_bps: u32,
    pub base_amount: Rupiah,
    pub amount: Rupiah,
    /// The bukti potong's number.
    pub slip_number: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_number: Option<String>,
    pub created_at: DateTime<Utc>,
}

fn from_row(row: &sea_orm::QueryResult) -> ApiResult<WithholdingView> {
    let kind: String = row.try_get("", "kind")?;
    Ok(WithholdingView {
        id: row.try_get("", "id")?,
        order_id: row.try_get("", "order_id")?,
        merchant_id: row.try_get("", "merchant_id")?,
        opd_id: row.try_get("", "opd_id")?,
        payment_id: row.try_get("", "payment_id")?,
        kind: WithholdingKind::parse(&kind)
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("unknown withholding {kind}")))?,
        rate_bps: u32::try_from(row.try_get::<i32>("", "rate_bps")?).unwrap_or(0),
        base_amount: Rupiah::new(row.try_get("", "base_amount")?),
        amount: Rupiah::new(row.try_get("", "amount")?),
        slip_number: row.try_get("", "slip_number")?,
        certificate_number: row.try_get("", "certificate_number")?,
        created_at: row.try_get("", "created_at")?,
    })
}

const COLUMNS: &str = "id, order_id, merchant_id, opd_id, payment_id, kind, rate_bps, \
                       base_amount, amount, slip_number, certificate_number, created_at";

/// The withholding of an order, if any.
pub async fn of_order<C: ConnectionTrait>(
    conn: &C,
    order_id: &str,
) -> ApiResult<Option<WithholdingView>> {
    let row = conn
        .query_one_raw(Statement::from_sql_and_values(
            conn.get_database_backend(),
            format!("SELECT {COLUMNS} FROM tax_withholdings WHERE order_id = $1"),
            [order_id.into()],
        ))
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// What was withheld from an order (0 when nothing).
pub async fn amount_of<C: ConnectionTrait>(conn: &C, order_id: &str) -> ApiResult<Rupiah> {
    Ok(of_order(conn, order_id)
        .await?
        .map_or(Rupiah::ZERO, |w| w.amount))
}

/// The withholdings of an OPD created in `[from, to)`, oldest first.
pub async fn of_opd_between<C: ConnectionTrait>(
    conn: &C,
    opd_id: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> ApiResult<Vec<WithholdingView>> {
    let rows = conn
        .query_all_raw(Statement::from_sql_and_values(
            conn.get_database_backend(),
            format!(
                "SELECT {COLUMNS} FROM tax_withholdings WHERE opd_id = $1 AND created_at >= $2 \
                 AND created_at < $3 ORDER BY created_at, slip_number"
            ),
            [opd_id.into(), from.into(), to.into()],
        ))
        .await?;
    rows.iter().map(from_row).collect()
}

/// Removes the withholding computed for an order on a bill that expired unpaid: nothing was
/// withheld, so no slip remains.
pub(crate) async fn void<C: ConnectionTrait>(
    conn: &C,
    order_id: &str,
    payment_id: &str,
) -> ApiResult<()> {
    conn.execute_raw(Statement::from_sql_and_values(
        conn.get_database_backend(),
        "DELETE FROM tax_withholdings WHERE order_id = $1 AND payment_id = $2",
        [order_id.into(), payment_id.into()],
    ))
    .await?;
    Ok(())
}

/// The withholdings of orders paid by the given bills, by order id.
pub(crate) async fn of_payments<C: ConnectionTrait>(
    conn: &C,
    payment_ids: &[String],
) -> ApiResult<std::collections::HashMap<String, Rupiah>> {
    let mut out = std::collections::HashMap::new();
    for chunk in payment_ids.chunks(500) {
        let list = peken_kernel::sql::list(chunk.len(), 1);
        let rows = conn
            .query_all_raw(Statement::from_sql_and_values(
                conn.get_database_backend(),
                format!(
                    "SELECT order_id, amount FROM tax_withholdings WHERE payment_id IN ({list})"
                ),
                chunk.iter().map(|id| id.clone().into()),
            ))
            .await?;
        for row in rows {
            out.insert(
                row.try_get::<String>("", "order_id")?,
                Rupiah::new(row.try_get("", "amount")?),
            );
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policies() -> Policies {
        Policies::default()
    }

    #[test]
    fn at_the_threshold_nothing_one_rupiah_above_pph22() {
        assert_eq!(compute(Rupiah::new(2_000_000), &policies(), None), None);
        let w = compute(Rupiah::new(2_000_001), &policies(), None).expect("withheld");
        assert_eq!(w.kind, WithholdingKind::Pph22);
        assert_eq!(w.rate_bps, 150);
        // 2,000,001 × 1.5% = 30,000.015 → 30,000.
        assert_eq!(w.amount, Rupiah::new(30_000));
    }

    #[test]
    fn a_certificate_makes_it_final_and_halves_round_up() {
        // 2,000,100 × 0.5% = 10,000.5 → 10,001 (half up).
        let w = compute(Rupiah::new(2_000_100), &policies(), Some("PP55-1")).expect("withheld");
        assert_eq!(w.kind, WithholdingKind::PphFinal);
        assert_eq!(w.amount, Rupiah::new(10_001));
        assert_eq!(w.certificate_number.as_deref(), Some("PP55-1"));
        // 2,000,100 × 1.5% = 30,001.5 → 30,002.
        let w = compute(Rupiah::new(2_000_100), &policies(), None).expect("withheld");
        assert_eq!(w.amount, Rupiah::new(30_002));
    }
}
