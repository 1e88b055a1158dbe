//! What the payout service answers: plain response types (never storage entities).

use chrono::{DateTime, Utc};
use peken_kernel::Rupiah;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A payout batch.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BatchView {
    pub id: String,
    /// Completed orders (and other payable changes) up to this instant are included.
    pub cutoff: DateTime<Utc>,
    /// `draft`, `approved` or `cancelled`.
    pub status: String,
    pub item_count: i32,
    pub total_amount: Rupiah,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub approved_by: Option<String>,
    pub approved_at: Option<DateTime<Utc>>,
    pub cancelled_by: Option<String>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

/// One transfer to one merchant.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ItemView {
    pub id: String,
    pub batch_id: String,
    pub merchant_id: String,
    pub amount: Rupiah,
    /// Unique; must appear in the transfer remark so the statement line can be matched.
    pub reference: String,
    pub bank_code: String,
    pub account_number: String,
    pub account_name: String,
    /// `BIFAST`, `SKN` or `RTGS`, chosen by amount.
    pub rail: String,
    /// `draft`, `approved` (in transit), `paid` (seen on the statement), `failed` or `cancelled`.
    pub status: String,
    /// The oldest receipt (order completion) this item pays: the payout service level runs
    /// from it.
    pub oldest_receipt_at: Option<DateTime<Utc>>,
    pub approved_at: Option<DateTime<Utc>>,
    pub settled_at: Option<DateTime<Utc>>,
    pub failed_at: Option<DateTime<Utc>>,
    pub failure_reason: Option<String>,
}

/// A merchant left out of a batch, and why.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SkippedMerchant {
    pub merchant_id: String,
    pub amount: Rupiah,
    /// `merchant_unknown`, or `bank_account_unconfirmed`: the merchant changed its bank
    /// account, and payouts to the new one wait for an admin's confirmation or the cooling-off
    /// period (`until`).
    pub reason: String,
    pub until: Option<DateTime<Utc>>,
}

/// A batch with its items.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BatchDetail {
    #[serde(flatten)]
    pub batch: BatchView,
    pub items: Vec<ItemView>,
    /// Merchants owed money who were not included because they are held (after a failed
    /// payout) at the time the batch was built.
    pub held_merchants: Vec<String>,
    pub skipped: Vec<SkippedMerchant>,
}

/// A hold on a merchant's payouts.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HoldView {
    pub id: String,
    pub merchant_id: String,
    pub reason: String,
    pub payout_item_id: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub cleared_by: Option<String>,
    pub cleared_at: Option<DateTime<Utc>>,
    pub clear_note: Option<String>,
}
