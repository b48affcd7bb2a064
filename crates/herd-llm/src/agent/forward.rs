//! The routes the hub calls: the listing, and forwarding a request to a
//! provider with its answer streamed back as it arrives. Every answer the
//! agent makes itself is a [`Failure`], mapped to the wire here only.

use super::Inner;
use super::wake::Provider;
use crate::wire::{self, ENDPOINTS, FAILURE_HEADER, Failure};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use futures_util::StreamExt as _;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// The largest request body forwarded.
const MAX_BODY: usize = 32 * 1024 * 1024;

type App = State<Arc<Inner>>;

pub(crate) fn routes(inner: Arc<Inner>) -> axum::Router {
    let forward_path = format!("{}{{provider}}/{{*endpoint}}", wire::FORWARD_PREFIX);
    axum::Router::new()
        .route(wire::LISTING_PATH, axum::routing::get(listing))
        .route(&forward_path, axum::routing::post(forward))
        .with_state(inner)
}

async fn listing(State(inner): App) -> Response {
    let body = serde_json::to_vec(&inner.listing()).unwrap_or_default();
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The agent's own error answer: the OpenAI shape, and the header saying
/// the provider did not produce it.
fn failure(failure: Failure, message: &str) -> Response {
    let kind = match failure {
        Failure::UnknownProvider | Failure::UnknownEndpoint | Failure::BadRequest => "invalid_request_error",
        Failure::Busy => "rate_limit_error",
        Failure::Unreachable | Failure::WakeFailed => "server_error",
    };
    let status = StatusCode::from_u16(failure.status()).unwrap_or(StatusCode::BAD_GATEWAY);
    let body = wire::error_body(message, kind, failure.as_str()).to_string();
    let headers =
        [(header::CONTENT_TYPE, "application/json"), (HeaderName::from_static(FAILURE_HEADER), failure.as_str())];
    (status, headers, body).into_response()
}

/// Sends `body` to `endpoint` of `provider` once it is ready, and waits
/// for the answer's head. A provider with a wake recipe that refuses the
/// connection was seen active but has gone to sleep since: it is woken
/// and sent the body once more.
async fn send(
    inner: &Inner,
    provider: &Arc<Provider>,
    endpoint: &str,
    body: bytes::Bytes,
) -> Result<reqwest::Response, Response> {
    let name = &provider.config.name;
    let mut attempts = if provider.config.wake.is_some() { 2 } else { 1 };
    loop {
        attempts -= 1;
        if let Err(err) = provider.ready(inner).await {
            return Err(failure(Failure::WakeFailed, &format!("llm {name:?} hibernates and did not wake: {err}")));
        }
        let request = inner.client.post(format!("{}/{endpoint}", provider.base));
        let request = provider.authorize(request.header(header::CONTENT_TYPE, "application/json"), endpoint);
        match tokio::time::timeout(inner.timing.first_byte, request.body(body.clone()).send()).await {
            Ok(Ok(answer)) => return Ok(answer),
            Ok(Err(err)) => {
                provider.mark_down();
                if attempts > 0 && err.is_connect() {
                    continue;
                }
                let err = err.without_url();
                tracing::debug!(llm = %name, %endpoint, %err, "the provider is unreachable");
                return Err(failure(Failure::Unreachable, &format!("llm {name:?} is unreachable: {err}")));
            }
            Err(_) => {
                let secs = inner.timing.first_byte.as_secs();
                return Err(failure(Failure::Unreachable, &format!("llm {name:?} did not answer within {secs}s")));
            }
        }
    }
}

async fn forward(State(inner): App, Path((name, endpoint)): Path<(String, String)>, body: Body) -> Response {
    let Some(provider) = inner.providers.get(&name).cloned() else {
        return failure(Failure::UnknownProvider, &format!("no llm {name:?} on this host"));
    };
    if !ENDPOINTS.contains(&endpoint.as_str()) {
        return failure(
            Failure::UnknownEndpoint,
            &format!("no endpoint {endpoint:?}; known: {}", ENDPOINTS.join(", ")),
        );
    }
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return failure(Failure::BadRequest, &format!("the body could not be read, or is over {MAX_BODY} bytes"));
    };
    let body = match super::body::with_model(&bytes, provider.config.upstream_model()) {
        Ok(body) => body,
        Err(e) => return failure(Failure::BadRequest, &format!("the body is not a JSON object: {e}")),
    };
    let Some(slot) = provider.claim() else {
        let limit = provider.config.max_concurrency;
        return failure(Failure::Busy, &format!("llm {name:?} is at its {limit} requests in flight"));
    };
    let started = Instant::now();
    // However many wakes and attempts, the head comes within the wake's
    // `max_wait` and the first-byte limit.
    let limit = provider.config.wake.as_ref().map_or(Duration::ZERO, |w| w.max_wait()) + inner.timing.first_byte;
    let answer = match tokio::time::timeout(limit, send(&inner, &provider, &endpoint, bytes::Bytes::from(body))).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(failed)) => return failed,
        Err(_) => {
            let secs = limit.as_secs();
            return failure(Failure::Unreachable, &format!("llm {name:?} did not answer within {secs}s"));
        }
    };
    tracing::debug!(llm = %name, %endpoint, status = answer.status().as_u16(), head_ms = started.elapsed().as_millis() as u64, "forwarding");
    let status = answer.status();
    let content_type = answer.headers().get(header::CONTENT_TYPE).cloned();
    // The slot is held until the stream ends or the hub drops it; dropping
    // the stream drops the upstream response, which closes its connection.
    let stream = answer.bytes_stream().map(move |chunk| {
        let _held = &slot;
        chunk
    });
    let mut response = Response::new(Body::from_stream(stream));
    *response.status_mut() = status;
    if let Some(content_type) = content_type {
        response.headers_mut().insert(header::CONTENT_TYPE, content_type);
    } else {
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    }
    response
}
