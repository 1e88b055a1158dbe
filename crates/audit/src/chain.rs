//! One row of the chain and its hash.

use chrono::{DateTime, SubsecRound, Utc};
use sha2::{Digest, Sha256};

/// The hash the first row chains to.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// A row of `audit_log` as hashed: every column but the hash itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub seq: i64,
    pub occurred_at: DateTime<Utc>,
    pub actor_id: String,
    pub actor_role: String,
    pub action: String,
    pub subject_type: String,
    pub subject_id: String,
    pub before_state: Option<String>,
    pub after_state: Option<String>,
    pub request_id: Option<String>,
    /// The `X-Request-Id` the client sent, beside the server's `request_id`.
    pub client_request_id: Option<String>,
    pub prev_hash: String,
}

/// Times are kept to the microsecond, what PostgreSQL stores, so a row read back hashes the same
/// as the row written.
pub(crate) fn to_micros(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(6)
}

/// The SHA-256, in hex, of the row's content and the previous row's hash. The content is encoded
/// as a JSON array, whose quoting makes the encoding unambiguous: no two different rows encode
/// to the same text. A client's request id, when there is one, is the array's last element, so
/// rows written before the column existed (and rows without one) hash as they always did.
pub fn hash_row(row: &Row) -> String {
    let mut encoded = serde_json::json!([
        row.seq,
        row.occurred_at.timestamp_micros(),
        row.actor_id,
        row.actor_role,
        row.action,
        row.subject_type,
        row.subject_id,
        row.before_state,
        row.after_state,
        row.request_id,
        row.prev_hash,
    ]);
    if let (Some(client), Some(array)) = (&row.client_request_id, encoded.as_array_mut()) {
        array.push(serde_json::Value::from(client.as_str()));
    }
    let encoded = encoded.to_string();
    hex::encode(Sha256::digest(encoded.as_bytes()))
}
