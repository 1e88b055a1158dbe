//! The receiver signs the BAST (berita acara serah terima) of a shipped OPD order: the order
//! completes as a buyer's receipt completes it (ledger, payable, payout service level), its
//! tax including what the OPD withheld.

use chrono::NaiveDate;
use peken_identity::opd_staff::{self, Duty};
use peken_kernel::auth::Caller;
use peken_kernel::period::wib_date;
use peken_kernel::{ApiError, ApiResult, AppState};
use sea_orm::{ConnectionTrait, Statement, TransactionTrait};

use super::OpdOrderView;
use crate::lifecycle::{complete_order, transition};
use crate::status::Action;

/// Signs the BAST: `receipt_date` is the WIB day the goods were received (not in the future,
/// not before the order), `note` what the receiver recorded.
pub async fn sign(
    state: &AppState,
    caller: &Caller,
    order_id: &str,
    receipt_date: NaiveDate,
    note: Option<&str>,
) -> ApiResult<OpdOrderView> {
    let now = state.now();
    let txn = state.db.begin().await?;
    let (found, record) = super::own_order(&txn, caller, order_id).await?;
    opd_staff::require_duty(&txn, caller, Duty::Receiver).await?;
    if record.billed_by.as_deref() == Some(caller.user_id.as_str()) {
        return Err(ApiError::new(
            actix_web::http::StatusCode::FORBIDDEN,
            "payer_cannot_receive",
        )
        .with_detail("the treasurer who issued this order's bill may not sign its BAST"));
    }
    if receipt_date > wib_date(now) || receipt_date < wib_date(found.created_at) {
        return Err(ApiError::field(
            "receipt_date",
            "invalid_date",
            "the receipt date is between the order's day and today",
        ));
    }
    let before = transition(
        &txn,
        order_id,
        Action::ConfirmReceipt,
        Some(&caller.user_id),
        Some("BAST signed"),
        now,
    )
    .await?;
    complete_order(state, &txn, &before, now).await?;
    txn.execute_raw(Statement::from_sql_and_values(
        txn.get_database_backend(),
        "UPDATE opd_orders SET bast_signed_by = $1, bast_signed_at = $2, \
         bast_receipt_date = $3, bast_note = $4 WHERE order_id = $5",
        [
            caller.user_id.clone().into(),
            now.into(),
            receipt_date.to_string().into(),
            note.map(str::to_owned).into(),
            order_id.into(),
        ],
    ))
    .await?;
    peken_audit::record(
        &txn,
        caller,
        peken_audit::Change::new("order.bast_signed", "order", order_id)
            .before(serde_json::json!({"status": before.status}))
            .after(serde_json::json!({
                "status": "completed", "receipt_date": receipt_date, "note": note,
            })),
        now,
    )
    .await?;
    let view = super::get_on(state, &txn, caller, order_id).await?;
    txn.commit().await?;
    state.metrics.event("order_transition", "completed");
    Ok(view)
}
