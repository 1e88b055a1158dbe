//! Storage of the mail crate: the mail outbox, the inbox, push devices and the push outbox.

pub mod notification;
pub mod outbox;
pub mod push_device;
pub mod push_outbox;
