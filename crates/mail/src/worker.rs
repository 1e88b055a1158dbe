//! The delivery worker: claims due outbox rows in small batches, sends each, and records the
//! outcome right after sending it. A crash between sending and recording can therefore resend
//! at most the one message in flight, and that message carries the same Message-ID again.

use peken_kernel::AppState;
use peken_kernel::db::new_id;
use tokio::sync::watch;

use crate::outbox::{self, FailureOutcome};
use crate::transport::Mailer;

/// Rows claimed at once. Small, so that several workers share a backlog and a stopping worker
/// hands little back.
pub const BATCH: u64 = 10;

/// What one pass over the due messages did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Drained {
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
}

/// Delivers every message due now and returns how many were sent. Tests call it to deliver
/// without waiting for the worker's interval.
pub async fn drain_once(state: &AppState) -> anyhow::Result<usize> {
    let mailer = Mailer::from_settings(&state.settings)?;
    Ok(drain(state, &mailer, None).await?.sent)
}

/// Delivers every message due now, batch by batch, until none is left or `shutdown` is set.
pub async fn drain(
    state: &AppState,
    mailer: &Mailer,
    shutdown: Option<&watch::Receiver<bool>>,
) -> anyhow::Result<Drained> {
    let mut done = Drained::default();
    let stopping = || shutdown.is_some_and(|s| *s.borrow());
    loop {
        if stopping() {
            return Ok(done);
        }
        // A fresh token per batch: only this pass may record outcomes of these rows.
        let token = new_id();
        let rows = outbox::claim(&state.db, &token, state.now(), BATCH).await?;
        if rows.is_empty() {
            return Ok(done);
        }
        let mut rows = rows.into_iter();
        while let Some(row) = rows.next() {
            if stopping() {
                // Hand the rest back now rather than after the lease runs out.
                outbox::release(&state.db, &row, &token).await?;
                for rest in rows.by_ref() {
                    outbox::release(&state.db, &rest, &token).await?;
                }
                return Ok(done);
            }
            match mailer.send(&row).await {
                Ok(()) => {
                    outbox::mark_sent(&state.db, &row, &token, state.now()).await?;
                    state.metrics.event("mail", "sent");
                    tracing::info!(outbox_id = %row.id, template = %row.template, "mail sent");
                    done.sent += 1;
                }
                Err(err) => {
                    let outcome = outbox::mark_failed(
                        &state.db,
                        &row,
                        &token,
                        &err.message,
                        err.permanent,
                        state.settings.mail_max_attempts,
                        state.now(),
                    )
                    .await?;
                    match outcome {
                        FailureOutcome::Retry(at) => {
                            state.metrics.event("mail", "retry");
                            tracing::warn!(
                                outbox_id = %row.id, error = %err.message, next_attempt_at = %at,
                                "mail delivery failed; will retry"
                            );
                            done.retried += 1;
                        }
                        FailureOutcome::GaveUp => {
                            state.metrics.event("mail", "failed");
                            tracing::error!(
                                outbox_id = %row.id, error = %err.message,
                                "mail delivery failed for good; an admin can retry it"
                            );
                            done.failed += 1;
                        }
                    }
                }
            }
        }
    }
}

/// Runs until `shutdown` becomes true: a pass over due messages every worker interval. A pass in
/// progress finishes the message it is sending and hands the rest of its batch back.
pub async fn run(state: AppState, mailer: Mailer, shutdown: watch::Receiver<bool>) {
    let interval = state.settings.worker_interval;
    peken_kernel::worker::every("mail", interval, shutdown, |stop| {
        let (state, mailer) = (&state, &mailer);
        async move { drain(state, mailer, Some(&stop)).await }
    })
    .await;
}
