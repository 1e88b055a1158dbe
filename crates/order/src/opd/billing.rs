//! The treasurer's bill for approved OPD orders: one VA bill in the `payments` table (the same
//! collection account, callbacks and statement credits as any bill) for the orders' totals less
//! the tax withheld from each, which is computed and stored here with its slip number.

use chrono::{DateTime, Duration, Utc};
use peken_identity::opd_staff::{self, Duty};
use peken_kernel::auth::Caller;
use peken_kernel::db::new_id;
use peken_kernel::period::{Period, wib_date};
use peken_kernel::{ApiError, ApiResult, AppState, Rupiah};
use sea_orm::{ConnectionTrait, Statement, TransactionTrait};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::withholding::{self, WithholdingKind};
use crate::checkout::{NewBill, PaymentInstructions, PaymentMethod, insert_payment};
use crate::status::OrderStatus;

/// One order on a bill.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BilledOrder {
    pub order_id: String,
    pub merchant_id: String,
    pub total_amount: Rupiah,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub withholding_kind: Option<WithholdingKind>,
    /// The tax withheld from this order (0 when its base is at or below the threshold).
    pub withheld_amount: Rupiah,
    /// What the bill pays for this order: its total less the tax withheld.
    pub billed_amount: Rupiah,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slip_number: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OpdBill {
    pub payment: PaymentInstructions,
    pub orders: Vec<BilledOrder>,
    /// The orders' totals.
    pub total_amount: Rupiah,
    /// The tax withheld from them.
    pub withheld_amount: Rupiah,
}

fn not_billable(order_id: &str) -> ApiError {
    ApiError::conflict(
        "orders_not_billable",
        "an order is not awaiting payment or was billed already",
    )
    .with_context(serde_json::json!({"order_id": order_id}))
}

/// The slip number of an order's withholding: the WIB month and the order's id.
fn slip_number(at: DateTime<Utc>, order_id: &str) -> String {
    format!("BP/{}/{order_id}", Period::of(at))
}

/// The treasurer bills orders of its OPD awaiting payment, all or nothing.
pub async fn bill(state: &AppState, caller: &Caller, order_ids: &[String]) -> ApiResult<OpdBill> {
    let now = state.now();
    let policies = state.policies.get(&state.db).await?;
    let mut ids: Vec<String> = order_ids.to_vec();
    ids.sort();
    ids.dedup();
    let txn = state.db.begin().await?;
    let opd_id = opd_staff::require_duty(&txn, caller, Duty::Treasurer).await?;
    let today = wib_date(now);
    let payment_id = new_id();
    let backend = txn.get_database_backend();
    let mut billed = Vec::with_capacity(ids.len());
    let mut total = Rupiah::ZERO;
    let mut withheld = Rupiah::ZERO;
    for order_id in &ids {
        let (found, record) = super::own_order(&txn, caller, order_id).await?;
        if found.status != OrderStatus::AwaitingPayment.as_str() || record.billed_at.is_some() {
            return Err(not_billable(order_id));
        }
        let order_total = Rupiah::new(found.total_amount);
        let certificate =
            peken_merchant::tax_certificate::valid_on(&txn, &found.merchant_id, today).await?;
        let w = withholding::compute(order_total, &policies, certificate.as_deref());
        let slip = w.as_ref().map(|_| slip_number(now, order_id));
        if let (Some(w), Some(slip)) = (&w, &slip) {
            txn.execute_raw(Statement::from_sql_and_values(
                backend,
                "INSERT INTO tax_withholdings (id, order_id, merchant_id, opd_id, payment_id, \
                 kind, rate_bps, base_amount, amount, slip_number, certificate_number, \
                 created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                [
                    new_id().into(),
                    order_id.clone().into(),
                    found.merchant_id.clone().into(),
                    opd_id.clone().into(),
                    payment_id.clone().into(),
                    w.kind.as_str().into(),
                    i32::try_from(w.rate_bps).unwrap_or(i32::MAX).into(),
                    w.base.get().into(),
                    w.amount.get().into(),
                    slip.clone().into(),
                    w.certificate_number.clone().into(),
                    now.into(),
                ],
            ))
            .await?;
        }
        let amount_withheld = w.as_ref().map_or(Rupiah::ZERO, |w| w.amount);
        total = total
            .checked_add(order_total)
            .ok_or_else(crate::checkout::too_large)?;
        withheld = withheld
            .checked_add(amount_withheld)
            .ok_or_else(crate::checkout::too_large)?;
        billed.push(BilledOrder {
            order_id: order_id.clone(),
            merchant_id: found.merchant_id.clone(),
            total_amount: order_total,
            withholding_kind: w.as_ref().map(|w| w.kind),
            withheld_amount: amount_withheld,
            billed_amount: order_total
                .checked_sub(amount_withheld)
                .ok_or_else(crate::checkout::too_large)?,
            slip_number: slip,
        });
    }
    // Claimed conditionally: two treasurers billing the same order cannot both succeed.
    let list = peken_kernel::sql::list(ids.len(), 4);
    let mut values: Vec<sea_orm::Value> = vec![
        caller.user_id.clone().into(),
        now.into(),
        opd_id.clone().into(),
    ];
    values.extend(ids.iter().map(|id| id.clone().into()));
    let claimed = txn
        .execute_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "UPDATE opd_orders SET billed_by = $1, billed_at = $2 \
                 WHERE opd_id = $3 AND billed_at IS NULL AND order_id IN ({list})"
            ),
            values,
        ))
        .await?;
    let mut values: Vec<sea_orm::Value> = vec![
        payment_id.clone().into(),
        now.into(),
        "awaiting_payment".into(),
    ];
    values.extend(ids.iter().map(|id| id.clone().into()));
    let moved = txn
        .execute_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "UPDATE orders SET payment_id = $1, updated_at = $2 \
                 WHERE status = $3 AND id IN ({list})"
            ),
            values,
        ))
        .await?;
    let count = u64::try_from(ids.len()).unwrap_or(u64::MAX);
    if claimed.rows_affected() != count || moved.rows_affected() != count {
        return Err(not_billable(ids.first().map_or("", String::as_str)));
    }
    let amount = total
        .checked_sub(withheld)
        .ok_or_else(crate::checkout::too_large)?;
    if !amount.is_positive() {
        return Err(ApiError::unprocessable(
            "amount_too_large",
            "the bill's amount must be positive",
        ));
    }
    let expires_at = now + Duration::days(i64::from(policies.opd_bill_days));
    let (va_number, _) = insert_payment(
        &txn,
        &NewBill {
            id: &payment_id,
            checkout_id: &payment_id,
            buyer_id: &caller.user_id,
            method: PaymentMethod::Va,
            amount,
            expires_at,
            va_prefix: &policies.va_bank_prefix,
        },
        now,
    )
    .await?;
    peken_audit::record(
        &txn,
        caller,
        peken_audit::Change::new("opd.bill_issued", "payment", &payment_id).after(
            serde_json::json!({
                "orders": ids, "total_amount": total, "withheld_amount": withheld,
                "amount": amount,
            }),
        ),
        now,
    )
    .await?;
    txn.commit().await?;
    state.metrics.event("opd_bill", "issued");
    Ok(OpdBill {
        payment: PaymentInstructions {
            id: payment_id,
            method: PaymentMethod::Va,
            amount,
            va_number,
            qris_payload: None,
            expires_at,
        },
        orders: billed,
        total_amount: total,
        withheld_amount: withheld,
    })
}
