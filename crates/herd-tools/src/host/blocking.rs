//! Running blocking file system work off the async runtime.
//!
//! `std::fs` calls block their thread, and a slow disk, a network mount or a
//! huge tree must not stall the runtime that serves every session. The file
//! tools therefore do their work in [`run_blocking`], on tokio's blocking
//! pool, with a cancellation token that trips when the client cancels the
//! call or the call's future is dropped, so long walks and scans stop early
//! instead of running on unobserved.
//!
//! At most [`MAX_PARALLEL_JOBS`] jobs run at once; the rest wait (without
//! blocking anything) for a slot. Unbounded, a burst of 64 concurrent reads
//! puts 64 threads on two cores and costs about four times the CPU per call
//! in context switches. A job on a hung network mount holds its slot, so
//! such a mount can stall file tools but never the runtime or other tools.

use super::shape::args::failed;
use crate::catalog::ToolError;
use herd_proto::Context;
use std::sync::{Arc, LazyLock};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// File system jobs running at once.
pub(super) const MAX_PARALLEL_JOBS: usize = 8;

static SLOTS: LazyLock<Arc<Semaphore>> = LazyLock::new(|| Arc::new(Semaphore::new(MAX_PARALLEL_JOBS)));

/// Runs `work` on the blocking pool. `work` should check the token between
/// steps of long loops and give up when it is cancelled.
pub(super) async fn run_blocking<T, F>(tool: &str, cx: &Context, work: F) -> Result<T, ToolError>
where
    T: Send + 'static,
    F: FnOnce(&CancellationToken) -> Result<T, ToolError> + Send + 'static,
{
    let token = cx.cancellation().child_token();
    // Cancels `token` when this future completes or is dropped.
    let _stop = token.clone().drop_guard();
    let slot = tokio::select! {
        slot = SLOTS.clone().acquire_owned() => slot.map_err(|_| failed(format!("{tool}: shutting down")))?,
        () = token.cancelled() => return Err(cancelled(tool)),
    };
    // The slot travels with the job: it frees when the work really ends,
    // even if this future was dropped first.
    let task = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        work(&token)
    });
    match task.await {
        Ok(result) => result,
        Err(e) => Err(failed(format!("{tool}: internal error: {e}"))),
    }
}

/// The error a cancelled blocking job returns.
pub(super) fn cancelled(tool: &str) -> ToolError {
    failed(format!("{tool}: cancelled"))
}
