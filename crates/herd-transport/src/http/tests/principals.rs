//! Principals through the transport: every request authenticated, a
//! session only for the subject that opened it, refusals with their
//! challenge, streams ended when their token is revoked.

use super::support::tool;
use crate::http::{AuthError, Authenticate, Authenticator, HttpConfig, app, guarded};
use axum::body::Body;
use futures_util::StreamExt as _;
use herd_proto::model::CallToolResult;
use herd_proto::{Backend, BoxFuture, Identity, Principal};
use herd_router::{Router, RouterConfig};
use herd_tools::Catalog;
use http::{Method, Request, StatusCode, header};
use parking_lot::Mutex;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt as _;

const METADATA: &str = "https://hub.example.com/.well-known/oauth-protected-resource/mcp";

/// Tokens `alice`, `bob` (users 1 and 2), `nobody-here` (403) and `down`
/// (503); revoked tokens are refused.
#[derive(Default)]
struct Users {
    revoked: Mutex<HashSet<String>>,
}

impl Authenticate for Users {
    fn authenticate<'a>(&'a self, bearer: Option<&'a str>) -> BoxFuture<'a, Result<Principal, AuthError>> {
        let user = |id: i64, name: &str| {
            let identity = Identity::User {
                user_id: herd_auth::UserId(id),
                name: name.into(),
                token_id: herd_auth::TokenId(format!("tok_{name}").into()),
            };
            Principal::new(identity, herd_auth::Role::Operator, herd_auth::Grant::all())
        };
        let verdict = match bearer {
            None => Err(AuthError::Missing),
            Some(t) if self.revoked.lock().contains(t) => Err(AuthError::InvalidToken("revoked".into())),
            Some("alice") => Ok(user(1, "alice")),
            Some("bob") => Ok(user(2, "bob")),
            Some("nobody-here") => Err(AuthError::InsufficientScope("no role".into())),
            Some("down") => Err(AuthError::Unavailable),
            Some(_) => Err(AuthError::InvalidToken("unknown token".into())),
        };
        Box::pin(std::future::ready(verdict))
    }

    fn resource_metadata(&self) -> Option<&str> {
        Some(METADATA)
    }

    fn recheck_every(&self) -> Option<Duration> {
        Some(Duration::from_millis(20))
    }
}

struct Server {
    app: axum::Router,
    users: Arc<Users>,
}

fn server() -> Server {
    let whoami = Catalog::builder()
        .tool(tool("whoami"), |_, cx| async move {
            let who = cx.meta().principal.as_ref().map(ToString::to_string).unwrap_or_default();
            Ok(CallToolResult::text(who))
        })
        .build();
    let backend: Arc<dyn Backend> = Arc::new(whoami);
    let users = Arc::new(Users::default());
    let config = HttpConfig { auth: Authenticator::from_arc(users.clone()), ..HttpConfig::default() };
    Server { app: app(Router::new(RouterConfig::default(), vec![backend]), config), users }
}

impl Server {
    async fn send(
        &self,
        method: Method,
        token: Option<&str>,
        session: Option<&str>,
        body: &Value,
    ) -> http::Response<Body> {
        self.send_with(method, token, session, body, &[]).await
    }

    async fn send_with(
        &self,
        method: Method,
        token: Option<&str>,
        session: Option<&str>,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> http::Response<Body> {
        let mut req = Request::builder()
            .method(method)
            .uri("/mcp")
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream");
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        if let Some(s) = session {
            req = req.header("mcp-session-id", s);
        }
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let body = if body.is_null() { Body::empty() } else { Body::from(body.to_string()) };
        self.app.clone().oneshot(req.body(body).unwrap()).await.unwrap()
    }

    async fn open(&self, token: &str) -> String {
        let init = json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{
            "protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}});
        let resp = self.send(Method::POST, Some(token), None, &init).await;
        assert_eq!(resp.status(), StatusCode::OK);
        resp.headers()["mcp-session-id"].to_str().unwrap().to_owned()
    }

    async fn whoami(&self, token: &str, session: Option<&str>) -> (StatusCode, Value) {
        let mut call = json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{}}});
        let mut headers = Vec::new();
        if session.is_none() {
            call["params"]["_meta"] = json!({"io.modelcontextprotocol/protocolVersion":"2026-07-28",
                "io.modelcontextprotocol/clientCapabilities":{}});
            headers =
                vec![("mcp-protocol-version", "2026-07-28"), ("mcp-method", "tools/call"), ("mcp-name", "whoami")];
        }
        let resp = self.send_with(Method::POST, Some(token), session, &call, &headers).await;
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }
}

fn text(answer: &Value) -> &str {
    answer["result"]["content"][0]["text"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn each_request_carries_its_principal_in_sessions_and_stateless() {
    let s = server();
    let session = s.open("alice").await;
    let (status, answer) = s.whoami("alice", Some(&session)).await;
    assert_eq!((status, text(&answer)), (StatusCode::OK, "user alice (token tok_alice)"));
    let (status, answer) = s.whoami("bob", None).await;
    assert_eq!((status, text(&answer)), (StatusCode::OK, "user bob (token tok_bob)"), "{answer}");
}

#[tokio::test]
async fn a_session_of_another_user_is_not_found_for_post_get_and_delete() {
    let s = server();
    let alice = s.open("alice").await;
    let (status, _) = s.whoami("bob", Some(&alice)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(s.send(Method::GET, Some("bob"), Some(&alice), &Value::Null).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(s.send(Method::DELETE, Some("bob"), Some(&alice), &Value::Null).await.status(), StatusCode::NOT_FOUND);
    // Untouched: alice still uses and ends it.
    assert_eq!(s.whoami("alice", Some(&alice)).await.0, StatusCode::OK);
    assert_eq!(
        s.send(Method::DELETE, Some("alice"), Some(&alice), &Value::Null).await.status(),
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn refusals_get_their_status_and_challenge() {
    let s = server();
    let challenge = |resp: &http::Response<Body>| {
        resp.headers().get(header::WWW_AUTHENTICATE).map(|v| v.to_str().unwrap().to_owned())
    };
    let ping = json!({"jsonrpc":"2.0","id":1,"method":"ping"});
    let resp = s.send(Method::POST, None, None, &ping).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(challenge(&resp).unwrap(), format!(r#"Bearer realm="herd", resource_metadata="{METADATA}""#));
    let resp = s.send(Method::POST, Some("mallory"), None, &ping).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let value = challenge(&resp).unwrap();
    assert!(value.contains(&format!(r#"resource_metadata="{METADATA}""#)), "{value}");
    assert!(value.contains(r#"error="invalid_token""#), "{value}");
    let resp = s.send(Method::GET, Some("nobody-here"), None, &Value::Null).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(challenge(&resp).unwrap().contains(r#"error="insufficient_scope""#));
    let resp = s.send(Method::DELETE, Some("down"), Some("x"), &Value::Null).await;
    assert_eq!((resp.status(), challenge(&resp)), (StatusCode::SERVICE_UNAVAILABLE, None));
}

#[tokio::test]
async fn a_revoked_token_loses_its_open_stream_and_its_next_request() {
    let s = server();
    let session = s.open("alice").await;
    let resp = s.send(Method::GET, Some("alice"), Some(&session), &Value::Null).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let mut stream = resp.into_body().into_data_stream();
    s.users.revoked.lock().insert("alice".into());
    // The stream ends (a keep-alive comment at most comes first).
    while let Some(chunk) = stream.next().await {
        assert!(chunk.unwrap().starts_with(b":"), "no event was sent on this stream");
    }
    assert_eq!(s.whoami("alice", Some(&session)).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn guarded_routes_get_the_principal() {
    let users = Arc::new(Users::default());
    let config = HttpConfig { auth: Authenticator::from_arc(users), ..HttpConfig::default() };
    let route = axum::routing::get(|axum::Extension(who): axum::Extension<Principal>| async move { who.to_string() });
    let routes = guarded(axum::Router::new().route("/admin", route), &config);
    let get = |token: &'static str| {
        let req = Request::builder().uri("/admin").header("authorization", format!("Bearer {token}"));
        routes.clone().oneshot(req.body(Body::empty()).unwrap())
    };
    let resp = get("bob").await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    assert_eq!(&body[..], b"user bob (token tok_bob)");
    assert_eq!(get("mallory").await.unwrap().status(), StatusCode::UNAUTHORIZED);
}
