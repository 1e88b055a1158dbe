//! Ledger, turnover, payout batches, bank statements and reconciliation.

mod bank_hold;
mod batches;
mod cash_series;
mod credits;
mod exports;
mod flow;
mod merchant_view;
mod refund_batches;
mod reports;
mod statements;
