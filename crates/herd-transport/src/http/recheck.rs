//! Open SSE streams authenticate again while they last.
//!
//! A session's requests are each authenticated, but a stream (the GET
//! standalone stream, a POST answered by SSE, a stateless
//! `subscriptions/listen`) can stay open for hours on one check. When the
//! authenticator says credentials can change ([`Authenticate::recheck_every`]),
//! the stream's body checks its request's bearer token again at that
//! interval and ends once it is refused (revoked, expired, its user
//! disabled). A checker that cannot answer (store or identity provider
//! down) does not end streams: an outage is not a revocation.
//!
//! [`Authenticate::recheck_every`]: super::Authenticate::recheck_every

use super::HttpConfig;
use super::auth::{Authenticator, bearer};
use axum::body::Body;
use bytes::Bytes;
use futures_util::{Stream, StreamExt as _};
use http::HeaderMap;
use std::convert::Infallible;
use std::time::Duration;
use tokio::time::Instant;

/// How to check a stream's credentials again.
pub(super) struct Recheck {
    auth: Authenticator,
    bearer: Option<Box<str>>,
    every: Duration,
}

impl Recheck {
    /// The recheck of a request's stream; `None` when the authenticator's
    /// verdicts cannot change.
    pub(super) fn of(config: &HttpConfig, headers: &HeaderMap) -> Option<Self> {
        let every = config.auth.get().recheck_every()?;
        Some(Self { auth: config.auth.clone(), bearer: bearer(headers).map(Into::into), every })
    }

    /// Whether the credentials are now refused.
    async fn refused(&self) -> bool {
        match self.auth.get().authenticate(self.bearer.as_deref()).await {
            Ok(_) => false,
            Err(error) => error.is_refusal(),
        }
    }
}

/// A response body of `stream` that ends when `recheck` refuses the
/// request's credentials.
pub(super) fn body<S>(stream: S, recheck: Option<Recheck>) -> Body
where
    S: Stream<Item = Result<Bytes, Infallible>> + Send + 'static,
{
    let Some(recheck) = recheck else { return Body::from_stream(stream) };
    let due = Instant::now() + recheck.every;
    let state = (Box::pin(stream), recheck, due);
    Body::from_stream(futures_util::stream::unfold(state, |(mut stream, recheck, mut due)| async move {
        loop {
            tokio::select! {
                item = stream.next() => return item.map(|item| (item, (stream, recheck, due))),
                () = tokio::time::sleep_until(due) => {
                    if recheck.refused().await {
                        tracing::info!("SSE stream ended: its credentials are no longer accepted");
                        return None;
                    }
                    due = Instant::now() + recheck.every;
                }
            }
        }
    }))
}
