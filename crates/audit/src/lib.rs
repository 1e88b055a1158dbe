//! The audit log: who changed what (money, stock, status, policy), from what to what, when, and
//! in which request, as an append-only hash chain.
//!
//! Each row carries the hash of the row before it and a hash of its own content, so editing a
//! row breaks its own hash and deleting one breaks the chain; [`verify`] walks the chain and
//! names the first row of each break. Appends go through the one-row `audit_head` table: the
//! append updates it first, inside the caller's transaction, so concurrent actions queue on that
//! row and the chain stays a single line. Because the head row is held until the caller
//! commits, callers record their change as the last write of their transaction.
//!
//! This crate knows no domain tables: domain crates describe their change as a [`Change`] and
//! call [`record`] inside the transaction that makes it, so a change and its audit row commit or
//! roll back together.

mod chain;
pub mod http;
mod read;
mod verify;

use chrono::{DateTime, Utc};
use peken_kernel::auth::Caller;
use sea_orm::{ConnectionTrait, DbErr, Statement, Value};
use serde_json::Value as Json;

pub use chain::{GENESIS, Row, hash_row};
pub use read::{Filter, list};
pub use verify::{Break, Verification, verify};

/// Who did it: a user (from the request's [`Caller`]) or a background process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user_id: String,
    pub role: String,
    pub request_id: Option<String>,
    /// The `X-Request-Id` the client sent, kept beside the server's id.
    pub client_request_id: Option<String>,
}

impl Actor {
    /// A background process acting on its own (a worker, the command line).
    pub fn system(process: &str) -> Self {
        Self {
            user_id: format!("system:{process}"),
            role: "system".to_owned(),
            request_id: None,
            client_request_id: None,
        }
    }
}

/// A bare user id, for tools and tests that act outside a request: the role is not known.
impl From<&str> for Actor {
    fn from(user_id: &str) -> Self {
        Self {
            user_id: user_id.to_owned(),
            role: "unknown".to_owned(),
            request_id: None,
            client_request_id: None,
        }
    }
}

impl From<&Caller> for Actor {
    fn from(caller: &Caller) -> Self {
        Self {
            user_id: caller.user_id.clone(),
            role: caller.role.as_str().to_owned(),
            request_id: caller.request_id.clone(),
            client_request_id: caller.client_request_id.clone(),
        }
    }
}

impl<R: peken_kernel::auth::RoleSet> From<&peken_kernel::auth::Auth<R>> for Actor {
    fn from(auth: &peken_kernel::auth::Auth<R>) -> Self {
        Self::from(&auth.caller)
    }
}

impl From<&Actor> for Actor {
    fn from(actor: &Actor) -> Self {
        actor.clone()
    }
}

/// What changed: an action on a subject, with the relevant state before and after.
#[derive(Debug, Clone)]
pub struct Change {
    /// A stable dotted name, e.g. `merchant.verified` or `listing.stock_moved`.
    pub action: &'static str,
    /// The kind of thing changed, e.g. `merchant`, `listing`, `payout_batch`.
    pub subject_type: &'static str,
    pub subject_id: String,
    pub before: Option<Json>,
    pub after: Option<Json>,
}

impl Change {
    pub fn new(action: &'static str, subject_type: &'static str, subject_id: &str) -> Self {
        Self {
            action,
            subject_type,
            subject_id: subject_id.to_owned(),
            before: None,
            after: None,
        }
    }

    #[must_use]
    pub fn before(mut self, state: Json) -> Self {
        self.before = Some(state);
        self
    }

    #[must_use]
    pub fn after(mut self, state: Json) -> Self {
        self.after = Some(state);
        self
    }
}

/// Appends `change` by `actor` to the chain inside the caller's transaction and returns its
/// position. Call it as the last write of the transaction: from here to the commit, other
/// audited actions wait for this one.
pub async fn record<C: ConnectionTrait>(
    conn: &C,
    actor: impl Into<Actor>,
    change: Change,
    now: DateTime<Utc>,
) -> Result<i64, DbErr> {
    let actor = actor.into();
    let backend = conn.get_database_backend();
    // Taking the next position locks the head row until the transaction ends; on PostgreSQL a
    // concurrent append waits here and then sees this one's committed position and hash.
    let head = conn
        .query_one_raw(Statement::from_string(
            backend,
            "UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash",
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("audit_head".to_owned()))?;
    let seq: i64 = head.try_get("", "seq")?;
    let prev_hash: String = head.try_get("", "hash")?;
    let row = Row {
        seq,
        occurred_at: chain::to_micros(now),
        actor_id: actor.user_id,
        actor_role: actor.role,
        action: change.action.to_owned(),
        subject_type: change.subject_type.to_owned(),
        subject_id: change.subject_id,
        before_state: change.before.map(|v| v.to_string()),
        after_state: change.after.map(|v| v.to_string()),
        request_id: actor.request_id,
        client_request_id: actor.client_request_id,
        prev_hash,
    };
    let hash = hash_row(&row);
    conn.execute_raw(Statement::from_sql_and_values(
        backend,
        "INSERT INTO audit_log (seq, occurred_at, actor_id, actor_role, action, subject_type, \
         subject_id, before_state, after_state, request_id, client_request_id, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        [
            Value::from(row.seq),
            Value::from(row.occurred_at),
            Value::from(row.actor_id),
            Value::from(row.actor_role),
            Value::from(row.action),
            Value::from(row.subject_type),
            Value::from(row.subject_id),
            Value::from(row.before_state),
            Value::from(row.after_state),
            Value::from(row.request_id),
            Value::from(row.client_request_id),
            Value::from(row.prev_hash),
            Value::from(hash.clone()),
        ],
    ))
    .await?;
    let moved = conn
        .execute_raw(Statement::from_sql_and_values(
            backend,
            "UPDATE audit_head SET hash = $1 WHERE id = 1 AND seq = $2",
            [Value::from(hash), Value::from(seq)],
        ))
        .await?
        .rows_affected();
    if moved != 1 {
        return Err(DbErr::Custom(format!(
            "the audit head moved under append {seq}"
        )));
    }
    Ok(seq)
}

/// Masks an account number for the audit log and logs: only the last four digits stay.
pub fn mask_account(number: &str) -> String {
    let keep = number.len().saturating_sub(4);
    number
        .char_indices()
        .map(|(i, c)| if i < keep { '*' } else { c })
        .collect()
}

#[cfg(test)]
mod tests;
