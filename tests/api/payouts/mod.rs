//! Ledger, turnover, payout batches, bank statements and reconciliation.

mod bank_hold;
mod batches;
pub(crate) mod fixtures;
mod flow;
mod reports;
mod statements;
