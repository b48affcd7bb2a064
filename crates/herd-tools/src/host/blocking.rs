//! Running blocking file system work off the async runtime.
//!
//! `std::fs` calls block their thread, and a slow disk, a network mount or a
//! huge tree must not stall the runtime that serves every session. The file
//! tools therefore do their work in [`run_blocking`], on a small pool of
//! threads of their own ([`pool`]), with a cancellation token that trips when
//! the client cancels the call or the call's future is dropped, so long walks
//! and scans stop early instead of running on unobserved.
//!
//! At most [`MAX_PARALLEL_JOBS`] jobs run at once; the rest wait (without
//! blocking anything) for a thread. Unbounded, a burst of 64 concurrent reads
//! puts 64 threads on two cores and costs about four times the CPU per call
//! in context switches. A job on a hung network mount holds its thread, so
//! such a mount can stall file tools but never the runtime or other tools.

mod pool;

use super::shape::args::failed;
use crate::catalog::ToolError;
use herd_proto::Context;
use pool::Pool;
use std::sync::LazyLock;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

/// File system jobs running at once.
pub(super) const MAX_PARALLEL_JOBS: usize = 8;

static POOL: LazyLock<Pool> = LazyLock::new(|| Pool::new(MAX_PARALLEL_JOBS));

/// Runs `work` on the file system threads. `work` should check the token
/// between steps of long loops and give up when it is cancelled.
///
/// Cancel safe: dropping the future cancels the token; a job not started
/// yet is then skipped, one under way stops at its next check.
pub(super) async fn run_blocking<T, F>(tool: &str, cx: &Context, work: F) -> Result<T, ToolError>
where
    T: Send + 'static,
    F: FnOnce(&CancellationToken) -> Result<T, ToolError> + Send + 'static,
{
    let token = cx.cancellation().child_token();
    // Cancels `token` when this future completes or is dropped.
    let _stop = token.clone().drop_guard();
    let (tx, rx) = oneshot::channel();
    let name = tool.to_owned();
    POOL.submit(Box::new(move || {
        let result = if token.is_cancelled() { Err(cancelled(&name)) } else { work(&token) };
        let _ = tx.send(result);
    }));
    match rx.await {
        Ok(result) => result,
        Err(_) => Err(failed(format!("{tool}: internal error: the job ended without an answer"))),
    }
}
/// The error a cancelled blocking job returns.
pub(super) fn cancelled(tool: &str) -> ToolError {
    failed(format!("{tool}: cancelled"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[tokio::test]
    async fn a_job_runs_and_its_answer_comes_back() {
        let answer = run_blocking("t", &Context::detached(), |_| Ok(41 + 1)).await;
        assert_eq!(answer.ok(), Some(42));
    }

    #[tokio::test]
    async fn a_call_cancelled_before_its_job_starts_skips_the_job() {
        let cx = Context::detached();
        cx.cancellation().cancel();
        let ran = Arc::new(AtomicBool::new(false));
        let flag = ran.clone();
        let answer = run_blocking("t", &cx, move |_| {
            flag.store(true, Ordering::SeqCst);
            Ok(())
        })
        .await;
        assert!(answer.err().is_some_and(|e| e.to_string().contains("t: cancelled")));
        assert!(!ran.load(Ordering::SeqCst), "the job ran although its call was cancelled");
    }
}
