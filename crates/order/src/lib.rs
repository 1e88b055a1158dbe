//! Checkout, payments and the order lifecycle: one cart becomes one payment and one order per
//! shop; stock is reserved at checkout, sold at payment, returned at cancellation or expiry.

pub mod actions;
pub mod checkout;
pub mod credit;
pub mod holding;
pub mod http;
pub mod lifecycle;
pub mod mandate;
pub mod notify;
pub mod opd;
pub mod partial;
pub mod payment;
pub mod programme;
pub mod qris;
pub mod receipt;
pub mod refund_accounts;
pub mod refunds;
pub mod reminders;
pub mod reorder;
pub mod sales;
pub mod status;
pub mod store;
pub mod suggestion;
pub mod views;

/// Background work of this crate, one pass each; the server runs them on a timer and tests
/// call them directly.
pub mod workers {
    use peken_kernel::{ApiResult, AppState};

    /// Expires unpaid bills and OPD orders not approved or billed in time, and completes shipped
    /// orders past their window (not OPD orders: they complete with their BAST).
    pub async fn run_once(state: &AppState) -> ApiResult<usize> {
        let expired = crate::payment::expire_due(state, 200).await?;
        let completed = crate::actions::auto_complete_due(state, 200).await?;
        let opd_expired = crate::opd::expire_due(state, 200).await?;
        Ok(expired + completed + opd_expired)
    }
}
