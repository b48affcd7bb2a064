//! A test client over `oneshot` and a catalog of tools that exercise the
//! transport's streaming paths.

#![allow(clippy::unwrap_used)]

use crate::http::{Authenticator, BearerAuth, HttpConfig, app};
use axum::body::Body;
use futures_util::StreamExt;
use herd_proto::model::CallToolResult;
use herd_proto::{Backend, LogLevel};
use herd_router::{Router, RouterConfig};
use herd_tools::Catalog;
use http::{HeaderValue, Method, Request, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use tokio::sync::{Notify, mpsc};
use tower::ServiceExt;

pub(super) use crate::testing::tool;

/// Drops a message into `probe` when dropped: proves a handler was stopped.
struct DropProbe(mpsc::UnboundedSender<String>);

impl Drop for DropProbe {
    fn drop(&mut self) {
        let _ = self.0.send("dropped".into());
    }
}

/// Hands a `burst` call its go, and hears when it is done.
#[derive(Clone, Default)]
pub(super) struct Burst {
    pub(super) go: Arc<Notify>,
    pub(super) done: Arc<Notify>,
}

fn catalog(probe: mpsc::UnboundedSender<String>, burst: Burst) -> Catalog {
    Catalog::builder()
        .tool(tool("echo"), |args, _| async move {
            Ok(CallToolResult::text(args.get("text").and_then(Value::as_str).unwrap_or_default()))
        })
        .tool(tool("progress"), |_, cx| async move {
            cx.progress(1.0, Some(2.0), None);
            cx.log(LogLevel::Info, None, json!("halfway"));
            cx.progress(2.0, Some(2.0), None);
            Ok(CallToolResult::text("done"))
        })
        .tool(tool("ask"), |_, cx| async move {
            let answer = cx.request("sampling/createMessage", &json!({"messages":[],"maxTokens":5})).await?;
            Ok(CallToolResult::text(format!("model said {}", answer["content"]["text"].as_str().unwrap_or("?"))))
        })
        .tool(tool("wait"), move |_, cx| {
            let probe = probe.clone();
            async move {
                let _guard = DropProbe(probe.clone());
                let _ = probe.send("started".into());
                cx.cancelled().await;
                // Never reached when the router drops the handler first.
                std::future::pending::<()>().await;
                Ok(CallToolResult::text("unreachable"))
            }
        })
        .tool(tool("burst"), move |args, cx| {
            let burst = burst.clone();
            async move {
                // One event, a closed connection, then `n` more events
                // while the client is away.
                cx.progress(0.0, None, None);
                cx.close_stream();
                burst.go.notified().await;
                for i in 1..=args["n"].as_u64().unwrap_or(0) {
                    cx.progress(i as f64, None, None);
                }
                burst.done.notify_one();
                Ok(CallToolResult::text("burst over"))
            }
        })
        .tool(tool("quiet"), |_, cx| async move {
            // Lets go of its outbox, then answers a little later (as a
            // backend does that writes an audit record after its work).
            drop(cx);
            tokio::task::yield_now().await;
            Ok(CallToolResult::text("late"))
        })
        .tool(tool("reconnect"), |_, cx| async move {
            cx.close_stream();
            tokio::task::yield_now().await;
            Ok(CallToolResult::text("after reconnect"))
        })
        .build()
}

#[derive(Clone)]
pub(super) struct Client {
    app: axum::Router,
    pub(super) session: Option<String>,
    pub(super) catalog: Catalog,
    pub(super) burst: Burst,
    pub(super) token: Option<String>,
}

pub(super) fn init_body(version: &str) -> String {
    json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{
        "protocolVersion":version,"capabilities":{"sampling":{}},"clientInfo":{"name":"t","version":"1"}}})
    .to_string()
}

impl Client {
    pub(super) fn new() -> Self {
        Self::build(None, mpsc::unbounded_channel().0)
    }

    pub(super) fn with_auth(token: &str) -> Self {
        Self::build(Some(token.into()), mpsc::unbounded_channel().0)
    }

    pub(super) fn with_cancel_probe() -> (Self, mpsc::UnboundedReceiver<String>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Self::build(None, tx), rx)
    }

    /// A client of a server with these settings (loopback hosts allowed).
    pub(super) fn with_config(router: RouterConfig, http: HttpConfig) -> Self {
        Self::build_with(router, http, mpsc::unbounded_channel().0)
    }

    fn build(token: Option<String>, probe: mpsc::UnboundedSender<String>) -> Self {
        // The token is known to the server only; requests add it explicitly.
        let http = HttpConfig {
            auth: token.map_or_else(Authenticator::anonymous, |t| Authenticator::static_tokens(BearerAuth::new([t]))),
            ..HttpConfig::default()
        };
        Self::build_with(RouterConfig::default(), http, probe)
    }

    fn build_with(router: RouterConfig, http: HttpConfig, probe: mpsc::UnboundedSender<String>) -> Self {
        let burst = Burst::default();
        let catalog = catalog(probe, burst.clone());
        let backend: Arc<dyn Backend> = Arc::new(catalog.clone());
        let router = Router::new(router, vec![backend]);
        let config = HttpConfig { allowed_hosts: Some(HttpConfig::loopback_hosts()), ..http };
        Self { app: app(router, config), session: None, catalog, burst, token: None }
    }

    pub(super) async fn initialize(&mut self, version: &str) -> Value {
        let resp = self.request_body(Method::POST, &[], &init_body(version)).await;
        assert_eq!(resp.status(), StatusCode::OK);
        self.session = resp.headers().get("mcp-session-id").map(|v| v.to_str().unwrap().to_owned());
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
        serde_json::from_slice(&body).unwrap()
    }

    pub(super) async fn request_body(
        &self,
        method: Method,
        headers: &[(&str, &str)],
        body: &str,
    ) -> http::Response<Body> {
        let headers: Vec<(&str, &[u8])> = headers.iter().map(|(k, v)| (*k, v.as_bytes())).collect();
        self.request_bytes(method, &headers, body).await
    }

    /// Like [`Self::request_body`], with header values of any bytes.
    pub(super) async fn request_bytes(
        &self,
        method: Method,
        headers: &[(&str, &[u8])],
        body: &str,
    ) -> http::Response<Body> {
        let mut req = Request::builder()
            .method(method)
            .uri("/mcp")
            .header("host", "localhost:7801")
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream");
        if let Some(s) = &self.session {
            req = req.header("mcp-session-id", s);
        }
        if let Some(t) = &self.token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let mut req = req.body(Body::from(body.to_owned())).unwrap();
        let mut given = std::collections::HashSet::new();
        for (k, v) in headers {
            // A name given twice is sent twice; a name given once replaces the default.
            let (name, value) =
                (http::HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_bytes(v).unwrap());
            match given.insert(name.clone()) {
                true => req.headers_mut().insert(name, value).map(drop).unwrap_or_default(),
                false => drop(req.headers_mut().append(name, value)),
            }
        }
        self.app.clone().oneshot(req).await.unwrap()
    }

    pub(super) async fn request(&self, method: Method, headers: &[(&str, &str)]) -> http::Response<Body> {
        self.request_body(method, headers, r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#).await
    }

    /// POSTs with JSON preferred; returns status, content type and the body
    /// (the last message when the answer was a stream).
    pub(super) async fn post_json(&mut self, body: &Value) -> (StatusCode, String, Value) {
        let resp = self.request_body(Method::POST, &[], &body.to_string()).await;
        let status = resp.status();
        let ctype = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        if ctype == "text/event-stream" {
            let last =
                sse_events(resp, 100).await.into_iter().filter_map(|(_, m)| m).next_back().unwrap_or(Value::Null);
            return (status, ctype, last);
        }
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
        (status, ctype, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    pub(super) async fn post_raw(&self, body: &str, ctype: &str, accept: Option<&str>) -> (StatusCode, Value) {
        let mut headers = vec![("content-type", ctype)];
        if let Some(a) = accept {
            headers.push(("accept", a));
        }
        let resp = self.request_body(Method::POST, &headers, body).await;
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    pub(super) async fn post_stream(&self, body: &Value) -> http::Response<Body> {
        self.request_body(Method::POST, &[], &body.to_string()).await
    }

    pub(super) async fn delete(&self) -> StatusCode {
        self.request_body(Method::DELETE, &[], "").await.status()
    }
}

/// Waits until the probed handler has started.
pub(super) async fn started(probe: &mut mpsc::UnboundedReceiver<String>) {
    assert_eq!(probe.recv().await.as_deref(), Some("started"));
}

/// Reads SSE events as they arrive.
pub(super) struct EventReader {
    body: axum::body::BodyDataStream,
    buffer: String,
}

impl EventReader {
    pub(super) fn new(resp: http::Response<Body>) -> Self {
        Self { body: resp.into_body().into_data_stream(), buffer: String::new() }
    }

    /// The next event: its id and its JSON message (None for empty data).
    /// None at the end of the stream.
    pub(super) async fn next_event(&mut self) -> Option<(Option<String>, Option<Value>)> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut id = None;
                let mut data = None;
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id: ") {
                        id = Some(v.to_owned());
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data = Some(v.to_owned());
                    } else if line.starts_with("data:") {
                        data = Some(String::new());
                    }
                }
                if id.is_none() && data.is_none() {
                    continue; // comment or retry-only block
                }
                let message = data.filter(|d| !d.is_empty()).map(|d| serde_json::from_str(&d).unwrap());
                return Some((id, message));
            }
            let chunk = self.body.next().await?.ok()?;
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    pub(super) async fn next_message(&mut self) -> Value {
        loop {
            let (_, message) = self.next_event().await.expect("stream ended early");
            if let Some(m) = message {
                return m;
            }
        }
    }
}

/// Every event until the stream ends (at most `limit`).
pub(super) async fn sse_events(resp: http::Response<Body>, limit: usize) -> Vec<(Option<String>, Option<Value>)> {
    let mut reader = EventReader::new(resp);
    let mut out = Vec::new();
    while out.len() < limit {
        match reader.next_event().await {
            Some(e) => out.push(e),
            None => break,
        }
    }
    out
}
