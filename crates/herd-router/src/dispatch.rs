//! The data path of one request: session-level methods are answered here,
//! everything else goes to the backend that owns its target.

use crate::outbox::SharedOutbox;
use crate::peer::RequestPeer;
use crate::session::Negotiated;
use crate::trace;
use crate::{Session, Shared, lists};
use herd_proto::model::Implementation;
use herd_proto::{
    Context, ListKind, LogLevel, Message, Notification, Principal, ProtocolVersion, Request, RequestMeta, RpcError,
    code, error_json, method, result_json,
};
use herd_telemetry::McpSpan;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use std::sync::{Arc, Weak};
use tokio::sync::mpsc;

const EMPTY: &str = "{}";

pub(crate) async fn request(
    session: &Arc<Session>,
    req: Request,
    outbox: Option<SharedOutbox>,
    principal: Option<Principal>,
) -> Option<String> {
    let Some(shared) = session.shared.upgrade() else {
        return Some(error_json(Some(&req.id), &RpcError::internal("server is shutting down")));
    };
    match req.method.as_str() {
        method::INITIALIZE => return Some(respond(&req, initialize(&shared, session, &req))),
        method::PING => return Some(result_json(&req.id, empty())),
        _ if !session.is_initialized() => {
            let err = RpcError::invalid_request("the session is not initialized: send initialize first");
            return Some(error_json(Some(&req.id), &err));
        }
        method::LOGGING_SET_LEVEL => return Some(respond(&req, set_level(session, &req))),
        _ => {}
    }
    if session.is_closed() {
        let err = RpcError::invalid_request("the session has ended; open a new one with initialize");
        return Some(error_json(Some(&req.id), &err));
    }
    let Some(cancel) = session.begin(&req.id) else {
        let err = RpcError::invalid_request(format!("request id {} is already in flight", req.id));
        return Some(error_json(Some(&req.id), &err));
    };
    let id = req.id.clone();
    let _inflight = Inflight { session, id: &id };
    let meta = RequestMeta {
        request_id: Some(req.id.clone()),
        progress_token: progress_token(&req),
        version: session.protocol_version(),
        session_id: Some(session.id_arc()),
        principal,
        client: Some(session.client_facts()),
    };
    let peer = Arc::new(RequestPeer::new(session.clone(), outbox));
    let cx = Context::new(peer, meta, cancel.clone());
    let span = trace::server(&req, Some(session.id()), session.protocol_version());
    let work = McpSpan::instrument(span.as_ref(), route(&shared, Some(session), req, cx));
    tokio::select! {
        biased;
        // The client cancelled: no answer is due. The session ended: the
        // client may still be there (stdio), so it hears why.
        () = cancel.cancelled() => {
            trace::finish(span.as_ref(), None);
            session.is_closed().then(|| {
                let err = RpcError::new(code::REQUEST_CANCELLED, "the session ended before this request finished");
                error_json(Some(&id), &err)
            })
        }
        outcome = work => {
            trace::finish(span.as_ref(), Some(&outcome));
            Some(match outcome {
                Ok(result) => result_json(&id, &result),
                Err(err) => error_json(Some(&id), &err),
            })
        }
    }
}

pub(crate) async fn route(
    shared: &Arc<Shared>,
    session: Option<&Session>,
    req: Request,
    cx: Context,
) -> Result<Box<RawValue>, RpcError> {
    if let Some(kind) = ListKind::from_method(&req.method) {
        return lists::list(shared, kind, &req, cx).await;
    }
    let single = shared.backends.len() == 1;
    let backend = match req.method.as_str() {
        method::RESOURCES_SUBSCRIBE | method::RESOURCES_UNSUBSCRIBE => {
            let uri = name_param(&req, "uri")?;
            if let Some(session) = session {
                track_subscription(session, &req.method, uri.as_deref());
            }
            lists::owner(shared, ListKind::Resources, uri.as_deref()).await
        }
        _ if single => Some(0),
        method::TOOLS_CALL => lists::owner(shared, ListKind::Tools, name_param(&req, "name")?.as_deref()).await,
        method::PROMPTS_GET => lists::owner(shared, ListKind::Prompts, name_param(&req, "name")?.as_deref()).await,
        method::RESOURCES_READ => lists::owner(shared, ListKind::Resources, name_param(&req, "uri")?.as_deref()).await,
        method::COMPLETION_COMPLETE => completion_owner(shared, &req).await?,
        other => return Err(RpcError::method_not_found(other)),
    };
    match backend.and_then(|i| shared.backends.get(i)) {
        Some(backend) => backend.call(req, cx).await,
        None => Err(not_found(&req)),
    }
}

fn not_found(req: &Request) -> RpcError {
    let what = name_param(req, "name").ok().flatten().or_else(|| name_param(req, "uri").ok().flatten());
    let what = what.unwrap_or_default();
    match req.method.as_str() {
        method::TOOLS_CALL => RpcError::invalid_params(format!("unknown tool: {what}")),
        method::PROMPTS_GET => RpcError::invalid_params(format!("unknown prompt: {what}")),
        _ => RpcError::new(herd_proto::code::RESOURCE_NOT_FOUND, format!("resource not found: {what}"))
            .with_data(json!({ "uri": what })),
    }
}

fn track_subscription(session: &Session, method: &str, uri: Option<&str>) {
    let Some(uri) = uri else { return };
    let mut subs = session.subscriptions.lock();
    match method {
        method::RESOURCES_SUBSCRIBE => {
            subs.insert(uri.to_owned());
        }
        method::RESOURCES_UNSUBSCRIBE => {
            subs.remove(uri);
        }
        _ => {}
    }
}

async fn completion_owner(shared: &Arc<Shared>, req: &Request) -> Result<Option<usize>, RpcError> {
    #[derive(Deserialize)]
    struct Params {
        #[serde(rename = "ref")]
        target: Ref,
    }
    #[derive(Deserialize)]
    struct Ref {
        #[serde(rename = "type")]
        kind: String,
        name: Option<String>,
        uri: Option<String>,
    }
    let p: Params = req.params_as()?;
    Ok(match p.target.kind.as_str() {
        "ref/prompt" => lists::owner(shared, ListKind::Prompts, p.target.name.as_deref()).await,
        _ => lists::owner(shared, ListKind::Resources, p.target.uri.as_deref()).await,
    })
}

/// Reads one string member of the params (a tool name, a URI).
fn name_param(req: &Request, key: &str) -> Result<Option<String>, RpcError> {
    #[derive(Deserialize)]
    struct Keys {
        name: Option<String>,
        uri: Option<String>,
    }
    let keys: Keys = req.params_as()?;
    Ok(if key == "uri" { keys.uri } else { keys.name })
}

fn progress_token(req: &Request) -> Option<Box<RawValue>> {
    #[derive(Deserialize)]
    struct Params {
        #[serde(rename = "_meta")]
        meta: Option<Meta>,
    }
    #[derive(Deserialize)]
    struct Meta {
        #[serde(rename = "progressToken")]
        progress_token: Option<Box<RawValue>>,
    }
    let params = req.params.as_deref()?;
    if !params.get().contains("progressToken") {
        return None;
    }
    serde_json::from_str::<Params>(params.get()).ok()?.meta?.progress_token
}

fn initialize(shared: &Shared, session: &Session, req: &Request) -> Result<Value, RpcError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Params {
        protocol_version: String,
        #[serde(default)]
        capabilities: Value,
        #[serde(default)]
        client_info: Option<Implementation>,
    }
    let p: Params = req.params_as()?;
    let version = ProtocolVersion::negotiate(&p.protocol_version);
    let negotiated = Negotiated { version, client_capabilities: p.capabilities, client_info: p.client_info };
    if session.negotiated.set(negotiated).is_err() {
        return Err(RpcError::invalid_request("the session is already initialized"));
    }
    let mut result = json!({
        "protocolVersion": version.as_str(),
        "capabilities": shared.capabilities,
        "serverInfo": shared.config.server_info,
    });
    if let Some(instructions) = &shared.config.instructions {
        result["instructions"] = Value::String(instructions.clone());
    }
    Ok(result)
}

fn set_level(session: &Session, req: &Request) -> Result<Value, RpcError> {
    #[derive(Deserialize)]
    struct Params {
        level: LogLevel,
    }
    let p: Params = req.params_as()?;
    session.set_log_level(p.level);
    Ok(json!({}))
}

fn respond(req: &Request, outcome: Result<Value, RpcError>) -> String {
    match outcome.and_then(|v| serde_json::value::to_raw_value(&v).map_err(|e| RpcError::internal(e.to_string()))) {
        Ok(raw) => result_json(&req.id, &raw),
        Err(err) => error_json(Some(&req.id), &err),
    }
}

fn empty() -> &'static RawValue {
    serde_json::from_str::<&RawValue>(EMPTY).expect("{} is JSON")
}

struct Inflight<'a> {
    session: &'a Session,
    id: &'a herd_proto::RequestId,
}

impl Drop for Inflight<'_> {
    fn drop(&mut self) {
        self.session.end(self.id);
    }
}

/// Delivers backend notifications that concern no request: list changes to
/// every session, resource updates to the sessions subscribed to the URI.
pub(crate) async fn fan_out(shared: Weak<Shared>, mut rx: mpsc::UnboundedReceiver<Notification>) {
    while let Some(notification) = rx.recv().await {
        let Some(shared) = shared.upgrade() else { return };
        lists::invalidate(&shared, &notification.method);
        crate::stateless::deliver(&shared, &notification);
        let uri = (notification.method == method::RESOURCES_UPDATED)
            .then(|| notification.params_as::<lists::UriOnly>().ok().map(|u| u.uri))
            .flatten();
        let text = Message::Notification(notification).to_json();
        for session in shared.sessions.all() {
            if !session.is_initialized() {
                continue;
            }
            if let Some(uri) = &uri
                && !session.subscriptions.lock().contains(uri)
            {
                continue;
            }
            if let Some(outbox) = session.standalone() {
                let _ = outbox.send_notification(text.clone());
            }
        }
    }
}
