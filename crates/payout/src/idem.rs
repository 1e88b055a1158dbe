//! `Idempotency-Key` on the treasury's POSTs that move money (building and approving batches,
//! failing an item, importing a statement, approving a manual match). The key is claimed inside
//! the same database transaction as the effect, using the shared idempotency table, so a retry
//! of a request whose answer was lost gets the first answer again, and the same key with a
//! different request gets 409 `idempotency_key_reused`.

use actix_web::HttpResponse;
use chrono::{DateTime, Utc};
use peken_kernel::{ApiError, ApiResult};
use peken_order::idempotency;
use sea_orm::ConnectionTrait;
use serde::Serialize;

pub use peken_order::idempotency::Key;

/// What a service did: its result, or the stored answer of the first request with this key.
#[derive(Debug)]
pub enum Outcome<T> {
    Done(T),
    Replay { status: u16, body: String },
}

impl<T> Outcome<T> {
    /// The result of a call made without a key (which is never a replay).
    pub fn done(self) -> ApiResult<T> {
        match self {
            Outcome::Done(value) => Ok(value),
            Outcome::Replay { .. } => Err(ApiError::internal(anyhow::anyhow!(
                "a replayed answer where none was expected"
            ))),
        }
    }
}

/// Claims the key in the caller's transaction; `Some` is the stored answer to send again.
pub async fn begin<C: ConnectionTrait>(
    conn: &C,
    key: Option<&Key>,
    now: DateTime<Utc>,
) -> ApiResult<Option<(u16, String)>> {
    idempotency::claim(conn, key, now).await
}

/// Stores the answer with the key, in the transaction that made the effect.
pub async fn finish<C: ConnectionTrait, T: Serialize>(
    conn: &C,
    key: Option<&Key>,
    status: u16,
    value: &T,
) -> ApiResult<()> {
    if key.is_none() {
        return Ok(());
    }
    let body = serde_json::to_string(value).map_err(ApiError::internal)?;
    idempotency::store(conn, key, status, &body).await
}

/// The HTTP answer of an outcome: the result with `status`, or the stored answer as it was.
pub fn respond<T: Serialize>(outcome: Outcome<T>, status: u16) -> HttpResponse {
    match outcome {
        Outcome::Done(value) => HttpResponse::build(
            actix_web::http::StatusCode::from_u16(status)
                .unwrap_or(actix_web::http::StatusCode::OK),
        )
        .json(value),
        Outcome::Replay { status, body } => HttpResponse::build(
            actix_web::http::StatusCode::from_u16(status)
                .unwrap_or(actix_web::http::StatusCode::OK),
        )
        .content_type("application/json")
        .body(body),
    }
}
