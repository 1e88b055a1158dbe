//! Ledger, turnover, payout batches, bank statements and reconciliation.

mod bank_hold;
mod batches;
mod flow;
mod merchant_view;
mod refund_batches;
mod reports;
mod statements;
