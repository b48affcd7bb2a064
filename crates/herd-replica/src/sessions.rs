//! The layer in front of the MCP path: a request for a session or a task
//! another replica holds goes to that replica.
//!
//! Session ids and task ids are `{replica id}.{random}`, so the owner is
//! read off the `Mcp-Session-Id` header, or for `tasks/get`,
//! `tasks/update` and `tasks/cancel` of 2026-07-28 off the `Mcp-Name`
//! header (the task id, which that revision requires over HTTP), with no
//! lookup and without reading the body. A request naming neither (a new
//! session, any other 2026-07-28 request) or naming this replica is served
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

/// The methods of the tasks extension whose `Mcp-Name` is a task id.
const TASK_METHODS: [&str; 3] = ["tasks/get", "tasks/update", "tasks/cancel"];

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

/// The replica a request's session or task names, and which it is.
fn named(headers: &http::HeaderMap) -> Option<(String, &'static str)> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(session) = header(SESSION_HEADER) {
        return owner_of(session).map(|owner| (owner.to_owned(), "session"));
    }
    let method = header("mcp-method")?;
    if !TASK_METHODS.contains(&method) {
        return None;
    }
    owner_of(header("mcp-name")?).map(|owner| (owner.to_owned(), "task"))
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
    let Some((owner, kind)) = named(request.headers()) else { return next.run(request).await };
    if owner == layer.replica.id() {
        return next.run(request).await;
    }
    let Some(address) = layer.replica.find(&owner).await else {
        tracing::info!(replica = %owner, kind, "request for a replica that is gone");
        // A task of a replica that is gone is no task here either: this
        // replica says so, in the answer to the request's own id.
        return if kind == "task" { next.run(request).await } else { gone(kind) };
    };
    metrics::counter!("herd_replica_forwarded_total", "kind" => kind).increment(1);
    match layer.replica.forward(&address, request).await {
        Ok(response) => response.map(Body::new),
        Err(err @ (ForwardError::Unreachable(..) | ForwardError::NoAnswer(..))) => {
            tracing::warn!(replica = %owner, kind, %err, "the replica holding it did not answer");
            gone(kind)
        }
    }
}

/// The answer for a session (or a task) whose replica is gone: what the
/// transport answers for a session it does not know, so the client opens
/// a new one; for a task, which cannot be answered in its request's id
/// once the body went to that replica, 503.
fn gone(kind: &str) -> Response {
    if kind == "task" {
        return (StatusCode::SERVICE_UNAVAILABLE, "the hub replica running this task is gone").into_response();
    }
    let body = r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"session not found (its hub replica is gone); initialize a new one"}}"#;
    (StatusCode::NOT_FOUND, [(http::header::CONTENT_TYPE, "application/json")], body).into_response()
}
