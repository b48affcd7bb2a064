//! The layer in front of the MCP path: a request for a session another
//! replica holds goes to that replica.
//!
//! A session id is `{replica id}.{random}`, so the owner is read off the
//! `Mcp-Session-Id` header with no lookup. A request without one (a new
//! session, a 2026-07-28 request) or for this replica's session is served
//! here; one for a live replica's session is forwarded there, streamed
//! both ways; one for a replica that is gone, or that does not answer, is
//! answered 404 (session not found), as the session's own replica would
//! after a restart, so the client opens a new session.

use crate::forward::ForwardError;
use crate::{HOP_HEADER, Replica};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use http::StatusCode;
use std::sync::Arc;

/// Between the replica id and the rest of a session id.
pub(crate) const SEPARATOR: char = '.';

/// The session header of the Streamable HTTP transport.
const SESSION_HEADER: &str = "mcp-session-id";

#[derive(Clone)]
struct Layer {
    replica: Replica,
    mcp_path: Arc<str>,
}

pub(crate) fn layer(replica: Replica, app: axum::Router, mcp_path: &str) -> axum::Router {
    let state = Layer { replica, mcp_path: mcp_path.into() };
    app.layer(axum::middleware::from_fn_with_state(state, route))
}

/// The replica whose session `id` is, if it names one.
pub(crate) fn owner_of(id: &str) -> Option<&str> {
    let (owner, rest) = id.split_once(SEPARATOR)?;
    (!owner.is_empty() && !rest.is_empty() && owner.bytes().all(|b| b.is_ascii_alphanumeric())).then_some(owner)
}

/// Whether `request` was forwarded by a replica: it carries the cluster
/// secret in [`HOP_HEADER`]. The header is removed either way, so nothing
/// after this sees it, and one that does not carry the secret counts for
/// nothing.
pub(crate) fn take_hop(replica: &Replica, headers: &mut http::HeaderMap) -> bool {
    let values: Vec<_> = headers.get_all(HOP_HEADER).iter().cloned().collect();
    headers.remove(HOP_HEADER);
    values.len() == 1 && replica.is_secret(values[0].as_bytes())
}

async fn route(State(layer): State<Layer>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let kind = if path == &*layer.mcp_path {
        "mcp"
    } else if path.starts_with("/v1/") {
        "v1"
    } else {
        return next.run(request).await;
    };
    metrics::counter!("herd_replica_requests_total", "route" => kind).increment(1);
    let forwarded = take_hop(&layer.replica, request.headers_mut());
    if kind != "mcp" || forwarded {
        return next.run(request).await;
    }
    let session = request.headers().get(SESSION_HEADER).and_then(|v| v.to_str().ok());
    let Some(owner) = session.and_then(owner_of).map(str::to_owned) else { return next.run(request).await };
    if owner == layer.replica.id() {
        return next.run(request).await;
    }
    let Some(address) = layer.replica.find(&owner).await else {
        tracing::info!(replica = %owner, "request for a session of a replica that is gone");
        return gone();
    };
    metrics::counter!("herd_replica_forwarded_total", "kind" => "session").increment(1);
    match layer.replica.forward(&address, request).await {
        Ok(response) => response.map(Body::new),
        Err(err @ (ForwardError::Unreachable(..) | ForwardError::NoAnswer(..))) => {
            tracing::warn!(replica = %owner, %err, "the session's replica did not answer");
            gone()
        }
    }
}

/// What the transport answers for a session it does not know.
fn gone() -> Response {
    let body = r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"session not found (its hub replica is gone); initialize a new one"}}"#;
    (StatusCode::NOT_FOUND, [(http::header::CONTENT_TYPE, "application/json")], body).into_response()
}
