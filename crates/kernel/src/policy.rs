//! City policies that admins change at run time: the turnover cap, fee and tax switches,
//! windows and limits. Stored in the `settings` table (`policy:{name}` → value) so every process
//! sees the same values; read through a short in-process cache because checkout reads them on
//! every request.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DbErr, Statement};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::money::Rupiah;

/// Every policy with its value. Defaults follow the city's stated rules; unconfirmed facts take
/// the conservative choice (fees 0, PPh 22 collection off).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct Policies {
    /// A merchant whose month-to-date turnover reaches this is hidden and takes no orders.
    pub turnover_cap_amount: Rupiah,
    /// Whether an ASN may buy from shops outside its area (domicile, or work place).
    pub buy_outside_area_allowed: bool,
    /// Platform fee charged to merchants on completed orders, in basis points (100 = 1%).
    pub platform_fee_bps: u32,
    /// Whether PPh 22 (PMK 37/2025) is withheld from merchants on completed orders.
    pub pph22_collection_enabled: bool,
    /// PPh 22 rate in basis points (0.5% = 50).
    pub pph22_rate_bps: u32,
    /// How long an unpaid checkout keeps its stock reserved.
    pub reservation_minutes: u32,
    /// How long after shipping an order completes by itself when the buyer neither confirms
    /// receipt nor disputes.
    pub confirmation_window_hours: u32,
    /// Working days from receipt within which a merchant must be paid.
    pub payout_sla_working_days: u32,
    /// Working days before the month ends when ASN still short of the minimum get a reminder.
    pub mandate_reminder_working_days: u32,
    /// Most lines one cart may have.
    pub max_cart_lines: u32,
    /// Most units of one listing per cart line.
    pub max_quantity_per_line: u32,
    /// The bank's prefix of our virtual account numbers.
    pub va_bank_prefix: String,
    /// OPD purchasing: PPh 22 the government buyer withholds, in basis points (1.5% = 150).
    pub opd_pph22_rate_bps: u32,
    /// OPD purchasing: PPh final (PP 55/2022) withheld instead of PPh 22 when the shop holds a
    /// verified certificate valid on the day the bill is issued, in basis points (0.5% = 50).
    pub opd_pph_final_rate_bps: u32,
    /// OPD purchasing: an order's base must be above this for tax to be withheld (before VAT;
    /// the shops are not VAT-registered, so the base is the order's total).
    pub opd_withholding_threshold: Rupiah,
    /// OPD purchasing: working days an order may wait for its PPK before it expires and its
    /// stock returns.
    pub opd_approval_working_days: u32,
    /// OPD purchasing: days the treasurer's bill stays payable.
    pub opd_bill_days: u32,
    /// The share of OPD spend the city targets for micro and small businesses and
    /// cooperatives, in basis points (40% = 4000); the OPD spend report compares against it.
    pub opd_small_business_target_bps: u32,
}

impl Default for Policies {
    fn default() -> Self {
        Self {
            turnover_cap_amount: Rupiah::new(30_000_000),
            buy_outside_area_allowed: true,
            platform_fee_bps: 0,
            pph22_collection_enabled: false,
            pph22_rate_bps: 50,
            reservation_minutes: 120,
            confirmation_window_hours: 72,
            payout_sla_working_days: 3,
            mandate_reminder_working_days: 3,
            max_cart_lines: 50,
            max_quantity_per_line: 1_000,
            va_bank_prefix: "88810".into(),
            opd_pph22_rate_bps: 150,
            opd_pph_final_rate_bps: 50,
            opd_withholding_threshold: Rupiah::new(2_000_000),
            opd_approval_working_days: 5,
            opd_bill_days: 14,
            opd_small_business_target_bps: 4_000,
        }
    }
}

impl Policies {
    /// The tax rate applied at completion: the PPh 22 rate when collection is on, else 0.
    pub fn tax_bps(&self) -> u32 {
        if self.pph22_collection_enabled {
            self.pph22_rate_bps
        } else {
            0
        }
    }

    /// Checks ranges; returns every problem as (field, message).
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if !self.turnover_cap_amount.is_positive() {
            out.push(("turnover_cap_amount", "must be positive".to_owned()));
        }
        if self.platform_fee_bps > 10_000 {
            out.push(("platform_fee_bps", "at most 10000 (100%)".to_owned()));
        }
        if self.pph22_rate_bps > 10_000 {
            out.push(("pph22_rate_bps", "at most 10000 (100%)".to_owned()));
        }
        if self.platform_fee_bps + self.pph22_rate_bps > 10_000 {
            out.push((
                "platform_fee_bps",
                "fee and tax together exceed 100%".to_owned(),
            ));
        }
        if !(1..=10_080).contains(&self.reservation_minutes) {
            out.push(("reservation_minutes", "from 1 to 10080".to_owned()));
        }
        if !(1..=2_160).contains(&self.confirmation_window_hours) {
            out.push(("confirmation_window_hours", "from 1 to 2160".to_owned()));
        }
        if !(1..=30).contains(&self.payout_sla_working_days) {
            out.push(("payout_sla_working_days", "from 1 to 30".to_owned()));
        }
        if !(1..=20).contains(&self.mandate_reminder_working_days) {
            out.push(("mandate_reminder_working_days", "from 1 to 20".to_owned()));
        }
        if !(1..=500).contains(&self.max_cart_lines) {
            out.push(("max_cart_lines", "from 1 to 500".to_owned()));
        }
        if !(1..=1_000_000).contains(&self.max_quantity_per_line) {
            out.push(("max_quantity_per_line", "from 1 to 1000000".to_owned()));
        }
        if self.opd_pph22_rate_bps > 10_000 {
            out.push(("opd_pph22_rate_bps", "at most 10000 (100%)".to_owned()));
        }
        if self.opd_pph_final_rate_bps > 10_000 {
            out.push(("opd_pph_final_rate_bps", "at most 10000 (100%)".to_owned()));
        }
        if self.opd_withholding_threshold.get() < 0 {
            out.push((
                "opd_withholding_threshold",
                "must not be negative".to_owned(),
            ));
        }
        if !(1..=60).contains(&self.opd_approval_working_days) {
            out.push(("opd_approval_working_days", "from 1 to 60".to_owned()));
        }
        if !(1..=90).contains(&self.opd_bill_days) {
            out.push(("opd_bill_days", "from 1 to 90".to_owned()));
        }
        if self.opd_small_business_target_bps > 10_000 {
            out.push((
                "opd_small_business_target_bps",
                "at most 10000 (100%)".to_owned(),
            ));
        }
        if !(2..=12).contains(&self.va_bank_prefix.len())
            || !self.va_bank_prefix.bytes().all(|b| b.is_ascii_digit())
        {
            out.push(("va_bank_prefix", "2 to 12 digits".to_owned()));
        }
        out
    }
}

const KEY: &str = "policy:current";
const TTL: Duration = Duration::from_secs(5);

/// Reads and writes policies, with a short in-process cache. Another process sees a change
/// within the cache's few seconds; this process sees it at once.
#[derive(Default)]
pub struct PolicyStore {
    cached: Mutex<Option<(Instant, Policies)>>,
}

impl PolicyStore {
    pub fn new() -> Self {
        Self::default()
    }

    pub async fn get<C: ConnectionTrait>(&self, conn: &C) -> Result<Policies, DbErr> {
        if let Some((at, policies)) = self
            .cached
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            && at.elapsed() < TTL
        {
            return Ok(policies.clone());
        }
        let policies = Self::load(conn).await?;
        *self.cached.lock().unwrap_or_else(PoisonError::into_inner) =
            Some((Instant::now(), policies.clone()));
        Ok(policies)
    }

    /// Reads straight from the database, bypassing the cache.
    pub async fn load<C: ConnectionTrait>(conn: &C) -> Result<Policies, DbErr> {
        let backend = conn.get_database_backend();
        let row = conn
            .query_one_raw(Statement::from_sql_and_values(
                backend,
                "SELECT value FROM settings WHERE key = $1",
                [KEY.into()],
            ))
            .await?;
        let Some(row) = row else {
            return Ok(Policies::default());
        };
        let value: String = row.try_get("", "value")?;
        // Unknown or missing fields fall back to defaults, so adding a policy needs no data
        // migration.
        serde_json::from_str(&value).map_err(|e| DbErr::Custom(format!("stored policies: {e}")))
    }

    /// Stores a new set of policies (already validated) and refreshes this process's cache.
    pub async fn set<C: ConnectionTrait>(
        &self,
        conn: &C,
        policies: &Policies,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), DbErr> {
        let backend = conn.get_database_backend();
        let value =
            serde_json::to_string(policies).map_err(|e| DbErr::Custom(format!("policies: {e}")))?;
        conn.execute_raw(Statement::from_sql_and_values(
            backend,
            "INSERT INTO settings (key, value, version, updated_at) VALUES ($1, $2, 1, $3) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, \
             version = settings.version + 1, updated_at = excluded.updated_at",
            [KEY.into(), value.into(), now.into()],
        ))
        .await?;
        *self.cached.lock().unwrap_or_else(PoisonError::into_inner) =
            Some((Instant::now(), policies.clone()));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_partial_json_fills_in_defaults() {
        assert!(Policies::default().problems().is_empty());
        let p: Policies = serde_json::from_str(r#"{"platform_fee_bps": 100}"#).expect("parses");
        assert_eq!(p.platform_fee_bps, 100);
        assert_eq!(p.turnover_cap_amount, Rupiah::new(30_000_000));
        assert_eq!(p.tax_bps(), 0);
    }

    #[test]
    fn out_of_range_values_are_reported() {
        let p = Policies {
            platform_fee_bps: 20_000,
            va_bank_prefix: "12a".into(),
            ..Policies::default()
        };
        let fields: Vec<_> = p.problems().into_iter().map(|(f, _)| f).collect();
        assert!(fields.contains(&"platform_fee_bps"));
        assert!(fields.contains(&"va_bank_prefix"));
    }
}
