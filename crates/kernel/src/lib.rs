//! The shared vocabulary of peken: money, identifiers, periods, errors, settings, auth, and the
//! state every handler shares. Domain crates build on it; it knows no domain tables (it keeps
//! only the plumbing ones: `idempotency_keys`, `settings`).

pub mod auth;
pub mod cache;
pub mod clock;
pub mod contact;
pub mod csv;
pub mod db;
pub mod error;
pub mod export;
pub mod http_cache;
pub mod idempotency;
pub mod ids;
pub mod import;
pub mod media;
pub mod metrics;
pub mod money;
pub mod net;
pub mod pagination;
pub mod patch;
pub mod period;
pub mod policy;
pub mod problems;
pub mod regions;
pub mod replica;
#[cfg(feature = "test-support")]
pub mod scratch;
pub mod settings;
pub mod sql;
pub mod state;
pub mod telemetry;
pub mod text;
pub mod worker;

pub use error::{ApiError, FieldError, Validation};
pub use money::Rupiah;
pub use state::AppState;

/// The result type of handlers and services.
pub type ApiResult<T> = Result<T, ApiError>;
