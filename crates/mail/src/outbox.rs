//! The outbox: writing messages inside the caller's transaction, and the worker's claims and
//! outcomes. Every state change is one conditional statement, so two workers (or a worker and an
//! admin) never overwrite each other's decisions.

use chrono::{DateTime, Utc};
use peken_kernel::db::new_id;
use sea_orm::{ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryTrait, Set, TryInsertResult};

use crate::inbox::Entry;
use crate::store::outbox::{self, Column, Entity};
use crate::template::Mail;

pub use crate::claims::{
    FAILED, FIRST_BACKOFF, FailureOutcome, LEASE, MAX_BACKOFF, PENDING, SENT, backoff,
};
use crate::claims::{MAIL, Settle};

/// The stable Message-ID of an outbox row: every delivery attempt of the row carries the same
/// one, so a receiving system can drop a duplicate after a crash between sending and marking.
pub fn message_id(outbox_id: &str) -> String {
    format!("<{outbox_id}@peken.mail>")
}

/// Writes the message into the outbox inside the caller's transaction, rendered now. A second
/// message with the same `dedupe_key` is silently ignored, so an event enqueued twice is sent
/// once. A message to a user (`user_id`) also writes their inbox entry and a push message per
/// device ([`crate::inbox::record`]), when its template has a notice.
pub async fn enqueue<C: ConnectionTrait>(
    conn: &C,
    mail: Mail,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let entries: Vec<Entry> = entry(&mail).into_iter().collect();
    let result = Entity::insert(row(mail, now))
        .on_conflict_do_nothing_on([Column::DedupeKey])
        .exec_without_returning(conn)
        .await?;
    if matches!(result, TryInsertResult::Conflicted) {
        tracing::debug!("mail already enqueued for this event");
    }
    crate::inbox::record(conn, entries, now).await?;
    Ok(())
}

/// The inbox entry that goes with a mail, if it is to a user and its template has a notice.
fn entry(mail: &Mail) -> Option<Entry> {
    let user_id = mail.user_id.clone()?;
    Some(Entry {
        user_id,
        dedupe_key: mail.dedupe_key.clone(),
        notice: mail.template.notice()?,
    })
}

/// Rows written per statement by [`enqueue_many`]: 17 values a row stays well under the
/// parameter limits of PostgreSQL (65,535) and SQLite (32,766).
const BULK_CHUNK: usize = 1000;

/// Writes many messages inside the caller's transaction, a statement per thousand, with the
/// same rules as [`enqueue`]: a `dedupe_key` already present is skipped. Bulk events (a roster
/// import mails thousands of people) use it so that mail does not cost a round trip a message.
/// Returns how many rows were written.
pub async fn enqueue_many<C: ConnectionTrait>(
    conn: &C,
    mails: Vec<Mail>,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let mut written = 0;
    let entries: Vec<Entry> = mails.iter().filter_map(entry).collect();
    if conn.get_database_backend() == DbBackend::Postgres
        && !mails.is_empty()
        && mails.len() <= BULK_CHUNK
        && entries.len() <= crate::inbox::CHUNK
    {
        // The common case (an order's few messages) in one statement.
        let rows: Vec<outbox::ActiveModel> = mails.into_iter().map(|m| row(m, now)).collect();
        let mut insert = Entity::insert_many(rows)
            .on_conflict_do_nothing_on([Column::DedupeKey])
            .build(DbBackend::Postgres);
        insert.sql.push_str(" RETURNING 1");
        return crate::inbox::record_after(conn, insert, entries, now).await;
    }
    let mut rows = mails.into_iter().map(|m| row(m, now)).peekable();
    while rows.peek().is_some() {
        let chunk: Vec<outbox::ActiveModel> = rows.by_ref().take(BULK_CHUNK).collect();
        let result = Entity::insert_many(chunk)
            .on_conflict_do_nothing_on([Column::DedupeKey])
            .exec_without_returning(conn)
            .await?;
        if let TryInsertResult::Inserted(n) = result {
            written += n;
        }
    }
    crate::inbox::record(conn, entries, now).await?;
    Ok(written)
}

/// The outbox row of a message, rendered at `now` and due at once.
fn row(mail: Mail, now: DateTime<Utc>) -> outbox::ActiveModel {
    let rendered = mail.template.render();
    outbox::ActiveModel {
        id: Set(new_id()),
        dedupe_key: Set(mail.dedupe_key),
        template: Set(rendered.template.to_owned()),
        recipient: Set(mail.to.trim().to_owned()),
        recipient_name: Set(mail.to_name),
        subject: Set(rendered.subject),
        body_text: Set(rendered.text),
        body_html: Set(rendered.html),
        status: Set(PENDING.to_owned()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        claimed_until: Set(None),
        claim_token: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        sent_at: Set(None),
    }
}

/// Claims up to `limit` due messages for the worker holding `token`, oldest first. On PostgreSQL
/// rows another worker is claiming right now are skipped rather than waited for; SQLite has a
/// single connection, which already serialises claims.
pub async fn claim<C: ConnectionTrait>(
    conn: &C,
    token: &str,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<outbox::Model>, DbErr> {
    let stmt = MAIL.claim(conn.get_database_backend(), token, now, limit);
    let mut rows = Entity::find().from_raw_sql(stmt).all(conn).await?;
    // RETURNING gives no order; sending oldest first keeps each recipient's messages in order.
    rows.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(rows)
}

/// Records a delivery. Only the worker still holding the claim may record it.
pub async fn mark_sent<C: ConnectionTrait>(
    conn: &C,
    row: &outbox::Model,
    token: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let settle = Settle {
        status: SENT,
        attempts: row.attempts.saturating_add(1),
        next_attempt_at: None,
        sent_at: Some(now),
        error: None,
    };
    MAIL.settle(conn, &row.id, token, settle, now).await
}

/// Records a failed attempt: schedules the next one with backoff, or gives up when the attempts
/// are used up or the failure is permanent (a bad address, a 5xx reply).
pub async fn mark_failed<C: ConnectionTrait>(
    conn: &C,
    row: &outbox::Model,
    token: &str,
    error: &str,
    permanent: bool,
    max_attempts: u32,
    now: DateTime<Utc>,
) -> Result<FailureOutcome, DbErr> {
    MAIL.fail(
        conn,
        &row.id,
        token,
        row.attempts,
        error,
        permanent,
        None,
        max_attempts,
        now,
    )
    .await
}

/// Gives up the claim on a row without counting an attempt (the worker is stopping).
pub async fn release<C: ConnectionTrait>(
    conn: &C,
    row: &outbox::Model,
    token: &str,
) -> Result<(), DbErr> {
    MAIL.release(conn, &row.id, token).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_a_minute_up_to_an_hour() {
        let minutes: Vec<i64> = (1..=9).map(|a| backoff(a).num_minutes()).collect();
        assert_eq!(minutes, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(backoff(0), FIRST_BACKOFF);
        assert_eq!(backoff(i32::MAX), MAX_BACKOFF);
    }

    #[test]
    fn the_message_id_depends_only_on_the_row() {
        assert_eq!(message_id("abc"), "<abc@peken.mail>");
        assert_eq!(message_id("abc"), message_id("abc"));
    }
}
