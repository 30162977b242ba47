//! The worker: one long-lived task per process that sends whatever is due whenever the
//! network is there and sleeps until the next due time, a submit, or the network coming back;
//! supervised, so its own errors back it off and a panic restarts it.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use tokio::sync::Notify;

use curbside_store::reports::{self, now_ms};
use curbside_types::Result;

use crate::Outbox;

/// The worker's own backoff after an error (a full disk, a locked database): from 1 s,
/// doubling, to 5 minutes.
const WORKER_BACKOFF_MAX: Duration = Duration::from_secs(300);

impl Outbox {
    /// Runs until the process ends: sends whatever is due whenever the network is there, and
    /// sleeps until the next due time, a submit, or the network coming back. Its own errors
    /// (a full disk, a locked database) back it off from 1 s to 5 minutes; a panic is logged
    /// and it starts again.
    pub async fn run_worker(self: Arc<Self>) {
        supervise(&self.engine.wake, || self.worker_pass()).await
    }

    /// One pass of the worker; how long to sleep after it.
    async fn worker_pass(&self) -> Result<Duration> {
        let online = self.engine.online();
        tracing::debug!(target: "curbside::outbox", online, "worker pass");
        if online {
            // The hint says online: whatever waits for its server to be reachable again is
            // due (the run finds out).
            self.network_back(None)?;
            self.run(Instant::now() + Duration::from_secs(300), true)
                .await?;
        }
        let next = self.store.read(reports::next_due_at)?;
        Ok(match next {
            Some(at) if self.engine.online() => {
                Duration::from_millis((at - now_ms()).clamp(10, 3_600_000) as u64)
            }
            _ => Duration::from_secs(3600),
        })
    }
}

/// Runs `pass` forever, sleeping between passes for as long as it says (or until woken). An
/// error or a panic in a pass is logged and backs the loop off from 1 s to 5 minutes; a pass
/// that works resets the backoff.
async fn supervise<F, Fut>(wake: &Notify, mut pass: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Duration>>,
{
    let mut failures: u32 = 0;
    loop {
        let outcome = AssertUnwindSafe(pass()).catch_unwind().await;
        let pause = match outcome {
            Ok(Ok(pause)) => {
                if failures > 0 {
                    tracing::info!(target: "curbside::outbox", "worker recovered");
                }
                failures = 0;
                pause
            }
            Ok(Err(e)) => {
                failures += 1;
                let pause = worker_backoff(failures);
                tracing::error!(target: "curbside::outbox", error = %e, retry_in_ms = pause.as_millis() as u64, "worker failed");
                pause
            }
            Err(panic) => {
                failures += 1;
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                tracing::error!(target: "curbside::outbox", panic = %what, "worker panicked; restarting");
                worker_backoff(failures)
            }
        };
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep(pause) => {}
        }
    }
}

/// The worker's pause after its `failures`-th error in a row.
fn worker_backoff(failures: u32) -> Duration {
    Duration::from_secs(1)
        .saturating_mul(1 << failures.saturating_sub(1).min(16))
        .min(WORKER_BACKOFF_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use curbside_types::Error;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test(start_paused = true)]
    async fn the_worker_restarts_after_a_panic_and_backs_off_on_errors() {
        let passes = Arc::new(AtomicU32::new(0));
        let wake = Arc::new(Notify::new());
        let counted = Arc::clone(&passes);
        let woken = Arc::clone(&wake);
        let supervisor = tokio::spawn(async move {
            supervise(&woken, move || {
                let n = counted.fetch_add(1, Ordering::SeqCst);
                async move {
                    match n {
                        0 => panic!("a bug in a pass"),
                        1 => Err(Error::CorruptData("disk full".into())),
                        _ => Ok(Duration::from_secs(3600)),
                    }
                }
            })
            .await
        });
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(
            passes.load(Ordering::SeqCst),
            1,
            "the panic did not end the worker"
        );
        tokio::time::sleep(Duration::from_millis(600)).await; // 1 s after the panic
        assert_eq!(passes.load(Ordering::SeqCst), 2, "restarted after 1 s");
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(
            passes.load(Ordering::SeqCst),
            2,
            "an error backs off 2 s, not at once"
        );
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(passes.load(Ordering::SeqCst), 3, "and then it works again");
        wake.notify_one();
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert_eq!(
            passes.load(Ordering::SeqCst),
            4,
            "a wake starts a pass at once"
        );
        supervisor.abort();
    }
}
