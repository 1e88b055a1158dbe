//! Storage of the mail crate: the outbox table.

pub mod outbox;
