//! Mail: the transactional outbox and its delivery worker.
//!
//! A domain writes a message with [`enqueue`] inside the same database transaction as the event
//! it reports, so a rolled-back event sends nothing and a committed one is never forgotten. The
//! worker ([`worker::run`]) claims due rows, sends them over SMTP (or writes `.eml` files when no
//! SMTP server is configured), and marks them sent; failures are retried with backoff and, once
//! the attempts are used up, stay visible to admins as `failed`.

pub mod http;
pub mod outbox;
pub mod service;
pub mod store;
pub mod template;
pub mod transport;
pub mod worker;

pub use outbox::{enqueue, enqueue_many, message_id};
pub use template::{Mail, MailItem, RemittanceLine, Rendered, Template};
pub use transport::Mailer;
