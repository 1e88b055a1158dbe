//! The outbox: writing messages inside the caller's transaction, and the worker's claims and
//! outcomes. Every state change is one conditional statement, so two workers (or a worker and an
//! admin) never overwrite each other's decisions.

use chrono::{DateTime, Duration, Utc};
use peken_kernel::db::new_id;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter, Set, Statement,
    TryInsertResult,
};

use crate::inbox::Entry;
use crate::store::outbox::{self, Column, Entity};
use crate::template::Mail;

pub const PENDING: &str = "pending";
pub const SENT: &str = "sent";
pub const FAILED: &str = "failed";

/// How long a worker may hold a claimed row before another worker may take it over. It is far
/// longer than a batch can take (each SMTP exchange has its own, shorter timeout), so a live
/// worker never loses its rows; a crashed worker's rows come back after it.
pub const LEASE: Duration = Duration::minutes(10);

/// The first retry waits this long; each further one twice as long, up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::minutes(1);
pub const MAX_BACKOFF: Duration = Duration::hours(1);

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
    let backend = conn.get_database_backend();
    let lock = if backend == DbBackend::Postgres {
        " FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let sql = format!(
        "UPDATE mail_outbox SET claimed_until = $1, claim_token = $2 \
         WHERE id IN (SELECT id FROM mail_outbox \
             WHERE status = 'pending' AND next_attempt_at <= $3 \
             AND (claimed_until IS NULL OR claimed_until < $3) \
             ORDER BY id LIMIT $4{lock}) \
         RETURNING *"
    );
    let stmt = Statement::from_sql_and_values(
        backend,
        sql,
        [
            (now + LEASE).into(),
            token.into(),
            now.into(),
            (limit as i64).into(),
        ],
    );
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
    let result = Entity::update_many()
        .col_expr(Column::Status, Expr::value(SENT))
        .col_expr(
            Column::Attempts,
            Expr::value(row.attempts.saturating_add(1)),
        )
        .col_expr(Column::SentAt, Expr::value(Some(now)))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .col_expr(
            Column::ClaimedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(Column::ClaimToken, Expr::value(Option::<String>::None))
        .col_expr(Column::LastError, Expr::value(Option::<String>::None))
        .filter(Column::Id.eq(row.id.as_str()))
        .filter(Column::ClaimToken.eq(token))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// What happened to a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureOutcome {
    /// Another attempt is scheduled at this time.
    Retry(DateTime<Utc>),
    /// No more attempts: the message is `failed` until an admin retries it.
    GaveUp,
}

/// The wait before the attempt after `attempts` failed ones: 1, 2, 4, … minutes, at most an hour.
pub fn backoff(attempts: i32) -> Duration {
    let exponent = attempts.saturating_sub(1).clamp(0, 16) as u32;
    let delay = FIRST_BACKOFF * 2_i32.pow(exponent);
    delay.min(MAX_BACKOFF)
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
    let attempts = row.attempts.saturating_add(1);
    let give_up = permanent || i64::from(attempts) >= i64::from(max_attempts);
    let (status, next, outcome) = if give_up {
        (FAILED, now, FailureOutcome::GaveUp)
    } else {
        let next = now + backoff(attempts);
        (PENDING, next, FailureOutcome::Retry(next))
    };
    let error: String = error.chars().take(500).collect();
    Entity::update_many()
        .col_expr(Column::Status, Expr::value(status))
        .col_expr(Column::Attempts, Expr::value(attempts))
        .col_expr(Column::NextAttemptAt, Expr::value(next))
        .col_expr(Column::LastError, Expr::value(Some(error)))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .col_expr(
            Column::ClaimedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(Column::ClaimToken, Expr::value(Option::<String>::None))
        .filter(Column::Id.eq(row.id.as_str()))
        .filter(Column::ClaimToken.eq(token))
        .exec(conn)
        .await?;
    Ok(outcome)
}

/// Gives up the claim on a row without counting an attempt (the worker is stopping).
pub async fn release<C: ConnectionTrait>(
    conn: &C,
    row: &outbox::Model,
    token: &str,
) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(
            Column::ClaimedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(Column::ClaimToken, Expr::value(Option::<String>::None))
        .filter(Column::Id.eq(row.id.as_str()))
        .filter(Column::ClaimToken.eq(token))
        .exec(conn)
        .await?;
    Ok(())
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
