//! Opening the session and the plain HTTP exchanges on it: POSTs, the GET
//! that opens or resumes a stream, status checks and error wording.

use super::client::{Body, SendError, read_prefix};
use super::replay::Replay;
use super::{Handshake, Inner};
use crate::UpstreamError;
use bytes::Bytes;
use herd_proto::{ProtocolVersion, RequestId};
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderName, HeaderValue};
use http::{HeaderMap, Method, Response, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use tokio::sync::mpsc;

const SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");
const PROTOCOL_VERSION: HeaderName = HeaderName::from_static("mcp-protocol-version");
const LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");
const JSON: HeaderValue = HeaderValue::from_static("application/json");
const JSON_OR_EVENTS: HeaderValue = HeaderValue::from_static("application/json, text/event-stream");
const EVENTS: HeaderValue = HeaderValue::from_static("text/event-stream");
/// How much of an error answer's body is read to quote from it (300
/// characters of up to 4 bytes each).
const ERROR_BODY_BYTES: usize = 1200;

impl Inner {
    pub(super) fn target(&self) -> String {
        self.shown.clone()
    }

    pub(super) fn current(&self) -> Option<Arc<Handshake>> {
        self.session.borrow().clone()
    }

    /// Runs `initialize` unless another task already replaced `stale`.
    /// Opens a session (one attempt at a time). Callers that queued behind
    /// an attempt that failed get its error at once instead of each trying
    /// again in turn: against a blackholed upstream, N waiting calls cost
    /// one timeout, not N. The whole handshake (connection, both exchanges,
    /// every body) is bounded by the exchange timeout, so an upstream that
    /// answers a head and then stalls holds the queue no longer than that.
    ///
    /// # Cancel safety
    /// Cancel safe: a caller dropped while queued leaves the queue, and one
    /// dropped while opening abandons its attempt (the next in line starts
    /// its own).
    pub(super) async fn open(&self, stale: Option<&Arc<Handshake>>) -> Result<Value, UpstreamError> {
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
        let outcome = match tokio::time::timeout(self.config.exchange_timeout, self.handshake()).await {
            Ok(outcome) => outcome,
            Err(_) => Err(self.timeout()),
        };
        if let Err(err) = &outcome {
            *last_failure = Some((tokio::time::Instant::now(), err.clone()));
        }
        outcome
    }

    /// `initialize` then `notifications/initialized`; only then is the new
    /// session published, so nothing else reaches the server before it.
    async fn handshake(&self) -> Result<Value, UpstreamError> {
        let init = json!({
            "jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": {
                "protocolVersion": ProtocolVersion::LATEST.as_str(),
                "capabilities": { "sampling": {}, "elicitation": {}, "roots": { "listChanged": true } },
                "clientInfo": { "name": "herd", "version": env!("CARGO_PKG_VERSION") }
            }
        });
        let response = self.post(init.to_string(), None, Replay::Idempotent).await?;
        let session_id = response.headers().get(SESSION_ID).cloned();
        let (tx, _rx) = mpsc::unbounded_channel();
        let answer = self.read_answer(response, &RequestId::number(0), &tx, None, None).await?;
        let result: Value = match answer.into_result() {
            Ok(raw) => {
                serde_json::from_str(raw.get()).map_err(|e| self.protocol(format!("bad initialize result: {e}")))?
            }
            Err(err) => return Err(self.protocol(format!("initialize failed: {}", err.message))),
        };
        let version = result.get("protocolVersion").and_then(Value::as_str).unwrap_or("2025-06-18");
        let version = HeaderValue::try_from(version)
            .map_err(|_| self.protocol(format!("unusable protocolVersion {version:?}")))?;
        let handshake = Arc::new(Handshake { session_id, version });
        let initialized = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#.to_owned();
        self.post_in(initialized, Some(&handshake)).await?;
        self.session.send_replace(Some(handshake));
        Ok(result)
    }

    pub(super) async fn session(&self) -> Result<Arc<Handshake>, UpstreamError> {
        if let Some(s) = self.current() {
            return Ok(s);
        }
        self.open(None).await?;
        self.current().ok_or_else(|| self.protocol("no session after initialize".into()))
    }

    pub(super) async fn post_no_answer(&self, body: String) -> Result<(), UpstreamError> {
        let session = self.session().await?;
        tokio::time::timeout(self.config.exchange_timeout, self.post_in(body, Some(&session)))
            .await
            .map_err(|_| self.timeout())?
    }

    async fn post_in(&self, body: String, session: Option<&Arc<Handshake>>) -> Result<(), UpstreamError> {
        let response = self.post(body, session, Replay::AtMostOnce).await?;
        self.check_status(response).await.map(drop)
    }

    pub(super) async fn post(
        &self,
        body: impl Into<Bytes>,
        session: Option<&Arc<Handshake>>,
        replay: Replay,
    ) -> Result<Response<Body>, UpstreamError> {
        let mut headers = self.headers(session);
        headers.insert(CONTENT_TYPE, JSON);
        headers.insert(ACCEPT, JSON_OR_EVENTS);
        herd_telemetry::inject_headers(&mut headers);
        self.client.send(Method::POST, headers, body.into(), replay).await.map_err(|e| self.send_error(e))
    }

    /// A GET for an SSE stream on `session`: the session's own stream, or
    /// the one `last_event_id` belongs to, resumed after it. Only the
    /// response head is awaited (within the exchange timeout); the status
    /// is left to the caller.
    pub(super) async fn get_stream(
        &self,
        session: Option<&Arc<Handshake>>,
        last_event_id: Option<&str>,
    ) -> Result<Response<Body>, UpstreamError> {
        let mut headers = self.headers(session);
        headers.insert(ACCEPT, EVENTS);
        if let Some(id) = last_event_id {
            let id = HeaderValue::from_str(id).map_err(|_| self.protocol(format!("unusable event id {id:?}")))?;
            headers.insert(LAST_EVENT_ID, id);
        }
        // Opening or resuming a stream changes nothing: safe to send twice.
        let send = self.client.send(Method::GET, headers, Bytes::new(), Replay::Idempotent);
        match tokio::time::timeout(self.config.exchange_timeout, send).await {
            Ok(sent) => sent.map_err(|e| self.send_error(e)),
            Err(_) => Err(self.timeout()),
        }
    }

    /// The headers every request of `session` carries.
    fn headers(&self, session: Option<&Arc<Handshake>>) -> HeaderMap {
        let mut headers = HeaderMap::with_capacity(6);
        if let Some(authorization) = &self.authorization {
            headers.insert(AUTHORIZATION, authorization.clone());
        }
        if let Some(s) = session {
            headers.insert(PROTOCOL_VERSION, s.version.clone());
            if let Some(id) = &s.session_id {
                headers.insert(SESSION_ID, id.clone());
            }
        }
        headers
    }

    pub(super) async fn check_status(&self, response: Response<Body>) -> Result<Response<Body>, UpstreamError> {
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(UpstreamError::Unauthorized { target: self.target(), status: status.as_u16() });
        }
        let read = read_prefix(response.into_body(), ERROR_BODY_BYTES);
        let body = match tokio::time::timeout(self.config.exchange_timeout, read).await {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(_) => String::new(),
        };
        Err(UpstreamError::Http {
            target: self.target(),
            status: status.as_u16(),
            body: body.chars().take(300).collect(),
        })
    }

    pub(super) fn send_error(&self, e: SendError) -> UpstreamError {
        match e {
            SendError::Connect(reason) => UpstreamError::Connect { target: self.target(), reason },
            SendError::Lost(reason) => UpstreamError::Lost { target: self.target(), reason },
            SendError::Timeout => self.timeout(),
        }
    }

    pub(super) fn timeout(&self) -> UpstreamError {
        UpstreamError::Timeout { target: self.target(), seconds: self.config.exchange_timeout.as_secs_f64() }
    }

    pub(super) fn protocol(&self, reason: String) -> UpstreamError {
        UpstreamError::Protocol { target: self.target(), reason }
    }
}
