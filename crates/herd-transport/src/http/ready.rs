//! `/readyz`: whether this process should be sent traffic now, for load
//! balancers and service managers. `/healthz` says the process is alive;
//! `/readyz` also runs the role's checks (a hub's store reachable, ...),
//! each under one deadline, and answers a single word: `200 ready` or
//! `503 not ready`. No token is asked and nothing else is said: the reason
//! goes to the log, once per change, not to whoever asks.
//!
//! A role adds a check with one line:
//! `Readiness::new().with_check("store", move || async move { store.ping().await.map_err(|e| e.to_string()) })`.

use axum::Router as AxumRouter;
use axum::response::{IntoResponse, Response};
use futures_util::future::{BoxFuture, FutureExt as _, join_all};
use http::{StatusCode, header};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

/// Longest one check may take before it counts as failed.
pub const READY_CHECK_DEADLINE: Duration = Duration::from_secs(2);

type Check = Arc<dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

/// The checks behind `/readyz`. Cloning shares them.
#[derive(Clone, Default)]
pub struct Readiness {
    checks: Vec<(&'static str, Check)>,
    /// What the last answer was (0 before the first, then `READY` or
    /// `NOT_READY`), so a change is logged once, not on every poll.
    last: Arc<AtomicU8>,
}

const READY: u8 = 1;
const NOT_READY: u8 = 2;

/// Why the process is not ready: the first failing check and its reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{check}: {reason}")]
pub struct NotReady {
    /// The check's name.
    pub check: &'static str,
    /// What it reported.
    pub reason: String,
}

// === impl Readiness ===

impl Readiness {
    /// No checks: ready as soon as the listener answers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `check`, named `name` in the log; it fails with a reason.
    #[must_use]
    pub fn with_check<F, Fut>(mut self, name: &'static str, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.checks.push((name, Arc::new(move || check().boxed())));
        self
    }

    /// Runs every check at once, each bounded by [`READY_CHECK_DEADLINE`];
    /// the first failure in the order they were added.
    ///
    /// # Cancel safety
    /// Dropping the future drops the checks in flight; nothing is left half
    /// done in the `Readiness` itself.
    pub async fn check(&self) -> Result<(), NotReady> {
        let runs = self.checks.iter().map(|(name, check)| {
            let run = check();
            async move {
                match tokio::time::timeout(READY_CHECK_DEADLINE, run).await {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(reason)) => Err(NotReady { check: name, reason }),
                    Err(_) => Err(NotReady {
                        check: name,
                        reason: format!("no answer within {}s", READY_CHECK_DEADLINE.as_secs()),
                    }),
                }
            }
        });
        join_all(runs).await.into_iter().collect()
    }

    /// The `GET /readyz` route. Serve it beside the MCP app, outside the
    /// token check (it says nothing but one word).
    pub fn route(self) -> AxumRouter {
        AxumRouter::new().route(
            "/readyz",
            axum::routing::get(move || {
                let readiness = self.clone();
                async move { readiness.answer().await }
            }),
        )
    }

    async fn answer(&self) -> Response {
        let outcome = self.check().await;
        let now = if outcome.is_ok() { READY } else { NOT_READY };
        if self.last.swap(now, Ordering::Relaxed) != now {
            match &outcome {
                Ok(()) => tracing::info!("ready"),
                Err(why) => tracing::warn!(check = why.check, reason = %why.reason, "not ready"),
            }
        }
        let (status, word) = match outcome {
            Ok(()) => (StatusCode::OK, "ready"),
            Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "not ready"),
        };
        (status, [(header::CACHE_CONTROL, "no-store")], word).into_response()
    }
}

impl std::fmt::Debug for Readiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.checks.iter().map(|(name, _)| *name).collect();
        f.debug_struct("Readiness").field("checks", &names).finish()
    }
}

#[cfg(test)]
mod tests;
