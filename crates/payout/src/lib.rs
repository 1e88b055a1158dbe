//! Payouts and reconciliation on top of the journal (`peken_ledger`): turnover reports, payout
//! batches with four-eyes approval, the bank transfer file, failures and holds, bank statement
//! import (CSV and MT940), matching, exceptions, the trial balance, the daily close and the
//! payout service level.

pub mod batches;
pub mod holds;
pub mod http;
pub mod notify;
pub mod reconcile;
pub mod reports;
pub mod statement;
pub mod views;

#[cfg(test)]
mod proptests;
