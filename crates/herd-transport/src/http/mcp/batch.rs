//! A POST whose body is a batch (2025-03-26 sessions only; see
//! [`crate::batch`]).
//!
//! Only notifications and responses: `202 Accepted`, no body. With
//! requests: a client that takes JSON gets one JSON array once every
//! request is answered (what the handlers send meanwhile goes to the
//! session's standalone stream, as for a client that takes no SSE); a
//! client that takes only SSE gets a stream carrying each answer as soon as
//! its request ends, and whatever the handlers send.

use super::{Accepts, SESSION_ID, Shared, check_version_header, json_response, session_of, sse, streams_of};
use crate::batch::{self, Batch};
use crate::http::error::HttpError;
use crate::http::stream::StandaloneOutbox;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use herd_proto::{Principal, RpcError, error_json};
use herd_router::{Session, SharedOutbox};
use http::{HeaderMap, StatusCode};
use std::sync::Arc;

pub(super) async fn post(
    app: &Shared,
    headers: &HeaderMap,
    principal: Principal,
    bytes: &[u8],
    accept: &Accepts,
) -> Result<Response, HttpError> {
    check_version_header(headers)?;
    if !headers.contains_key(SESSION_ID) {
        return Err(HttpError::Rpc(batch::refusal(bytes), None));
    }
    let session = session_of(app, headers, &principal)?;
    let Batch { requests, refused } = batch::open(bytes, &session).map_err(|e| HttpError::Rpc(e, None))?;
    if requests.is_empty() && refused.is_empty() {
        return Ok(StatusCode::ACCEPTED.into_response());
    }
    if requests.is_empty() {
        return Ok(json_response(batch::array(&refused)));
    }
    if accept.json {
        let inbound = herd_telemetry::Inbound::http(headers);
        let answers = requests.into_iter().map(|req| {
            let id = req.id.clone();
            let work = session.handle_request_as(req, None, principal.clone());
            async move { work.await.unwrap_or_else(|| error_json(Some(&id), &RpcError::cancelled())) }
        });
        let answers = herd_telemetry::within(inbound, futures_util::future::join_all(answers)).await;
        return Ok(json_response(batch::array(refused.iter().chain(&answers))));
    }
    Ok(stream(app, headers, session, requests, refused, principal))
}

/// The SSE answer: refusals first, then each answer as its request ends.
fn stream(
    app: &Shared,
    headers: &HeaderMap,
    session: Arc<Session>,
    requests: Vec<herd_proto::Request>,
    refused: Vec<String>,
    principal: Principal,
) -> Response {
    let Some(streams) = streams_of(&session) else {
        return json_response(error_json(None, &RpcError::internal("session state unavailable")));
    };
    let stream = streams.open(super::replay_limits(&app.config), app.config.sse_retry_ms, false);
    for text in &refused {
        let _ = stream.push(text);
    }
    let outbox: SharedOutbox = Arc::new(StandaloneOutbox(stream.clone()));
    let mut running: FuturesUnordered<_> = requests
        .into_iter()
        .map(|req| {
            let (session, outbox, principal) = (session.clone(), outbox.clone(), principal.clone());
            async move { session.handle_request_as(req, Some(outbox), principal).await }
        })
        .collect();
    let (pump, retention) = (stream.clone(), app.config.stream_retention);
    let inbound = herd_telemetry::Inbound::http(headers);
    tokio::spawn(herd_telemetry::within(inbound, async move {
        while let Some(answer) = running.next().await {
            if let Some(text) = answer {
                let _ = pump.push(&text);
            }
        }
        pump.finish();
        streams.retire(&pump, retention);
    }));
    sse(stream, 0, session, app, headers)
}
