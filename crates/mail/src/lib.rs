//! Mail, the in-app inbox and push: the transactional outboxes and their delivery workers.
//!
//! A domain writes a message with [`enqueue`] inside the same database transaction as the event
//! it reports, so a rolled-back event sends nothing and a committed one is never forgotten. The
//! worker ([`worker::run`]) claims due rows, sends them over SMTP (or writes `.eml` files when no
//! SMTP server is configured), and marks them sent; failures are retried with backoff and, once
//! the attempts are used up, stay visible to admins as `failed`.
//!
//! A message to a user ([`Mail::user_id`]) whose template has a [`Notice`] also writes, in the
//! same call and transaction, an entry to the user's inbox ([`inbox`]) and a row of the push
//! outbox for each of their devices; the push worker ([`push::worker::run`]) sends those over
//! Firebase Cloud Messaging with the same guarantees as mail.

mod claims;
pub mod http;
pub mod inbox;
pub mod me;
pub mod notice;
pub mod outbox;
pub mod push;
pub mod service;
pub mod store;
pub mod template;
pub mod transport;
pub mod worker;

pub use notice::Notice;
pub use outbox::{enqueue, enqueue_many, message_id};
pub use template::{
    LowStockLine, Mail, MailItem, PricedListing, RemittanceLine, Rendered, Template,
};
pub use transport::Mailer;
