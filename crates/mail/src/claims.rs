//! What the mail outbox and the push outbox share: rows a worker claims with a lease and a
//! token, then settles (sent, failed, dropped, or scheduled again) or releases, each in one
//! statement conditional on the token it holds, so two workers never record over each other.
//! The two tables have these columns in common: `status`, `attempts`, `next_attempt_at`,
//! `claimed_until`, `claim_token`, `last_error`, `sent_at`, `updated_at`.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement, Value};

pub const PENDING: &str = "pending";
pub const SENT: &str = "sent";
pub const FAILED: &str = "failed";

/// How long a worker may hold a claimed row before another worker may take it over. It is far
/// longer than a batch can take (each exchange has its own, shorter timeout), so a live worker
/// never loses its rows; a crashed worker's rows come back after it.
pub const LEASE: Duration = Duration::minutes(10);

/// The first retry waits this long; each further one twice as long, up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::minutes(1);
pub const MAX_BACKOFF: Duration = Duration::hours(1);

/// The wait before the attempt after `attempts` failed ones: 1, 2, 4, … minutes, at most an hour.
pub fn backoff(attempts: i32) -> Duration {
    let exponent = attempts.saturating_sub(1).clamp(0, 16) as u32;
    let delay = FIRST_BACKOFF * 2_i32.pow(exponent);
    delay.min(MAX_BACKOFF)
}

/// What happened to a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureOutcome {
    /// Another attempt is scheduled at this time.
    Retry(DateTime<Utc>),
    /// No more attempts: the row is `failed`.
    GaveUp,
}

/// One of the outbox tables.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Queue {
    pub table: &'static str,
}

pub(crate) const MAIL: Queue = Queue {
    table: "mail_outbox",
};
pub(crate) const PUSH: Queue = Queue {
    table: "push_outbox",
};

/// How a claimed row ends this round.
pub(crate) struct Settle<'a> {
    pub status: &'a str,
    pub attempts: i32,
    /// When the row is due again; `None` keeps it as it is.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub sent_at: Option<DateTime<Utc>>,
    /// Kept to 500 characters.
    pub error: Option<&'a str>,
}

impl Queue {
    /// The statement that claims up to `limit` due rows for `token`, oldest first, returning
    /// them. On PostgreSQL rows another worker is claiming right now are skipped rather than
    /// waited for; SQLite has a single connection, which already serialises claims.
    pub fn claim(
        self,
        backend: DbBackend,
        token: &str,
        now: DateTime<Utc>,
        limit: u64,
    ) -> Statement {
        let lock = if backend == DbBackend::Postgres {
            " FOR UPDATE SKIP LOCKED"
        } else {
            ""
        };
        let table = self.table;
        Statement::from_sql_and_values(
            backend,
            format!(
                "UPDATE {table} SET claimed_until = $1, claim_token = $2 \
                 WHERE id IN (SELECT id FROM {table} \
                     WHERE status = 'pending' AND next_attempt_at <= $3 \
                     AND (claimed_until IS NULL OR claimed_until < $3) \
                     ORDER BY id LIMIT $4{lock}) \
                 RETURNING *"
            ),
            [
                (now + LEASE).into(),
                token.into(),
                now.into(),
                (limit as i64).into(),
            ],
        )
    }

    /// Ends this round of the row `id` as `settle` says and lets go of the claim, if `token`
    /// still holds it; whether it did.
    pub async fn settle<C: ConnectionTrait>(
        self,
        conn: &C,
        id: &str,
        token: &str,
        settle: Settle<'_>,
        now: DateTime<Utc>,
    ) -> Result<bool, DbErr> {
        let error: Option<String> = settle.error.map(|e| e.chars().take(500).collect());
        let values: Vec<Value> = vec![
            settle.status.into(),
            settle.attempts.into(),
            settle.next_attempt_at.into(),
            settle.sent_at.into(),
            error.into(),
            now.into(),
            id.into(),
            token.into(),
        ];
        let done = peken_kernel::sql::exec(
            conn,
            format!(
                "UPDATE {} SET status = $1, attempts = $2, \
                 next_attempt_at = COALESCE($3, next_attempt_at), sent_at = $4, \
                 last_error = $5, updated_at = $6, claimed_until = NULL, claim_token = NULL \
                 WHERE id = $7 AND claim_token = $8",
                self.table
            ),
            values,
        )
        .await?;
        Ok(done == 1)
    }

    /// Gives up the claim on a row without counting an attempt (the worker is stopping).
    pub async fn release<C: ConnectionTrait>(
        self,
        conn: &C,
        id: &str,
        token: &str,
    ) -> Result<(), DbErr> {
        peken_kernel::sql::exec(
            conn,
            format!(
                "UPDATE {} SET claimed_until = NULL, claim_token = NULL \
                 WHERE id = $1 AND claim_token = $2",
                self.table
            ),
            vec![id.into(), token.into()],
        )
        .await?;
        Ok(())
    }

    /// Records a failed attempt of the row `id` (that had `attempts` before): the next attempt
    /// after the backoff, or after `retry_after` when the other side asked for a longer wait, or
    /// `failed` when the attempts are used up or the failure is permanent.
    #[expect(
        clippy::too_many_arguments,
        reason = "the row, the claim, the failure and the limits"
    )]
    pub async fn fail<C: ConnectionTrait>(
        self,
        conn: &C,
        id: &str,
        token: &str,
        attempts: i32,
        error: &str,
        permanent: bool,
        retry_after: Option<Duration>,
        max_attempts: u32,
        now: DateTime<Utc>,
    ) -> Result<FailureOutcome, DbErr> {
        let attempts = attempts.saturating_add(1);
        let give_up = permanent || i64::from(attempts) >= i64::from(max_attempts);
        let (status, next, outcome) = if give_up {
            (FAILED, now, FailureOutcome::GaveUp)
        } else {
            let wait = retry_after.map_or(backoff(attempts), |w| w.max(backoff(attempts)));
            let next = now + wait;
            (PENDING, next, FailureOutcome::Retry(next))
        };
        self.settle(
            conn,
            id,
            token,
            Settle {
                status,
                attempts,
                next_attempt_at: Some(next),
                sent_at: None,
                error: Some(error),
            },
            now,
        )
        .await?;
        Ok(outcome)
    }
}
