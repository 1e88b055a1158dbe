//! Idempotency keys for POSTs that create orders or move money. The key is a row written in the
//! same transaction as the effect, so the effect and the stored response commit together or not
//! at all; a concurrent duplicate waits on the row's unique index and then reads the stored
//! response.
//!
//! Only successful responses are stored: a refused request changed nothing and rolled back,
//! so retrying it with the same key asks again (and may now succeed).

use actix_web::{HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, Statement, TransactionTrait,
};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::{ApiError, ApiResult};

pub const HEADER: &str = "Idempotency-Key";

/// The key sent by the client, checked for shape.
pub fn key_from(req: &HttpRequest, required: bool) -> ApiResult<Option<String>> {
    let Some(value) = req.headers().get(HEADER) else {
        return if required {
            Err(ApiError::bad_request(
                "idempotency_key_required",
                "send an Idempotency-Key header (a UUID is a good choice)",
            ))
        } else {
            Ok(None)
        };
    };
    let key = value.to_str().unwrap_or_default().trim();
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::bad_request(
            "invalid_idempotency_key",
            "the Idempotency-Key must be 1 to 255 visible ASCII characters",
        ));
    }
    Ok(Some(key.to_owned()))
}

/// A digest of the request body in canonical form (keys sorted), so the same content in another
/// key order or spacing counts as the same request.
pub fn request_hash(scope: &str, body: &serde_json::Value) -> String {
    let mut hasher = Sha256::new();
    hasher.update(scope.as_bytes());
    hasher.update([0]);
    hasher.update(body.to_string().as_bytes());
    hex::encode(hasher.finalize())
}

/// What to do with a request.
pub enum Begin {
    /// First time: go ahead, then call [`finish`] in the same transaction.
    Fresh,
    /// Seen and completed before: answer this again.
    Replay { status: u16, body: String },
}

/// Claims the key inside the caller's transaction.
pub async fn begin<C: ConnectionTrait>(
    conn: &C,
    caller: &str,
    key: &str,
    hash: &str,
    now: DateTime<Utc>,
) -> ApiResult<Begin> {
    let inserted = conn
        .execute_raw(Statement::from_sql_and_values(
            conn.get_database_backend(),
            CLAIM,
            claim_values(caller, key, hash, now),
        ))
        .await?;
    claimed(conn, inserted.rows_affected() == 1, caller, key, hash).await
}

/// The claim of [`begin`] as the part `name` of a PostgreSQL [`crate::sql::Chain`]: a row when
/// the key was new. The caller passes whether it got one to [`claimed`].
pub fn claim_chained(
    chain: &mut crate::sql::Chain,
    name: &str,
    caller: &str,
    key: &str,
    hash: &str,
    now: DateTime<Utc>,
) {
    chain.with(
        name,
        &format!("{CLAIM} RETURNING 1"),
        claim_values(caller, key, hash, now),
    );
}

const CLAIM: &str = "INSERT INTO idempotency_keys (caller_id, key, request_hash, status_code, \
                     response_body, created_at) VALUES ($1, $2, $3, 0, '', $4) \
                     ON CONFLICT (caller_id, key) DO NOTHING";

fn claim_values(caller: &str, key: &str, hash: &str, now: DateTime<Utc>) -> Vec<sea_orm::Value> {
    vec![caller.into(), key.into(), hash.into(), now.into()]
}

/// What a claim means: `fresh` (the key was new) goes ahead; a key seen before answers its
/// stored response, or is refused when it came with another request.
pub async fn claimed<C: ConnectionTrait>(
    conn: &C,
    fresh: bool,
    caller: &str,
    key: &str,
    hash: &str,
) -> ApiResult<Begin> {
    if fresh {
        return Ok(Begin::Fresh);
    }
    let row = conn
        .query_one_raw(Statement::from_sql_and_values(
            conn.get_database_backend(),
            "SELECT request_hash, status_code, response_body FROM idempotency_keys \
             WHERE caller_id = $1 AND key = $2",
            [caller.into(), key.into()],
        ))
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("idempotency row vanished")))?;
    let stored_hash: String = row.try_get("", "request_hash")?;
    if stored_hash != hash {
        return Err(ApiError::conflict(
            "idempotency_key_reused",
            "this Idempotency-Key was used with a different request",
        ));
    }
    let status: i32 = row.try_get("", "status_code")?;
    let body: String = row.try_get("", "response_body")?;
    Ok(Begin::Replay {
        status: u16::try_from(status).unwrap_or(200),
        body,
    })
}

/// Stores the response of a completed request, in the transaction that made it.
pub async fn finish<C: ConnectionTrait>(
    conn: &C,
    caller: &str,
    key: &str,
    status: u16,
    body: &str,
) -> ApiResult<()> {
    let (sql, values) = finish_sql(caller, key, status, body);
    conn.execute_raw(Statement::from_sql_and_values(
        conn.get_database_backend(),
        sql,
        values,
    ))
    .await?;
    Ok(())
}

/// `finish` as SQL and values, for a caller that stores the answer in the same statement as
/// its own writes (`sql::Chain`).
pub fn finish_sql(
    caller: &str,
    key: &str,
    status: u16,
    body: &str,
) -> (&'static str, Vec<sea_orm::Value>) {
    (
        "UPDATE idempotency_keys SET status_code = $1, response_body = $2 \
         WHERE caller_id = $3 AND key = $4",
        vec![
            i32::from(status).into(),
            body.into(),
            caller.into(),
            key.into(),
        ],
    )
}

/// A request's key: who sent it, the key, and the digest of the request it stands for.
#[derive(Debug, Clone)]
pub struct Key {
    caller: String,
    value: String,
    hash: String,
}

impl Key {
    /// The key of a request, if it sent one. `scope` names the operation and `request` its
    /// content (path ids and body), so the same key on another request is caught.
    pub fn from_request(
        req: &HttpRequest,
        caller: &str,
        scope: &str,
        request: &serde_json::Value,
    ) -> ApiResult<Option<Key>> {
        Ok(key_from(req, false)?.map(|value| Key {
            caller: caller.to_owned(),
            value,
            hash: request_hash(scope, request),
        }))
    }
}

/// [`begin`] for an optional key: `Some` is the stored answer (status, body) to send again.
pub async fn claim<C: ConnectionTrait>(
    conn: &C,
    key: Option<&Key>,
    now: DateTime<Utc>,
) -> ApiResult<Option<(u16, String)>> {
    let Some(key) = key else {
        return Ok(None);
    };
    match begin(conn, &key.caller, &key.value, &key.hash, now).await? {
        Begin::Fresh => Ok(None),
        Begin::Replay { status, body } => Ok(Some((status, body))),
    }
}

/// [`finish`] for an optional key.
pub async fn store<C: ConnectionTrait>(
    conn: &C,
    key: Option<&Key>,
    status: u16,
    body: &str,
) -> ApiResult<()> {
    match key {
        Some(key) => finish(conn, &key.caller, &key.value, status, body).await,
        None => Ok(()),
    }
}

/// What an idempotent operation did: its result, or the stored answer of the first request
/// with the same key.
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

/// [`store`] for a value: its JSON is the answer kept with the key.
pub async fn store_value<C: ConnectionTrait, T: Serialize>(
    conn: &C,
    key: Option<&Key>,
    status: u16,
    value: &T,
) -> ApiResult<()> {
    if key.is_none() {
        return Ok(());
    }
    let body = serde_json::to_string(value).map_err(ApiError::internal)?;
    store(conn, key, status, &body).await
}

/// One idempotent transaction: begin, claim the key (a replay ends here with the stored answer),
/// do the work, keep its answer with the key, commit. The effect and the kept answer commit
/// together or not at all; an error rolls both back, so the request may be retried.
pub async fn transaction<T, W>(
    db: &DatabaseConnection,
    key: Option<&Key>,
    now: DateTime<Utc>,
    status: u16,
    work: W,
) -> ApiResult<Outcome<T>>
where
    T: Serialize,
    W: AsyncFnOnce(&DatabaseTransaction) -> ApiResult<T>,
{
    let txn = db.begin().await?;
    if let Some((status, body)) = claim(&txn, key, now).await? {
        return Ok(Outcome::Replay { status, body });
    }
    let value = work(&txn).await?;
    store_value(&txn, key, status, &value).await?;
    txn.commit().await?;
    Ok(Outcome::Done(value))
}

/// The HTTP answer of an outcome: the result with `status`, or the stored answer as it was.
pub fn respond<T: Serialize>(outcome: Outcome<T>, status: u16) -> HttpResponse {
    let code = |status| {
        actix_web::http::StatusCode::from_u16(status).unwrap_or(actix_web::http::StatusCode::OK)
    };
    match outcome {
        Outcome::Done(value) => HttpResponse::build(code(status)).json(value),
        Outcome::Replay { status, body } => HttpResponse::build(code(status))
            .content_type("application/json")
            .body(body),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_order_does_not_change_the_hash() {
        let a: serde_json::Value = serde_json::from_str(r#"{"a":1,"b":[1,2]}"#).expect("json");
        let b: serde_json::Value = serde_json::from_str(r#"{ "b":[1,2], "a":1 }"#).expect("json");
        assert_eq!(request_hash("checkout", &a), request_hash("checkout", &b));
        let c: serde_json::Value = serde_json::from_str(r#"{"a":2,"b":[1,2]}"#).expect("json");
        assert_ne!(request_hash("checkout", &a), request_hash("checkout", &c));
    }
}
