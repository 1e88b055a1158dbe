//! The loop every background worker runs: a pass every interval until told to stop.

use std::fmt::Debug;
use std::time::Duration;

use tokio::sync::watch;

/// Runs `pass` every `interval` until `shutdown` becomes true (or its sender is gone). A failing
/// pass (the database down or refusing) makes the next wait longer each time, up to a minute, so
/// the log is not flooded. `pass` gets its own copy of `shutdown` to hand back the rest of a
/// batch when asked to stop. Each pass claims its rows with conditional updates, so several
/// processes may run the same worker.
pub async fn every<F, Fut, T, E>(
    worker: &'static str,
    interval: Duration,
    mut shutdown: watch::Receiver<bool>,
    mut pass: F,
) where
    F: FnMut(watch::Receiver<bool>) -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: Debug,
{
    let mut failures: u32 = 0;
    loop {
        if *shutdown.borrow() {
            break;
        }
        let wait = match pass(shutdown.clone()).await {
            Ok(_) => {
                failures = 0;
                interval
            }
            Err(err) => {
                failures = failures.saturating_add(1);
                tracing::warn!(worker, error = ?err, "worker pass failed");
                interval
                    .saturating_mul(failures.min(30))
                    .min(Duration::from_secs(60))
            }
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            changed = shutdown.changed() => {
                // A dropped sender can never signal again: treat it as the signal.
                if changed.is_err() {
                    break;
                }
            }
        }
    }
    tracing::info!(worker, "worker stopped");
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_failing_pass_waits_longer_each_time_and_the_signal_stops_the_loop() {
        let (stop, signal) = watch::channel(false);
        let passes = Arc::new(AtomicU32::new(0));
        let counted = passes.clone();
        let task = tokio::spawn(every("test", Duration::from_secs(1), signal, move |_| {
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                Err::<(), _>("down")
            }
        }));
        // Waits of 1, 2, 3 and 4 seconds: by 10.5 s passes ran at 0, 1, 3, 6 and 10 s.
        tokio::time::sleep(Duration::from_millis(10_500)).await;
        assert_eq!(passes.load(Ordering::SeqCst), 5);
        stop.send(true).unwrap();
        task.await.unwrap();
        let after = passes.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(120)).await;
        assert_eq!(
            passes.load(Ordering::SeqCst),
            after,
            "no pass after the signal"
        );
    }
}
