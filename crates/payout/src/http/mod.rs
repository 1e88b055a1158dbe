//! HTTP routes of the ledger, turnover, payouts and reconciliation.

mod batches;
mod merchant_payouts;
mod opd_spend;
mod programme;
mod refund_batches;
mod reports;
mod statements;

use peken_kernel::role_set;
use utoipa_actix_web::service_config::ServiceConfig;

role_set!(pub TreasuryOrAdmin = [Treasury, Admin]);
role_set!(pub TurnoverReaders = [Merchant, Treasury, Admin]);
role_set!(pub LedgerReaders = [Merchant, Treasury]);
role_set!(pub PayoutReaders = [Merchant, Treasury, Admin]);
role_set!(pub ProgrammeReaders = [Admin, Camat]);

/// Registers the routes under the API scope.
pub fn configure(cfg: &mut ServiceConfig) {
    reports::configure(cfg);
    batches::configure(cfg);
    statements::configure(cfg);
    merchant_payouts::configure(cfg);
    refund_batches::configure(cfg);
    opd_spend::configure(cfg);
    programme::configure(cfg);
}
