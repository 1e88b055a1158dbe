//! The push outbox: rows written inside the event's transaction, one per notification and
//! device, and the worker's claims and outcomes. As in the mail outbox every state change is one
//! conditional statement on the claim token, so two workers never record over each other.

use chrono::{DateTime, Duration, Utc};
use peken_kernel::db::new_id;
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, Set};
use serde_json::{Map, Value};

use crate::notice::Notice;
use crate::store::push_outbox::{self, Column, Entity};

pub use crate::claims::{FAILED, FailureOutcome, LEASE, PENDING, SENT};
use crate::claims::{PUSH, Settle};

/// Not sent and never will be: the device was removed or reported unregistered, its owner's
/// account is closed, or the message grew too old to be worth a buzz.
pub const DROPPED: &str = "dropped";

/// A message older than this is dropped instead of sent: news of an order a day late is noise.
/// It bounds what goes out when push is configured after rows have waited, or after an outage.
pub const MAX_AGE: Duration = Duration::hours(24);

/// The wait FCM asks for with `Retry-After` is honoured up to this long.
pub const MAX_RETRY_AFTER: Duration = Duration::hours(1);

/// A push message to write.
#[derive(Debug, Clone)]
pub struct Message<'a> {
    pub notification_id: String,
    pub dedupe_key: String,
    pub user_id: String,
    pub device_id: String,
    pub notice: &'a Notice,
}

/// The message's `data`: FCM takes strings only. It tells the app which inbox entry and what to
/// open.
pub fn data(notification_id: &str, notice: &Notice) -> Map<String, Value> {
    let mut data = Map::new();
    data.insert("notification_id".into(), notification_id.into());
    data.insert("kind".into(), notice.kind.into());
    for (key, value) in &notice.target {
        let value = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        data.insert(key.clone(), Value::String(value));
    }
    data
}

const CHUNK: usize = 1000;

/// Writes the messages inside the caller's transaction, due now. A `dedupe_key` already present
/// is skipped.
pub async fn enqueue<C: ConnectionTrait>(
    conn: &C,
    messages: Vec<Message<'_>>,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let mut written = 0;
    for chunk in messages.chunks(CHUNK) {
        let rows = chunk.iter().map(|m| push_outbox::ActiveModel {
            id: Set(new_id()),
            dedupe_key: Set(m.dedupe_key.clone()),
            notification_id: Set(m.notification_id.clone()),
            user_id: Set(m.user_id.clone()),
            device_id: Set(m.device_id.clone()),
            title: Set(m.notice.title.clone()),
            body: Set(m.notice.body.clone()),
            data: Set(Value::Object(data(&m.notification_id, m.notice)).to_string()),
            status: Set(PENDING.to_owned()),
            attempts: Set(0),
            next_attempt_at: Set(now),
            claimed_until: Set(None),
            claim_token: Set(None),
            last_error: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            sent_at: Set(None),
        });
        let result = Entity::insert_many(rows)
            .on_conflict_do_nothing_on([Column::DedupeKey])
            .exec_without_returning(conn)
            .await?;
        if let sea_orm::TryInsertResult::Inserted(n) = result {
            written += n;
        }
    }
    Ok(written)
}

/// Claims up to `limit` due messages for the worker holding `token`, oldest first, skipping on
/// PostgreSQL the rows another worker is claiming right now.
pub async fn claim<C: ConnectionTrait>(
    conn: &C,
    token: &str,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<push_outbox::Model>, DbErr> {
    let stmt = PUSH.claim(conn.get_database_backend(), token, now, limit);
    let mut rows = Entity::find().from_raw_sql(stmt).all(conn).await?;
    rows.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(rows)
}

/// Ends the row with `status`, if this worker still holds it.
async fn finish<C: ConnectionTrait>(
    conn: &C,
    row: &push_outbox::Model,
    token: &str,
    status: &str,
    attempts: i32,
    error: Option<&str>,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let settle = Settle {
        status,
        attempts,
        next_attempt_at: None,
        sent_at: (status == SENT).then_some(now),
        error,
    };
    PUSH.settle(conn, &row.id, token, settle, now).await
}

/// Records a delivery. Only the worker still holding the claim may record it.
pub async fn mark_sent<C: ConnectionTrait>(
    conn: &C,
    row: &push_outbox::Model,
    token: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    finish(
        conn,
        row,
        token,
        SENT,
        row.attempts.saturating_add(1),
        None,
        now,
    )
    .await
}

/// Ends a row that will not be sent (see [`DROPPED`]), counting an attempt if one was made.
pub async fn mark_dropped<C: ConnectionTrait>(
    conn: &C,
    row: &push_outbox::Model,
    token: &str,
    why: &str,
    attempted: bool,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let attempts = if attempted {
        row.attempts.saturating_add(1)
    } else {
        row.attempts
    };
    finish(conn, row, token, DROPPED, attempts, Some(why), now).await
}

/// Records a failed attempt: the next one after the backoff (or after `retry_after`, up to
/// [`MAX_RETRY_AFTER`], when the service asked for a longer wait), or `failed` when the attempts
/// are used up or the failure is permanent.
#[expect(
    clippy::too_many_arguments,
    reason = "the mail outbox's outcome and the wait the service asked for"
)]
pub async fn mark_failed<C: ConnectionTrait>(
    conn: &C,
    row: &push_outbox::Model,
    token: &str,
    error: &str,
    permanent: bool,
    retry_after: Option<Duration>,
    max_attempts: u32,
    now: DateTime<Utc>,
) -> Result<FailureOutcome, DbErr> {
    PUSH.fail(
        conn,
        &row.id,
        token,
        row.attempts,
        error,
        permanent,
        retry_after.map(|w| w.min(MAX_RETRY_AFTER)),
        max_attempts,
        now,
    )
    .await
}

/// Gives up the claim on a row without counting an attempt (the worker is stopping).
pub async fn release<C: ConnectionTrait>(
    conn: &C,
    row: &push_outbox::Model,
    token: &str,
) -> Result<(), DbErr> {
    PUSH.release(conn, &row.id, token).await
}
