//! HTTP routes of checkout, orders and payments.

mod buying;
mod checkout;
mod mandate;
mod opd;
mod orders;
mod payments;
mod receipts;
mod refunds;
mod sales;

use utoipa_actix_web::service_config::ServiceConfig;

pub use payments::{CallbackBody, sign};

pub fn configure(cfg: &mut ServiceConfig) {
    buying::configure(cfg);
    checkout::configure(cfg);
    mandate::configure(cfg);
    opd::configure(cfg);
    orders::configure(cfg);
    payments::configure(cfg);
    refunds::configure(cfg);
    receipts::configure(cfg);
    sales::configure(cfg);
}
