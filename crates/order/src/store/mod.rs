//! Storage of payments, orders, their items and history, and refunds.

pub mod order;
pub mod order_event;
pub mod order_item;
pub mod payment;
pub mod payment_receipt;
pub mod refund;
