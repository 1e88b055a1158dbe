//! Payouts and reconciliation on top of the journal (`peken_ledger`): turnover reports, payout
//! batches with four-eyes approval, the bank transfer file, failures and holds, bank statement
//! import (CSV and MT940), matching, exceptions, the trial balance, the daily close and the
//! payout service level; and the shop's own view of its payouts with the remittance advice as
//! a PDF.

pub mod batches;
pub mod holds;
pub mod http;
pub mod merchant_payouts;
pub mod notify;
pub mod reconcile;
pub mod refund_batches;
pub mod remittance;
pub mod reports;
pub mod statement;
pub mod transfer;
pub mod views;

#[cfg(test)]
mod proptests;
