//! The JSON the page polls. Each handler gets the principal the session
//! check put in the request and shows only what [`allows`] lets it act
//! on; none of them decides anything itself.

use crate::StatusPage;
use crate::reply::{UiError, json};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Extension, Path, Query, State};
use axum::response::{IntoResponse as _, Response};
use herd_auth::{Action, AdminTask, Host, Identity, Principal, allows};
use herd_fleet::HostState;
use herd_proto::{ClientFacts, Context, RequestId, RequestMeta, code};
use herd_store::AuditRecord;
use http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Longest an agent may take to answer the page (servers, logs).
const AGENT_CALL_LIMIT: Duration = Duration::from_secs(10);
/// Lines of a server's stderr shown.
const LOG_LINES: u32 = 20;
/// Audit records shown when the page asks for no number.
const AUDIT_DEFAULT: u32 = 50;
/// Most audit records one answer holds.
const AUDIT_MAX: u32 = 500;

type Answer = Result<Response, UiError>;

/// `GET /ui/api/me`.
pub(crate) async fn me(Extension(principal): Extension<Principal>) -> Response {
    let name = match principal.identity() {
        Identity::User { name, .. } => name.clone(),
        Identity::OAuth { subject, .. } => subject.clone(),
        Identity::Anonymous => "anonymous".to_owned(),
    };
    let audit = allows(&principal, &Action::Administer(AdminTask::ReadAudit)).is_allowed();
    json(&json!({ "name": name, "role": principal.role().to_string(), "audit": audit }))
}

/// `GET /ui/api/models`: what `/v1/models` shows the principal, or `null`
/// on a server that relays no LLMs (the page then hides the section).
pub(crate) async fn models(State(page): State<StatusPage>, Extension(principal): Extension<Principal>) -> Response {
    let data = page.models.as_ref().map(|models| models(&principal)["data"].take());
    json(&json!({ "models": data }))
}

/// `GET /ui/api/hosts`: every host the principal may see, in registry
/// order, with what the health tracker last found.
pub(crate) async fn hosts(State(page): State<StatusPage>, Extension(principal): Extension<Principal>) -> Response {
    let fleet = page.hub.fleet();
    let registry = fleet.registry();
    let states = fleet.health().snapshot();
    let now = Instant::now();
    let seconds = |at: Instant| round(now.saturating_duration_since(at).as_secs_f64());
    let visible = registry
        .hosts()
        .iter()
        .filter(|h| allows(&principal, &Action::SeeHost(Host { name: &h.name, tags: &h.tags })).is_allowed());
    let hosts: Vec<Value> = visible
        .map(|host| {
            let state = states.get(&host.name).cloned().unwrap_or(HostState::Unknown);
            let mut paths = Vec::new();
            if host.by_channel {
                paths.push("channel");
            } else if host.url.is_some() {
                paths.push(if host.url.as_deref().is_some_and(|u| u.starts_with("https://")) {
                    "https"
                } else {
                    "http"
                });
            }
            if host.ssh.is_some() {
                paths.push("ssh");
            }
            let mut entry = json!({
                "name": host.name,
                "tags": host.tags,
                "paths": paths,
                "url": host.url.as_deref().map(herd_proto::redact_url),
                "ssh": host.ssh,
                "last_probe_s_ago": state.checked().map(seconds),
                "error": state.error(),
            });
            entry["state"] = json!(match &state {
                HostState::Unknown => "unknown",
                HostState::Up { since, tool_count, latency, .. } => {
                    entry["up_for_s"] = json!(seconds(*since));
                    entry["tools"] = json!(tool_count);
                    entry["latency_ms"] = json!(latency.map(|l| round(l.as_secs_f64() * 1000.0)));
                    "up"
                }
                HostState::Down { streak, .. } => {
                    entry["failures"] = json!(streak);
                    "down"
                }
            });
            entry
        })
        .collect();
    json(&json!({ "hosts": hosts }))
}

/// `GET /ui/api/hosts/{host}/servers`: the agent's `servers_list`.
pub(crate) async fn servers(
    State(page): State<StatusPage>,
    Extension(principal): Extension<Principal>,
    Path(host): Path<String>,
) -> Answer {
    let result = call_agent_tool(&page, principal, &host, "servers_list", json!({})).await?;
    Ok(json(&json!({ "host": host, "servers": result.get("servers").cloned().unwrap_or(json!([])) })))
}

/// `GET /ui/api/hosts/{host}/servers/{name}/logs`: the last lines of one
/// server's stderr (`servers_logs`).
pub(crate) async fn server_logs(
    State(page): State<StatusPage>,
    Extension(principal): Extension<Principal>,
    Path((host, name)): Path<(String, String)>,
) -> Answer {
    let arguments = json!({ "name": name, "lines": LOG_LINES });
    let result = call_agent_tool(&page, principal, &host, "servers_logs", arguments).await?;
    let lines = result.get("lines").cloned().unwrap_or(json!([]));
    Ok(json(&json!({ "host": host, "name": name, "lines": lines })))
}

/// Calls `tool` on `host` as `principal` through the hub's `remote_call`,
/// which decides and audits it like any MCP client's call; the tool's
/// `structuredContent`.
async fn call_agent_tool(
    page: &StatusPage,
    principal: Principal,
    host: &str,
    tool: &str,
    arguments: Value,
) -> Result<Value, UiError> {
    let params = json!({ "name": "remote_call", "arguments": { "host": host, "tool": tool, "arguments": arguments } });
    let params = serde_json::value::to_raw_value(&params)
        .map_err(|e| UiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("request not written: {e}")))?;
    let request = herd_proto::Request::new(RequestId::number(1), "tools/call", Some(params));
    let client = ClientFacts {
        name: Some("herd-ui".to_owned()),
        version: Some(env!("CARGO_PKG_VERSION").to_owned()),
        address: None,
    };
    let meta = RequestMeta { principal: Some(principal), client: Some(Arc::new(client)), ..RequestMeta::default() };
    let cx = Context::detached().with_meta(meta);
    let answer = tokio::time::timeout(AGENT_CALL_LIMIT, page.tools.call(request, cx)).await.map_err(|_| {
        UiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            format!("{host} did not answer within {}s", AGENT_CALL_LIMIT.as_secs()),
        )
    })?;
    let raw = answer.map_err(|e| {
        let status = if e.code == code::FORBIDDEN { StatusCode::FORBIDDEN } else { StatusCode::BAD_GATEWAY };
        UiError::new(status, e.message)
    })?;
    let result: Value = serde_json::from_str(raw.get()).unwrap_or(Value::Null);
    if result.get("isError").and_then(Value::as_bool) == Some(true) {
        let text = result.pointer("/content/0/text").and_then(Value::as_str).unwrap_or("the call failed");
        return Err(UiError::new(StatusCode::BAD_GATEWAY, text));
    }
    Ok(result.get("structuredContent").cloned().unwrap_or(Value::Null))
}

/// The audit filters the page sends; empty fields mean no filter.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuditFilters {
    user: Option<String>,
    tool: Option<String>,
    host: Option<String>,
    outcome: Option<String>,
    since: Option<String>,
    limit: Option<u32>,
}

/// `GET /ui/api/audit`: the newest records the filters select, newest
/// first; for principals the policy lets read the audit log.
pub(crate) async fn audit(
    State(page): State<StatusPage>,
    Extension(principal): Extension<Principal>,
    filters: Result<Query<AuditFilters>, QueryRejection>,
) -> Answer {
    if let Err(missing) = allows(&principal, &Action::Administer(AdminTask::ReadAudit)).into_result() {
        return Err(UiError::new(StatusCode::FORBIDDEN, format!("permission denied: {missing}")));
    }
    let Query(filters) = filters.map_err(|e| UiError::bad_request(e.body_text()))?;
    let given = |field: Option<String>| field.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let query = herd_admin::AuditQuery {
        user: given(filters.user),
        host: given(filters.host),
        tool: given(filters.tool),
        outcome: given(filters.outcome),
        since: given(filters.since),
        until: None,
        limit: Some(filters.limit.unwrap_or(AUDIT_DEFAULT).clamp(1, AUDIT_MAX)),
        after_id: None,
    };
    let filter = herd_admin::audit_filter(&query, herd_store::Timestamp::now())
        .map_err(|e| UiError::bad_request(e.to_string()))?;
    let records = page.store.query_audit(&filter).await.map_err(|e| {
        tracing::warn!(error = %e, "status page: audit query failed");
        UiError::new(StatusCode::SERVICE_UNAVAILABLE, "the audit log cannot be read right now")
    })?;
    let records: Vec<Value> = records.iter().rev().map(record_view).collect();
    Ok(json(&json!({ "records": records })).into_response())
}

/// The fields of a record the page shows.
fn record_view(record: &AuditRecord) -> Value {
    json!({
        "id": record.id,
        "time": record.time.to_string(),
        "user": record.user.as_deref().or(record.oauth_subject.as_deref()),
        "client": record.client_name,
        "method": record.method,
        "target": record.target,
        "hosts": record.hosts,
        "path": record.path.map(|p| p.as_str()),
        "duration_ms": record.duration_ms,
        "outcome": record.outcome.as_str(),
        "error": record.error,
    })
}

fn round(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}
