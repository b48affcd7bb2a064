//! The routes, and how a script becomes a response: whole or streamed,
//! with its delays, pauses, failures and deaths.

use crate::answer::{self, Ask};
use crate::{Behaviour, InFlight, Shared};
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt as _;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

type App = State<Arc<Shared>>;

/// Serves until `stopped` fires (or its sender is dropped).
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let app = axum::Router::new()
        .route("/v1/models", get(models))
        .route("/v1/{*endpoint}", post(endpoint))
        .route("/wake", post(wake))
        .fallback(|| async {
            json(StatusCode::NOT_FOUND, &answer::error("no such endpoint", "invalid_request_error", None))
        })
        .with_state(shared);
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let _ = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = stopped.await;
        })
        .await;
}

fn json(status: StatusCode, value: &Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], value.to_string()).into_response()
}

fn asleep() -> Response {
    json(StatusCode::SERVICE_UNAVAILABLE, &answer::error("the provider is asleep", "server_error", Some("asleep")))
}

async fn wake(State(shared): App) -> Response {
    shared.wake();
    json(StatusCode::OK, &serde_json::json!({ "awake": true }))
}

async fn models(State(shared): App, headers: HeaderMap) -> Response {
    if shared.asleep() {
        return asleep();
    }
    let script = shared.script();
    shared.arrive("models", Value::Null, authorization(&headers)).finish();
    let model =
        serde_json::json!({ "id": script.model, "object": "model", "created": 0, "owned_by": "herd-test-provider" });
    json(StatusCode::OK, &serde_json::json!({ "object": "list", "data": [model] }))
}

fn authorization(headers: &HeaderMap) -> Option<String> {
    headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

async fn endpoint(State(shared): App, Path(endpoint): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    if shared.asleep() {
        return asleep();
    }
    let known = ["chat/completions", "completions", "embeddings", "messages"];
    if !known.contains(&endpoint.as_str()) {
        return json(StatusCode::NOT_FOUND, &answer::error("no such endpoint", "invalid_request_error", None));
    }
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return json(StatusCode::BAD_REQUEST, &answer::error("body is not JSON", "invalid_request_error", None));
    };
    let script = shared.script();
    let request = shared.arrive(&endpoint, body.clone(), authorization(&headers));
    match script.behaviour {
        Behaviour::Fail => {
            request.finish();
            return json(StatusCode::INTERNAL_SERVER_ERROR, &answer::error("scripted failure", "server_error", None));
        }
        Behaviour::Hang => {
            // Dropped, and reported closed early, when the client leaves.
            let never = std::future::pending::<std::convert::Infallible>().await;
            drop(request);
            match never {}
        }
        Behaviour::Normal | Behaviour::DieAfter(_) => {}
    }
    let stream = body.get("stream").and_then(Value::as_bool) == Some(true) && endpoint != "embeddings";
    if stream { streamed(&endpoint, &body, request) } else { whole(&endpoint, &body, request).await }
}

async fn whole(endpoint: &str, body: &Value, request: InFlight) -> Response {
    let script = request.shared().script();
    let n = script.tokens.len().saturating_sub(1) as u32;
    pause(script.first_delay + script.delay * n).await;
    if let Behaviour::DieAfter(_) = script.behaviour {
        request.die();
        let broken = futures_util::stream::once(async { Err::<Bytes, _>(std::io::Error::other("scripted death")) });
        return (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], Body::from_stream(broken))
            .into_response();
    }
    let ask = Ask::new(request.id, body, &script);
    let answer = answer::whole(endpoint, &ask, body);
    request.finish();
    json(StatusCode::OK, &answer)
}

async fn pause(d: Duration) {
    if !d.is_zero() {
        tokio::time::sleep(d).await;
    }
}

struct Streaming {
    request: Option<InFlight>,
    frames: std::vec::IntoIter<answer::Frame>,
}

fn streamed(endpoint: &str, body: &Value, request: InFlight) -> Response {
    let script = request.shared().script();
    let frames = answer::frames(endpoint, &Ask::new(request.id, body, &script)).into_iter();
    let state = Streaming { request: Some(request), frames };
    let body = futures_util::stream::unfold(state, move |mut s| {
        let script = script.clone();
        async move {
            let request = s.request.as_mut()?;
            let Some(frame) = s.frames.next() else {
                if let Some(request) = s.request.take() {
                    request.finish();
                }
                return None;
            };
            if frame.token {
                let sent = request.tokens_sent;
                if script.behaviour == Behaviour::DieAfter(sent) {
                    // What went out before reaches the client first.
                    tokio::task::yield_now().await;
                    if let Some(request) = s.request.take() {
                        request.die();
                    }
                    return Some((Err(std::io::Error::other("scripted death")), s));
                }
                if script.pause_after == Some(sent) {
                    request.shared().resumed().await;
                }
                pause(if sent == 0 { script.first_delay } else { script.delay }).await;
                request.token_sent();
            }
            Some((Ok::<Bytes, std::io::Error>(frame.bytes), s))
        }
    });
    let content_type = "text/event-stream";
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "no-cache")],
        Body::from_stream(body),
    )
        .into_response()
}
