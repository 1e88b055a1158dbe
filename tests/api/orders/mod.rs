//! Checkout, payments and the order lifecycle.

mod checkout;
mod concurrency;
pub(crate) mod fixtures;
mod holding;
mod lifecycle;
