//! The double-entry journal: the posting API every money movement goes through.
//!
//! A posting is a transaction with a unique natural key and entries that sum to zero, appended
//! together with the balance changes inside the caller's database transaction. Entries are
//! never updated or deleted; a correction is a reversing transaction. See [`account`] for the
//! sign convention (debits positive).
//!
//! ```text
//! payment confirmed    collection +a            buyer_funds_held -a
//! order completed      buyer_funds_held +gross  merchant_payable -net, platform_fee -fee, tax_withheld -tax
//! refund (before)      buyer_funds_held +a      refunds_payable -a
//! shortfall            buyer_funds_held +a      refunds_payable -a   (order:{id}:short, before completion only)
//! refund (after)       merchant_payable +net', platform_fee +fee', tax_withheld +tax'   refunds_payable -a
//! payout approved      merchant_payable +a      payout_in_transit -a
//! payout settled       payout_in_transit +a     collection -a
//! payout failed        payout_in_transit +a     merchant_payable -a
//! refund paid          refunds_payable +a       collection -a
//! ```

pub mod account;
pub mod claims;
pub mod error;
pub mod post;
pub mod postings;
pub mod read;

pub use account::{Account, NormalSide};
pub use error::LedgerError;
pub use post::{NewTransaction, Posted, Refs, TURNOVER_THRESHOLDS, TxnKind, post, post_many};
pub use postings::{
    payout_approved, payout_failed, payout_settled, post_order_completed, post_payment_confirmed,
    post_refund, post_refund_paid, post_shortfall, post_withholding, post_withholding_reversed,
    refund_paid, reverse, split_completed,
};

#[cfg(test)]
mod tests;
