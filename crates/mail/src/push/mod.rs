//! Push notifications: the devices users register, the push outbox written beside the mail
//! outbox, and its worker, which sends over Firebase Cloud Messaging (HTTP v1).

pub mod devices;
pub mod fcm;
pub mod outbox;
pub mod worker;

pub use fcm::Fcm;
