//! The API routes. Each reads the caller's `Principal` from the request's
//! extensions (the hub's authentication put it there), takes the body up
//! to the cap, and hands it to the relay.

use super::Inner;
use super::error::{RelayError, json_response};
use super::forward;
use super::request::Endpoint;
use axum::extract::{Request, State};
use axum::response::{IntoResponse as _, Response};
use axum::routing::{get, post};
use herd_auth::Principal;
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use std::sync::Arc;

pub(super) fn routes(inner: Arc<Inner>) -> axum::Router {
    let endpoint = |endpoint: Endpoint| {
        post(move |State(inner): State<Arc<Inner>>, request: Request| handle(inner, endpoint, request))
    };
    axum::Router::new()
        .route("/v1/models", get(models))
        .route("/v1/chat/completions", endpoint(Endpoint::Chat))
        .route("/v1/completions", endpoint(Endpoint::Completions))
        .route("/v1/embeddings", endpoint(Endpoint::Embeddings))
        .route("/v1/messages", endpoint(Endpoint::Messages))
        .with_state(inner)
}

async fn models(State(inner): State<Arc<Inner>>, request: Request) -> Response {
    let Some(principal) = request.extensions().get::<Principal>() else {
        return RelayError::Unauthorized.into_response();
    };
    json_response(http::StatusCode::OK, &inner.models(principal))
}

async fn handle(inner: Arc<Inner>, endpoint: Endpoint, request: Request) -> Response {
    let Some(principal) = request.extensions().get::<Principal>().cloned() else {
        return RelayError::Unauthorized.answer(endpoint.shape());
    };
    let max = inner.config.max_body_bytes;
    let read = Limited::new(request.into_body(), max).collect();
    let body = match tokio::time::timeout(inner.config.stall_timeout, read).await {
        Ok(Ok(body)) => body.to_bytes(),
        Ok(Err(err)) if err.is::<LengthLimitError>() => {
            return forward::refuse(&inner, &principal, endpoint, RelayError::TooLarge(max)).await;
        }
        Ok(Err(err)) => {
            let error = RelayError::BadRequest(format!("the request body could not be read: {err}"));
            return forward::refuse(&inner, &principal, endpoint, error).await;
        }
        Err(_) => {
            let error = RelayError::BadRequest("the request body did not arrive in time".into());
            return forward::refuse(&inner, &principal, endpoint, error).await;
        }
    };
    forward::relay(inner, principal, endpoint, body).await
}

#[cfg(test)]
mod tests {
    fn future_size<A, B, C, F: std::future::Future>(_: fn(A, B, C) -> F) -> usize {
        std::mem::size_of::<F>()
    }

    /// Every request waiting for its first token holds this future; the
    /// failure and whole-answer paths, with their record writes, are boxed
    /// apart (it was 6.8 KiB with them inlined).
    #[test]
    fn a_request_waiting_for_its_answer_holds_a_small_future() {
        let size = future_size(super::handle);
        assert!(size <= 4096, "the future of a relayed request is {size} bytes");
    }
}
