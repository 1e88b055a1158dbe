//! Ledger, turnover, payout batches, bank statements and reconciliation.

mod bank_hold;
mod batches;
mod flow;
mod reports;
mod statements;
