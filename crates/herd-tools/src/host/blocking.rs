//! Running blocking file system work off the async runtime.
//!
//! `std::fs` calls block their thread, and a slow disk, a network mount or a
//! huge tree must not stall the runtime that serves every session. The file
//! tools therefore do their work in [`run_blocking`], on tokio's blocking
//! pool, with a cancellation token that trips when the client cancels the
//! call or the call's future is dropped, so long walks and scans stop early
//! instead of running on unobserved.

use super::args::failed;
use crate::catalog::ToolError;
use herd_proto::Context;
use tokio_util::sync::CancellationToken;

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
    let task = tokio::task::spawn_blocking(move || work(&token));
    match task.await {
        Ok(result) => result,
        Err(e) => Err(failed(format!("{tool}: internal error: {e}"))),
    }
}

/// The error a cancelled blocking job returns.
pub(super) fn cancelled(tool: &str) -> ToolError {
    failed(format!("{tool}: cancelled"))
}
