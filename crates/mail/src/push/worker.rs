//! The push worker: claims due rows of the push outbox in small batches, sends each to its
//! device over FCM and records the outcome right after. As with mail, a crash between sending
//! and recording can resend only the message in flight; every attempt of a row carries the
//! row's id as the message's `data.message_id`, so the app can drop a repeat.

use peken_kernel::AppState;
use peken_kernel::db::new_id;
use serde_json::{Map, Value};
use tokio::sync::watch;

use super::devices;
use super::fcm::{Fcm, Push, PushError};
use super::outbox::{self, FailureOutcome, MAX_AGE};

/// Rows claimed at once.
pub const BATCH: u64 = 20;

/// What one pass over the due messages did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Drained {
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
    /// Not sent: the device is gone (or was reported unregistered now), the account closed, or
    /// the message too old.
    pub dropped: usize,
}

/// Delivers every message due now, batch by batch, until none is left or `shutdown` is set.
pub async fn drain(
    state: &AppState,
    fcm: &Fcm,
    shutdown: Option<&watch::Receiver<bool>>,
) -> anyhow::Result<Drained> {
    let mut done = Drained::default();
    let stopping = || shutdown.is_some_and(|s| *s.borrow());
    loop {
        if stopping() {
            return Ok(done);
        }
        let token = new_id();
        let rows = outbox::claim(&state.db, &token, state.now(), BATCH).await?;
        if rows.is_empty() {
            return Ok(done);
        }
        let mut rows = rows.into_iter();
        while let Some(row) = rows.next() {
            if stopping() {
                outbox::release(&state.db, &row, &token).await?;
                for rest in rows.by_ref() {
                    outbox::release(&state.db, &rest, &token).await?;
                }
                return Ok(done);
            }
            let now = state.now();
            if now - row.created_at > MAX_AGE {
                outbox::mark_dropped(&state.db, &row, &token, "too old to send", false, now)
                    .await?;
                state.metrics.event("push", "dropped");
                done.dropped += 1;
                continue;
            }
            let Some(device_token) =
                devices::token_for(&state.db, &row.device_id, &row.user_id).await?
            else {
                outbox::mark_dropped(
                    &state.db,
                    &row,
                    &token,
                    "the device is no longer registered to an active account",
                    false,
                    now,
                )
                .await?;
                state.metrics.event("push", "dropped");
                done.dropped += 1;
                continue;
            };
            let mut data: Map<String, Value> = serde_json::from_str(&row.data).unwrap_or_default();
            data.insert("message_id".into(), Value::String(row.id.clone()));
            let push = Push {
                token: &device_token,
                title: &row.title,
                body: &row.body,
                data: &data,
            };
            match fcm.send(&push, now).await {
                Ok(()) => {
                    outbox::mark_sent(&state.db, &row, &token, state.now()).await?;
                    state.metrics.event("push", "sent");
                    tracing::info!(push_id = %row.id, "push sent");
                    done.sent += 1;
                }
                Err(PushError::Unregistered(message)) => {
                    outbox::mark_dropped(&state.db, &row, &token, &message, true, state.now())
                        .await?;
                    devices::forget_token(&state.db, &row.device_id, &device_token).await?;
                    state.metrics.event("push", "unregistered");
                    tracing::info!(
                        push_id = %row.id, device_id = %row.device_id,
                        "the push service no longer knows this device; forgotten"
                    );
                    done.dropped += 1;
                }
                Err(err) => {
                    let (permanent, after) = match &err {
                        PushError::Retry { after, .. } => (false, *after),
                        _ => (true, None),
                    };
                    let outcome = outbox::mark_failed(
                        &state.db,
                        &row,
                        &token,
                        err.message(),
                        permanent,
                        after,
                        state.settings.push_max_attempts,
                        state.now(),
                    )
                    .await?;
                    match outcome {
                        FailureOutcome::Retry(at) => {
                            state.metrics.event("push", "retry");
                            tracing::warn!(
                                push_id = %row.id, error = %err.message(), next_attempt_at = %at,
                                "push delivery failed; will retry"
                            );
                            done.retried += 1;
                        }
                        FailureOutcome::GaveUp => {
                            state.metrics.event("push", "failed");
                            tracing::error!(
                                push_id = %row.id, error = %err.message(),
                                "push delivery failed for good"
                            );
                            done.failed += 1;
                        }
                    }
                }
            }
        }
    }
}

/// Runs until `shutdown` becomes true: a pass over due messages every worker interval.
pub async fn run(state: AppState, fcm: std::sync::Arc<Fcm>, shutdown: watch::Receiver<bool>) {
    let interval = state.settings.worker_interval;
    peken_kernel::worker::every("push", interval, shutdown, |stop| {
        let (state, fcm) = (&state, &fcm);
        async move { drain(state, fcm, Some(&stop)).await }
    })
    .await;
}
