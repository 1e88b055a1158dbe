//! Ledger, turnover, payout batches, bank statements and reconciliation.

mod batches;
mod fixtures;
mod flow;
mod reports;
mod statements;
