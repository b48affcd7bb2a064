//! A Streamable HTTP client session to another MCP server.
//!
//! The session is opened lazily on first use (`initialize`, then
//! `notifications/initialized`) and opened again transparently when the
//! server forgets it (HTTP 404): the request that met the 404 was never run,
//! so it is safe to resend. Answers come as JSON or as an SSE stream; an SSE
//! stream that ends before the response is resumed with `Last-Event-ID`.

use crate::UpstreamError;
use crate::sse::Parser;
use crate::upstream::{Call, Upstream};
use futures_util::StreamExt;
use herd_proto::{BoxFuture, Extra, Message, Notification, ProtocolVersion, Request, RequestId, Response};
use parking_lot::RwLock;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use serde_json::value::RawValue;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;

const SESSION_ID: &str = "mcp-session-id";
const PROTOCOL_VERSION: &str = "mcp-protocol-version";

/// Settings of an [`HttpUpstream`].
#[derive(Debug, Clone)]
pub struct HttpUpstreamConfig {
    /// The MCP endpoint.
    pub url: String,
    /// Bearer token to present.
    pub token: Option<String>,
    /// TCP connect limit.
    pub connect_timeout: Duration,
    /// Limit for the handshake and for small exchanges (notifications,
    /// answers); tool calls are bounded by the caller.
    pub exchange_timeout: Duration,
    /// Largest message accepted from the upstream.
    pub max_message_bytes: usize,
    /// How often a broken answer stream is resumed before giving up.
    pub max_resumes: u32,
}

impl HttpUpstreamConfig {
    /// Defaults for `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            token: None,
            connect_timeout: Duration::from_secs(3),
            exchange_timeout: Duration::from_secs(10),
            max_message_bytes: 64 * 1024 * 1024,
            max_resumes: 5,
        }
    }
}

/// A client session over Streamable HTTP. Cheap to share.
pub struct HttpUpstream {
    inner: Arc<Inner>,
}

struct Inner {
    config: HttpUpstreamConfig,
    client: reqwest::Client,
    session: RwLock<Option<Arc<Handshake>>>,
    /// Held while a session is being opened; keeps the last failure.
    opening: tokio::sync::Mutex<Option<(tokio::time::Instant, UpstreamError)>>,
    next_id: AtomicU64,
}

/// What the upstream answered at initialize.
#[derive(Debug)]
struct Handshake {
    session_id: Option<String>,
    version: String,
}

impl HttpUpstream {
    /// A session to `config.url`; nothing is sent until the first request.
    pub fn new(config: HttpUpstreamConfig) -> Result<Self, UpstreamError> {
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .tcp_nodelay(true)
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| UpstreamError::Connect { target: config.url.clone(), reason: e.to_string() })?;
        let inner = Inner {
            config,
            client,
            session: RwLock::new(None),
            opening: tokio::sync::Mutex::new(None),
            next_id: AtomicU64::new(1),
        };
        Ok(Self { inner: Arc::new(inner) })
    }

    /// Opens the session now (the first request would do it anyway);
    /// returns the upstream's initialize result.
    pub async fn connect(&self) -> Result<Value, UpstreamError> {
        self.inner.open(None).await
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
        let mut request = Request::new(id.clone(), method, params);
        request.extra = extra;
        let body = Message::Request(request).to_json();
        let inner = self.inner.clone();
        let call_id = id.clone();
        Call { id, response: Box::pin(async move { inner.call(&call_id, body, &events).await }) }
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
        &self.inner.config.url
    }
}

// === impl Inner ===

impl Inner {
    fn target(&self) -> String {
        self.config.url.clone()
    }

    fn current(&self) -> Option<Arc<Handshake>> {
        self.session.read().clone()
    }

    /// Runs `initialize` unless another task already replaced `stale`.
    /// Opens a session (one attempt at a time). Callers that queued behind
    /// an attempt that failed get its error at once instead of each trying
    /// again in turn: against a blackholed upstream, N waiting calls cost
    /// one timeout, not N.
    async fn open(&self, stale: Option<&Arc<Handshake>>) -> Result<Value, UpstreamError> {
        if stale.is_none() && self.current().is_some() {
            // Already open: the common case costs no lock.
            return Ok(Value::Null);
        }
        let asked = tokio::time::Instant::now();
        let mut last_failure = self.opening.lock().await;
        if let Some(current) = self.current()
            && stale.is_none_or(|s| !Arc::ptr_eq(s, &current))
        {
            return Ok(Value::Null);
        }
        if let Some((at, err)) = &*last_failure
            && *at >= asked
        {
            return Err(err.clone());
        }
        let outcome = self.handshake().await;
        if let Err(err) = &outcome {
            *last_failure = Some((tokio::time::Instant::now(), err.clone()));
        }
        outcome
    }

    async fn handshake(&self) -> Result<Value, UpstreamError> {
        let init = json!({
            "jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": {
                "protocolVersion": ProtocolVersion::LATEST.as_str(),
                "capabilities": { "sampling": {}, "elicitation": {}, "roots": { "listChanged": true } },
                "clientInfo": { "name": "herd", "version": env!("CARGO_PKG_VERSION") }
            }
        });
        let response = tokio::time::timeout(self.config.exchange_timeout, self.post(init.to_string(), None))
            .await
            .map_err(|_| self.timeout())??;
        let session_id = response.headers().get(SESSION_ID).and_then(|v| v.to_str().ok()).map(String::from);
        let (tx, _rx) = mpsc::unbounded_channel();
        let answer = self.read_answer(response, &RequestId::number(0), &tx, None).await?;
        let result: Value = match answer.into_result() {
            Ok(raw) => {
                serde_json::from_str(raw.get()).map_err(|e| self.protocol(format!("bad initialize result: {e}")))?
            }
            Err(err) => return Err(self.protocol(format!("initialize failed: {}", err.message))),
        };
        let version = result.get("protocolVersion").and_then(Value::as_str).unwrap_or("2025-06-18").to_owned();
        let handshake = Arc::new(Handshake { session_id, version });
        *self.session.write() = Some(handshake.clone());
        let initialized = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#.to_owned();
        self.post_in(initialized, Some(&handshake)).await?;
        Ok(result)
    }

    async fn session(&self) -> Result<Arc<Handshake>, UpstreamError> {
        if let Some(s) = self.current() {
            return Ok(s);
        }
        self.open(None).await?;
        self.current().ok_or_else(|| self.protocol("no session after initialize".into()))
    }

    async fn call(
        &self,
        id: &RequestId,
        body: String,
        events: &mpsc::UnboundedSender<Message>,
    ) -> Result<Response, UpstreamError> {
        let mut session = self.session().await?;
        let mut response = self.post(body.clone(), Some(&session)).await?;
        if response.status() == reqwest::StatusCode::NOT_FOUND && session.session_id.is_some() {
            tracing::debug!(upstream = %self.config.url, "upstream forgot the session; opening a new one");
            self.open(Some(&session)).await?;
            session = self.session().await?;
            response = self.post(body, Some(&session)).await?;
        }
        self.read_answer(response, id, events, Some(&session)).await
    }

    async fn post_no_answer(&self, body: String) -> Result<(), UpstreamError> {
        let session = self.session().await?;
        tokio::time::timeout(self.config.exchange_timeout, self.post_in(body, Some(&session)))
            .await
            .map_err(|_| self.timeout())?
    }

    async fn post_in(&self, body: String, session: Option<&Arc<Handshake>>) -> Result<(), UpstreamError> {
        let response = self.post(body, session).await?;
        self.check_status(response).await.map(drop)
    }

    async fn post(&self, body: String, session: Option<&Arc<Handshake>>) -> Result<reqwest::Response, UpstreamError> {
        let mut request = self
            .client
            .post(&self.config.url)
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json, text/event-stream")
            .body(body);
        request = self.decorate(request, session);
        request.send().await.map_err(|e| self.send_error(&e))
    }

    fn decorate(
        &self,
        mut request: reqwest::RequestBuilder,
        session: Option<&Arc<Handshake>>,
    ) -> reqwest::RequestBuilder {
        if let Some(token) = &self.config.token {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        if let Some(s) = session {
            request = request.header(PROTOCOL_VERSION, &s.version);
            if let Some(id) = &s.session_id {
                request = request.header(SESSION_ID, id);
            }
        }
        request
    }

    async fn check_status(&self, response: reqwest::Response) -> Result<reqwest::Response, UpstreamError> {
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            return Err(UpstreamError::Unauthorized { target: self.target(), status: status.as_u16() });
        }
        let body = response.text().await.unwrap_or_default();
        Err(UpstreamError::Http {
            target: self.target(),
            status: status.as_u16(),
            body: body.chars().take(300).collect(),
        })
    }

    /// Reads the answer to request `id`: a JSON body or an SSE stream that
    /// carries other messages first (sent to `events`), resumed when cut.
    async fn read_answer(
        &self,
        response: reqwest::Response,
        id: &RequestId,
        events: &mpsc::UnboundedSender<Message>,
        session: Option<&Arc<Handshake>>,
    ) -> Result<Response, UpstreamError> {
        let mut response = self.check_status(response).await?;
        let mut resumes = 0;
        loop {
            let is_sse = response
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("text/event-stream"));
            if !is_sse {
                let bytes = response.bytes().await.map_err(|e| self.send_error(&e))?;
                if bytes.len() > self.config.max_message_bytes {
                    return Err(self.protocol("answer too large".into()));
                }
                return match Message::parse(&bytes) {
                    Ok(Message::Response(r)) if r.id == *id => Ok(r),
                    Ok(other) => Err(self.protocol(format!("expected the response to {id}, got {other:?}"))),
                    Err(e) => Err(self.protocol(format!("unreadable answer: {e}"))),
                };
            }
            let (answer, last_id, retry) = self.read_stream(response, id, events).await?;
            if let Some(answer) = answer {
                return Ok(answer);
            }
            let Some(last_id) = last_id.filter(|_| resumes < self.config.max_resumes) else {
                return Err(self.protocol(format!("the answer stream for {id} ended without a response")));
            };
            resumes += 1;
            tokio::time::sleep(Duration::from_millis(retry.unwrap_or(0).min(5000))).await;
            let request =
                self.client.get(&self.config.url).header(ACCEPT, "text/event-stream").header("last-event-id", last_id);
            response = self.decorate(request, session).send().await.map_err(|e| self.send_error(&e))?;
            response = self.check_status(response).await?;
        }
    }

    async fn read_stream(
        &self,
        response: reqwest::Response,
        id: &RequestId,
        events: &mpsc::UnboundedSender<Message>,
    ) -> Result<(Option<Response>, Option<String>, Option<u64>), UpstreamError> {
        let mut body = response.bytes_stream();
        let mut parser = Parser::default();
        let mut last_id = None;
        let mut retry = None;
        while let Some(chunk) = body.next().await {
            let Ok(chunk) = chunk else { break };
            parser.feed(&chunk);
            while let Some(event) =
                parser.next_event(self.config.max_message_bytes).map_err(|_| self.protocol("event too large".into()))?
            {
                if event.id.is_some() {
                    last_id = event.id;
                }
                retry = event.retry_ms.or(retry);
                if event.data.is_empty() {
                    continue;
                }
                match Message::parse(event.data.as_bytes()) {
                    Ok(Message::Response(r)) if r.id == *id => return Ok((Some(r), last_id, retry)),
                    Ok(message) => {
                        let _ = events.send(message);
                    }
                    Err(e) => tracing::debug!(upstream = %self.config.url, %e, "skipping an unreadable event"),
                }
            }
        }
        Ok((None, last_id, retry))
    }

    fn send_error(&self, e: &reqwest::Error) -> UpstreamError {
        if e.is_timeout() {
            return self.timeout();
        }
        let mut reason = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            reason = format!("{reason}: {s}");
            source = s.source();
        }
        if e.is_connect() {
            UpstreamError::Connect { target: self.target(), reason }
        } else {
            UpstreamError::Lost { target: self.target(), reason }
        }
    }

    fn timeout(&self) -> UpstreamError {
        UpstreamError::Timeout { target: self.target(), seconds: self.config.exchange_timeout.as_secs_f64() }
    }

    fn protocol(&self, reason: String) -> UpstreamError {
        UpstreamError::Protocol { target: self.target(), reason }
    }
}
