//! Checkout, payments and the order lifecycle.

mod checkout;
mod concurrency;
mod holding;
mod lifecycle;
mod partial;
mod receipt;
mod statements;
