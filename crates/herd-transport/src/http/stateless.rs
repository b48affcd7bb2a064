//! POSTs of the stateless revision (2026-07-28): no session, every request
//! stands alone.
//!
//! Which path a POST takes is decided per request ([`is_stateless`]): a
//! session id means the session revisions; otherwise an
//! `MCP-Protocol-Version` header that names no session revision, or
//! (without the header) a body whose `_meta` names its revision, means this
//! one. The headers (`Mcp-Param-*` included) are handed to the router as
//! [`Claims`] it checks against the body.
//!
//! The answer is JSON when the handler finishes before it sends anything;
//! otherwise an SSE stream carries its notifications and then the answer.
//! The stream is not resumable (the revision has nothing to resume with):
//! the handler runs inside the response body, so a client that goes away
//! drops it, and with it the work (or the `subscriptions/listen`
//! subscription). Notifications wait for the body in a queue of
//! `max_queued_notifications`; beyond it they are dropped and counted (see
//! `queue`), so a listener that stops reading costs bounded memory.

use super::HttpConfig;
use super::error::status_of;
use super::mcp::{EVENT_STREAM, PROTOCOL_VERSION, SESSION_ID, json_response};
use super::recheck::{self, Recheck};
use crate::queue::BoundedOutbox;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use herd_proto::{Message, ProtocolVersion};
use herd_router::{Caller, Claims, Router, SharedOutbox, StatelessAnswer};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use tokio::sync::mpsc;

const MCP_METHOD: HeaderName = HeaderName::from_static("mcp-method");
const MCP_NAME: HeaderName = HeaderName::from_static("mcp-name");

/// Whether this POST belongs to the stateless revision.
pub(super) fn is_stateless(headers: &HeaderMap, message: &Message) -> bool {
    if headers.contains_key(SESSION_ID) {
        return false;
    }
    match headers.get(PROTOCOL_VERSION) {
        Some(v) => ProtocolVersion::parse(v.to_str().unwrap_or("").trim()).is_none(),
        None => matches!(message, Message::Request(r) if herd_router::is_stateless(r)),
    }
}

/// A header's value, trimmed (`None` when absent or not visible ASCII).
fn claim<'h>(headers: &'h HeaderMap, name: &HeaderName) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim)
}

/// The `Mcp-Param-*` headers, for the router to hold against the tool's
/// arguments.
fn param_claims(headers: &HeaderMap) -> Vec<(String, Option<String>)> {
    let params = headers.iter().filter_map(|(name, value)| {
        let suffix = name.as_str().strip_prefix(herd_router::PARAM_HEADER_PREFIX)?;
        Some((suffix.to_owned(), value.to_str().ok().map(|v| v.trim().to_owned())))
    });
    params.collect()
}

/// Answers a message of the stateless revision.
pub(super) async fn post(
    router: &Router,
    headers: &HeaderMap,
    message: Message,
    sse: bool,
    config: &HttpConfig,
    caller: Caller,
) -> Response {
    let keep_alive = config.sse_keep_alive;
    let req = match message {
        Message::Request(req) => req,
        // Nothing to answer, and no session for it to change.
        Message::Notification(_) | Message::Response(_) => return StatusCode::ACCEPTED.into_response(),
    };
    let version = claim(headers, &PROTOCOL_VERSION).map(str::to_owned);
    let method = claim(headers, &MCP_METHOD).map(str::to_owned);
    let name = claim(headers, &MCP_NAME).map(str::to_owned);
    let params = param_claims(headers);
    // Only notifications travel here (a stateless handler's questions go
    // back in its result): a client reading too slowly loses some, counted.
    let (queue, mut rx) = BoundedOutbox::channel(config.max_queued_notifications, "stateless SSE");
    let outbox = sse.then_some(queue as SharedOutbox);
    let router = router.clone();
    let inbound = herd_telemetry::Inbound::http(headers);
    let mut work: Work = Box::pin(herd_telemetry::within(inbound, async move {
        let claims = Claims {
            version: version.as_deref(),
            method: method.as_deref(),
            name: name.as_deref(),
            params: &params,
            required: true,
            principal: caller.principal.as_ref(),
            address: caller.address,
        };
        router.handle_stateless(req, claims, outbox).await
    }));
    tokio::select! {
        biased;
        answer = &mut work => {
            let mut early = Vec::new();
            while let Ok(frame) = rx.try_recv() {
                early.push(frame);
            }
            if early.is_empty() {
                return match answer {
                    Some(answer) => single(answer),
                    None => StatusCode::ACCEPTED.into_response(),
                };
            }
            stream(Pump { work: None, early, last: answer, rx, keep_alive }, Recheck::of(config, headers))
        }
        Some(first) = rx.recv() => {
            let pump = Pump { work: Some(work), early: vec![first], last: None, rx, keep_alive };
            stream(pump, Recheck::of(config, headers))
        }
    }
}

type Work = Pin<Box<dyn Future<Output = Option<StatelessAnswer>> + Send>>;

fn single(answer: StatelessAnswer) -> Response {
    let mut response = json_response(answer.body);
    *response.status_mut() = status_of(answer.verdict);
    response
}

/// The handler, run by the response body as it is read.
struct Pump {
    work: Option<Work>,
    early: Vec<String>,
    last: Option<StatelessAnswer>,
    rx: mpsc::Receiver<String>,
    keep_alive: Duration,
}

fn event(message: &str) -> String {
    format!("data: {message}\n\n")
}

impl Pump {
    /// The next chunk of the stream; `None` at its end.
    async fn next(&mut self) -> Option<Bytes> {
        if !self.early.is_empty() {
            let chunk: String = self.early.drain(..).map(|m| event(&m)).collect();
            return Some(Bytes::from(chunk));
        }
        let Some(work) = self.work.as_mut() else {
            return self.last.take().map(|answer| Bytes::from(event(&answer.body)));
        };
        tokio::select! {
            biased;
            Some(message) = self.rx.recv() => Some(Bytes::from(event(&message))),
            answer = work => {
                self.work = None;
                self.last = answer;
                while let Ok(message) = self.rx.try_recv() {
                    self.early.push(message);
                }
                let chunk: String = self.early.drain(..).map(|m| event(&m)).collect();
                let tail = self.last.take().map(|a| event(&a.body)).unwrap_or_default();
                Some(Bytes::from(chunk + &tail))
            }
            () = tokio::time::sleep(self.keep_alive) => Some(Bytes::from_static(b": keep-alive\n\n")),
        }
    }
}

fn stream(pump: Pump, recheck: Option<Recheck>) -> Response {
    let chunks = futures_util::stream::unfold(pump, |mut pump| async move {
        let chunk = pump.next().await?;
        Some((Ok::<_, std::convert::Infallible>(chunk), pump))
    });
    let mut response = Response::new(recheck::body(chunks, recheck));
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(EVENT_STREAM));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
