//! One audit record per admin request that changes something (a user
//! added, changed or disabled, a token made or revoked, an agent's
//! certificate signed), beside the records
//! of tool calls: method `admin/users.add` and so on, who asked, what it
//! named, how it ended. Reads are not recorded.
//!
//! The record is written around the admin check, so a refused request is
//! recorded `denied`; it is committed before the answer leaves. A record
//! that cannot be written is logged and the answer still sent: the change
//! it describes is already made.

use axum::RequestExt as _;
use axum::body::{Body, to_bytes};
use axum::extract::{RawPathParams, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use herd_auth::Principal;
use herd_store::{AuditRecord, AuditWriter, Outcome, Timestamp};
use http::{Method, StatusCode};
use serde_json::Value;
use tokio::time::Instant;

/// The audit method of a request to one of the admin routes, `None` for
/// one that changes nothing.
fn method_of(method: &Method, path: &str) -> Option<&'static str> {
    let segments: Vec<&str> = path.trim_start_matches("/api/v1/").split('/').collect();
    match (method.as_str(), segments.as_slice()) {
        ("POST", ["users"]) => Some("admin/users.add"),
        ("PATCH", ["users", _]) => Some("admin/users.set"),
        ("POST", ["users", _, "disable"]) => Some("admin/users.disable"),
        ("POST", ["tokens"]) => Some("admin/tokens.create"),
        ("DELETE", ["tokens", _]) => Some("admin/tokens.revoke"),
        ("POST", ["certificates"]) => Some("admin/certificates.sign"),
        _ => None,
    }
}

/// Runs the request and records it, when it is one that changes something.
pub(super) async fn record(State(writer): State<AuditWriter>, mut request: Request, next: Next) -> Response {
    let Some(method) = method_of(request.method(), request.uri().path()) else {
        return next.run(request).await;
    };
    let started = Instant::now();
    let mut record = AuditRecord::new(Timestamp::now(), method, Outcome::Ok);
    if let Some(principal) = request.extensions().get::<Principal>() {
        record.attribute_to(principal);
    }
    let named = request.extract_parts::<RawPathParams>().await.ok();
    record.target = named.and_then(|params| params.iter().next().map(|(_, value)| value.to_owned()));

    let (parts, body) = next.run(request).await.into_parts();
    // The answer is one of this crate's, a small JSON document already in
    // memory.
    let bytes = to_bytes(body, usize::MAX).await.unwrap_or_default();
    let answer: Value = serde_json::from_slice(&bytes).unwrap_or_default();
    record.outcome = outcome(parts.status);
    if parts.status.is_success() {
        // What an add or a create made is named only in its answer (whose
        // token secret is read past, never kept).
        let made = answer.get("name").or_else(|| answer.pointer("/token/id"));
        record.target = record.target.or_else(|| made.and_then(Value::as_str).map(str::to_owned));
    } else {
        record.error = answer.pointer("/error/message").and_then(Value::as_str).map(str::to_owned);
    }
    record.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    if let Err(e) = writer.append(record).await {
        tracing::warn!(error = %e, method, "audit record of an admin request not written");
    }
    Response::from_parts(parts, Body::from(bytes))
}

fn outcome(status: StatusCode) -> Outcome {
    match status {
        s if s.is_success() => Outcome::Ok,
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Outcome::Denied,
        StatusCode::SERVICE_UNAVAILABLE => Outcome::Timeout,
        _ => Outcome::RpcError,
    }
}
