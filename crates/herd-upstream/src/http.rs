//! A Streamable HTTP client session to another MCP server.
//!
//! The session is opened lazily on first use (`initialize`, then
//! `notifications/initialized`) and opened again transparently when the
//! server forgets it (HTTP 404): the request that met the 404 was never run,
//! so it is safe to resend. Answers come as JSON or as an SSE stream; an SSE
//! stream that ends before the response is resumed with `Last-Event-ID`.
//!
//! Once a sink is registered ([`Upstream::listen`]), the session's own GET
//! stream is kept open as well, for what the server sends outside any
//! request (see `listen`).
//!
//! The parts: `session` opens the session and sends POSTs, `answer` reads
//! the answer to a request, `events` turns an SSE body into messages for
//! both, and `listen` keeps the GET stream; `client` and `pool` carry the
//! HTTP exchanges under them, and `replay` says which requests they may
//! send a second time.

mod answer;
mod client;
mod events;
mod listen;
mod pool;
mod replay;
mod session;

pub use client::with_causes;

use crate::UpstreamError;
use crate::upstream::{Call, Upstream};
use herd_proto::{BoxFuture, Extra, Message, Notification, Request, RequestId, Response};
use parking_lot::Mutex;
use serde_json::Value;
use serde_json::value::RawValue;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::{CancellationToken, DropGuard};

/// Settings of an [`HttpUpstream`]. Its `Debug` output hides the token and
/// the URL's credentials.
#[derive(Clone)]
pub struct HttpUpstreamConfig {
    /// The MCP endpoint.
    pub url: String,
    /// Bearer token to present.
    pub token: Option<String>,
    /// For an `https://` URL: the CA to verify the server against instead
    /// of the system's roots.
    pub ca: Option<crate::TrustedCa>,
    /// TCP connect limit.
    pub connect_timeout: Duration,
    /// Limit for the whole handshake (connection, `initialize` and its
    /// answer, `notifications/initialized`) and for small exchanges
    /// (notifications, answers, the response head of a stream); tool calls
    /// are bounded by the caller.
    pub exchange_timeout: Duration,
    /// Largest message accepted from the upstream.
    pub max_message_bytes: usize,
    /// How often a broken answer stream is resumed before giving up.
    pub max_resumes: u32,
    /// The session's GET stream is dropped and resumed after this long
    /// without a byte; keep it above the server's keep-alive interval
    /// (herd sends one every 15 s).
    pub listen_idle_timeout: Duration,
    /// First wait before the GET stream is opened again; it doubles while
    /// attempts keep failing.
    pub reconnect_delay: Duration,
    /// Longest wait between attempts to open the GET stream.
    pub max_reconnect_delay: Duration,
    /// Tools that only read. A call to one that meets a pooled connection
    /// closed under it, before any answer, is sent once more on a fresh
    /// connection, as reads (`tools/list`, `ping`, ...) are; a call to any
    /// other tool is not, since it may have run.
    pub read_only_tools: Vec<String>,
    /// Sends every exchange through this tunnel instead of dialling the
    /// URL, whose host and path still name the request's target.
    pub tunnel: Option<crate::TunnelLink>,
}

impl HttpUpstreamConfig {
    /// Defaults for `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            token: None,
            ca: None,
            connect_timeout: Duration::from_secs(3),
            exchange_timeout: Duration::from_secs(10),
            max_message_bytes: 64 * 1024 * 1024,
            max_resumes: 5,
            listen_idle_timeout: Duration::from_secs(60),
            reconnect_delay: Duration::from_millis(250),
            max_reconnect_delay: Duration::from_secs(30),
            read_only_tools: Vec::new(),
            tunnel: None,
        }
    }
}

impl std::fmt::Debug for HttpUpstreamConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpUpstreamConfig")
            .field("url", &herd_proto::redact_url(&self.url))
            .field("token", &self.token.as_ref().map(|_| "***"))
            .field("ca", &self.ca)
            .field("connect_timeout", &self.connect_timeout)
            .field("exchange_timeout", &self.exchange_timeout)
            .finish_non_exhaustive()
    }
}

/// A client session over Streamable HTTP. Cheap to share.
///
/// Dropping it stops the GET stream task, if one runs; requests still in
/// flight finish.
pub struct HttpUpstream {
    inner: Arc<Inner>,
    /// Stops the GET stream task of the sink registered last.
    listener: Mutex<Option<DropGuard>>,
}

struct Inner {
    config: HttpUpstreamConfig,
    /// `config.url` without its credentials: how errors and logs name the
    /// upstream.
    shown: String,
    client: client::Client,
    /// `Bearer <token>`, marked sensitive so it never shows in debug output.
    authorization: Option<http::HeaderValue>,
    /// The open session, if any; the GET stream follows its changes.
    session: watch::Sender<Option<Arc<Handshake>>>,
    /// Held while a session is being opened; keeps the last failure.
    opening: tokio::sync::Mutex<Option<(tokio::time::Instant, UpstreamError)>>,
    next_id: AtomicU64,
}

/// What the upstream answered at initialize, as the headers every later
/// request of the session carries.
#[derive(Debug)]
struct Handshake {
    session_id: Option<http::HeaderValue>,
    version: http::HeaderValue,
}

impl HttpUpstream {
    /// A session to `config.url`; nothing is sent until the first request.
    pub fn new(config: HttpUpstreamConfig) -> Result<Self, UpstreamError> {
        let shown = herd_proto::redact_url(&config.url).into_owned();
        let client =
            client::Client::new(&config).map_err(|reason| UpstreamError::Connect { target: shown.clone(), reason })?;
        let authorization = match &config.token {
            Some(token) => {
                let mut value = http::HeaderValue::try_from(format!("Bearer {token}")).map_err(|_| {
                    UpstreamError::Connect { target: shown.clone(), reason: "the token is not a valid header".into() }
                })?;
                value.set_sensitive(true);
                Some(value)
            }
            None => None,
        };
        let inner = Inner {
            config,
            shown,
            client,
            authorization,
            session: watch::Sender::new(None),
            opening: tokio::sync::Mutex::new(None),
            next_id: AtomicU64::new(1),
        };
        Ok(Self { inner: Arc::new(inner), listener: Mutex::new(None) })
    }

    /// Opens the session now (the first request would do it anyway);
    /// returns the upstream's initialize result.
    pub async fn connect(&self) -> Result<Value, UpstreamError> {
        self.inner.open(None).await
    }

    /// Whether a session is open (a request would be sent over it now).
    pub fn is_open(&self) -> bool {
        self.inner.current().is_some()
    }
}

impl Upstream for HttpUpstream {
    fn request(
        &self,
        method: &str,
        params: Option<Box<RawValue>>,
        extra: Extra,
        events: mpsc::UnboundedSender<Message>,
    ) -> Call {
        let id = RequestId::number(self.inner.next_id.fetch_add(1, Ordering::Relaxed));
        let replay = replay::Replay::of(method, params.as_deref(), &self.inner.config.read_only_tools);
        let mut request = Request::new(id.clone(), method, params);
        request.extra = extra;
        let body = Message::Request(request).to_json();
        let inner = self.inner.clone();
        let call_id = id.clone();
        let (closed, stream_closes) = mpsc::unbounded_channel();
        let response = Box::pin(async move { inner.call(&call_id, body, replay, &events, &closed).await });
        Call { id, response, stream_closes: Some(stream_closes) }
    }

    fn notify(&self, notification: Notification) -> BoxFuture<'static, Result<(), UpstreamError>> {
        let inner = self.inner.clone();
        let body = Message::Notification(notification).to_json();
        Box::pin(async move { inner.post_no_answer(body).await })
    }

    fn respond(&self, response: Response) -> BoxFuture<'static, Result<(), UpstreamError>> {
        let inner = self.inner.clone();
        let body = Message::Response(response).to_json();
        Box::pin(async move { inner.post_no_answer(body).await })
    }

    fn describe(&self) -> &str {
        &self.inner.shown
    }

    /// Keeps the session's GET stream open once the session is open (the
    /// first request or [`HttpUpstream::connect`] opens it; listening does
    /// not). Needs a Tokio runtime; without one the sink is dropped.
    fn listen(&self, sink: mpsc::UnboundedSender<Message>) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(upstream = %self.inner.shown, "no runtime to listen on; messages outside requests are lost");
            return;
        };
        let stop = CancellationToken::new();
        runtime.spawn(listen::run(self.inner.clone(), sink, stop.clone()));
        *self.listener.lock() = Some(stop.drop_guard());
    }
}
