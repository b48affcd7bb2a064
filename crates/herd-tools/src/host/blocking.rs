//! Running blocking file system work off the async runtime, with deadlines.
//!
//! `std::fs` calls block their thread, and a slow disk, a network mount or a
//! huge tree must not stall the runtime that serves every session. The file
//! tools therefore do their work through [`Files::run`], on threads of their
//! own ([`pool`]), with a cancellation token that trips when the client
//! cancels the call, the call's future is dropped or its deadline passes, so
//! long walks and scans stop early instead of running on unobserved.
//!
//! Three limits keep a hung file system (NFS, FUSE) from taking the file
//! tools down with it:
//!
//! - **A deadline per call** ([`HostConfig::file_timeout`], waiting
//!   included): past it the caller gets a timeout error naming the call and
//!   is released. A job stuck in the kernel cannot be killed; its thread
//!   stays with it until the kernel lets go.
//! - **A pool that grows around stuck threads**: a job that waits
//!   [`PATIENCE`] for a thread gets one more started, up to
//!   [`HostConfig::max_file_threads`] in all, stuck ones included; above
//!   [`HostConfig::file_threads`] threads end when the queue is empty.
//! - **A share per session** (the pool's lanes): at most
//!   [`HostConfig::file_jobs_per_session`] jobs of one session running,
//!   stuck ones included, sessions taking turns for threads, so one session
//!   never holds every thread and one session's hung mount costs only its
//!   own share.
//!
//! Bound: at most `max_file_threads` threads exist; when that many are
//! stuck, further calls wait and fail at their deadline with an error that
//! says so.

mod pool;

use super::HostConfig;
use super::shape::args::failed;
use crate::catalog::ToolError;
use herd_proto::Context;
use pool::{Abandoned, Pool, Ticket};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How long a job waits for a thread before the pool starts another one.
pub(super) const PATIENCE: Duration = Duration::from_millis(100);

/// The file tools' threads, shared by every session of one catalog.
pub(super) struct Files {
    pool: Pool,
    timeout: Duration,
    per_session: usize,
}

impl Files {
    /// Threads and limits as `cfg` says.
    pub(super) fn new(cfg: &HostConfig) -> Self {
        let per_session = cfg.file_jobs_per_session.max(1);
        Self {
            pool: Pool::new(cfg.file_threads, cfg.max_file_threads, per_session),
            timeout: cfg.file_timeout,
            per_session,
        }
    }

    /// Runs `work` on the file system threads within the call's deadline.
    /// `what` names the call in errors (`read_file /etc/x`). `work` should
    /// check the token between steps of long loops and give up when it is
    /// cancelled.
    ///
    /// # Cancel safety
    /// Cancel safe: dropping the future cancels the token; a job not started
    /// yet is then never run, one under way stops at its next check (or,
    /// stuck in the kernel, keeps its thread until the kernel lets go).
    pub(super) async fn run<T, F>(&self, what: &str, cx: &Context, work: F) -> Result<T, ToolError>
    where
        T: Send + 'static,
        F: FnOnce(&CancellationToken) -> Result<T, ToolError> + Send + 'static,
    {
        let started = Instant::now();
        let deadline = started.checked_add(self.timeout).unwrap_or_else(|| started + Duration::from_secs(86_400 * 365));
        let token = cx.cancellation().child_token();
        // Cancels `token` when this future completes or is dropped.
        let _stop = token.clone().drop_guard();
        let (tx, rx) = oneshot::channel();
        let name = what.to_owned();
        let job_token = token.clone();
        let session = cx.meta().session_id.clone();
        let ticket = self.pool.submit(
            session,
            Box::new(move || {
                let result = if job_token.is_cancelled() { Err(cancelled(&name)) } else { work(&job_token) };
                let _ = tx.send(result);
            }),
        );
        let waiting = Waiting(Some(ticket));
        let mut rx = std::pin::pin!(rx);
        // Most calls are answered within the patience. A job still waiting
        // for a thread by then waits behind slow or stuck ones, so the pool
        // gets one more thread, and again each patience while the job
        // waits (a thread started for it may serve another session's turn
        // first). One timer for the usual call.
        let mut until = deadline.min(started + PATIENCE);
        loop {
            if let Ok(answer) = tokio::time::timeout_at(until, &mut rx).await {
                return waiting.answer(what, answer);
            }
            if until >= deadline {
                return Err(self.timed_out(what, waiting.abandon()));
            }
            until = if waiting.grow() { deadline.min(Instant::now() + PATIENCE) } else { deadline };
        }
    }

    fn timed_out(&self, what: &str, was: Abandoned) -> ToolError {
        let after = secs(self.timeout);
        let stuck = self.pool.stuck();
        failed(match was {
            Abandoned::Queued { session_full: true } => format!(
                "{what}: timed out after {after}: this session's share of file system jobs ({}) is taken by its \
                 earlier calls, still running (a hung file system?)",
                self.per_session
            ),
            Abandoned::Queued { session_full: false } => format!(
                "{what}: timed out after {after} waiting for a file system thread ({stuck} are stuck on a file \
                 system that does not answer)"
            ),
            Abandoned::Running | Abandoned::Finished => format!(
                "{what}: timed out after {after}: the file system did not answer (a hung network mount?); the \
                 call was abandoned, and what it started may still complete"
            ),
        })
    }
}

/// A submitted job whose answer is awaited; dropping it abandons the job.
struct Waiting(Option<Ticket>);

impl Waiting {
    /// Asks the pool for one more thread if the job still waits for one;
    /// whether it does.
    fn grow(&self) -> bool {
        let Some(ticket) = self.0.as_ref().filter(|t| t.is_queued()) else { return false };
        ticket.grow();
        true
    }

    fn answer<T>(
        mut self,
        what: &str,
        answer: Result<Result<T, ToolError>, oneshot::error::RecvError>,
    ) -> Result<T, ToolError> {
        self.0 = None;
        answer.unwrap_or_else(|_| Err(failed(format!("{what}: internal error: the job ended without an answer"))))
    }

    fn abandon(mut self) -> Abandoned {
        self.0.take().map_or(Abandoned::Finished, |ticket| ticket.abandon())
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if let Some(ticket) = self.0.take() {
            ticket.abandon();
        }
    }
}

/// The error a cancelled blocking job returns.
pub(super) fn cancelled(what: &str) -> ToolError {
    failed(format!("{what}: cancelled"))
}

/// A duration for messages: `30s`, `1.5s`.
fn secs(d: Duration) -> String {
    format!("{}s", d.as_secs_f64())
}

#[cfg(test)]
mod tests;
