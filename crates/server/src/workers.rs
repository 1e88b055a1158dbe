//! Background workers of `peken serve`. Each runs as a task that watches one shared stop signal;
//! on SIGTERM they are told to stop, finish the item in hand, and are awaited within the
//! shutdown timeout.

use std::time::Duration;

use peken_kernel::AppState;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub struct Workers {
    stop: watch::Sender<bool>,
    tasks: Vec<(&'static str, JoinHandle<()>)>,
}

impl Workers {
    /// Starts every worker, unless `PEKEN_RUN_WORKERS` is false. Configuration a worker needs
    /// (e.g. `PEKEN_SMTP_URL`) is checked here, so a bad value stops the start.
    pub fn start(state: &AppState) -> anyhow::Result<Workers> {
        let (stop, signal) = watch::channel(false);
        let mut tasks = Vec::new();
        if state.settings.run_workers {
            let mailer = peken_mail::Mailer::from_settings(&state.settings)?;
            tasks.push((
                "mail",
                tokio::spawn(peken_mail::worker::run(
                    state.clone(),
                    mailer,
                    signal.clone(),
                )),
            ));
            // Push rows are written whether or not push is configured (see ARCHITECTURE.md);
            // without a service account nothing sends them, and they expire after a day.
            if let Some(fcm) = peken_mail::push::Fcm::from_settings(&state.settings)? {
                tasks.push((
                    "push",
                    tokio::spawn(peken_mail::push::worker::run(
                        state.clone(),
                        fcm,
                        signal.clone(),
                    )),
                ));
            } else {
                tracing::info!(
                    "push is not configured (PEKEN_PUSH_CREDENTIALS); not sending push messages"
                );
            }
            tasks.push((
                "orders",
                tokio::spawn(every(
                    state.clone(),
                    signal.clone(),
                    "orders",
                    |s| async move { peken_order::workers::run_once(&s).await },
                )),
            ));
            tasks.push((
                "payout",
                tokio::spawn(every(
                    state.clone(),
                    signal.clone(),
                    "payout",
                    |s| async move {
                        peken_payout::batches::send_due_remittances(&s.db, s.now()).await
                    },
                )),
            ));
            tasks.push((
                "low_stock",
                tokio::spawn(every_at(
                    state.clone(),
                    signal.clone(),
                    "low_stock",
                    state.settings.low_stock_interval,
                    |s| async move { peken_merchant::alerts::low_stock_pass(&s).await },
                )),
            ));
            tasks.push((
                "mandate",
                tokio::spawn(every(
                    state.clone(),
                    signal.clone(),
                    "mandate",
                    |s| async move { peken_order::mandate::send_reminders(&s).await },
                )),
            ));
        }
        Ok(Workers { stop, tasks })
    }

    /// Tells every worker to stop and waits for them, at most `timeout` in all.
    pub async fn stop(self, timeout: Duration) {
        let _ = self.stop.send(true);
        let deadline = tokio::time::Instant::now() + timeout;
        for (name, task) in self.tasks {
            match tokio::time::timeout_at(deadline, task).await {
                Ok(Ok(())) => {}
                Ok(Err(err)) => tracing::error!(worker = name, error = %err, "worker panicked"),
                Err(_) => tracing::warn!(worker = name, "worker did not stop in time"),
            }
        }
    }
}

/// Runs `pass` every worker interval until told to stop (`peken_kernel::worker::every`).
async fn every<F, Fut>(
    state: AppState,
    shutdown: watch::Receiver<bool>,
    name: &'static str,
    pass: F,
) where
    F: Fn(AppState) -> Fut,
    Fut: Future<Output = peken_kernel::ApiResult<usize>>,
{
    let interval = state.settings.worker_interval;
    every_at(state, shutdown, name, interval, pass).await;
}

/// Runs `pass` every `interval` until told to stop (a worker with its own setting).
async fn every_at<F, Fut>(
    state: AppState,
    shutdown: watch::Receiver<bool>,
    name: &'static str,
    interval: Duration,
    pass: F,
) where
    F: Fn(AppState) -> Fut,
    Fut: Future<Output = peken_kernel::ApiResult<usize>>,
{
    peken_kernel::worker::every(name, interval, shutdown, |_| pass(state.clone())).await;
}
