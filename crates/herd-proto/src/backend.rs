//! The contract between the router and whatever answers requests.
//!
//! The router terminates client sessions; a [`Backend`] answers the requests
//! the router sends it. In-process tool sets, supervised stdio children and
//! remote agents all implement the same trait, so one `tools/call` travels
//! the same path whoever answers it.
//!
//! A backend talks back to the client that caused a request through the
//! [`Context`] it receives: progress, log messages, and server-to-client
//! requests (sampling, elicitation, roots) whose answers it can await.
//! Notifications that concern no request (`list_changed`,
//! `resources/updated`) go through the [`Notifier`] the router hands each
//! backend once.

use crate::{Notification, ProtocolVersion, Request, RequestId, RpcError};
use herd_auth::Principal;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The lists MCP servers publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListKind {
    /// `tools/list` → `tools`.
    Tools,
    /// `resources/list` → `resources`.
    Resources,
    /// `resources/templates/list` → `resourceTemplates`.
    ResourceTemplates,
    /// `prompts/list` → `prompts`.
    Prompts,
}

impl ListKind {
    /// Every list kind.
    pub const ALL: [Self; 4] = [Self::Tools, Self::Resources, Self::ResourceTemplates, Self::Prompts];

    /// The list method, e.g. `tools/list`.
    pub fn method(self) -> &'static str {
        match self {
            Self::Tools => crate::method::TOOLS_LIST,
            Self::Resources => crate::method::RESOURCES_LIST,
            Self::ResourceTemplates => crate::method::RESOURCE_TEMPLATES_LIST,
            Self::Prompts => crate::method::PROMPTS_LIST,
        }
    }

    /// The member of the result that holds the entries, e.g. `tools`.
    pub fn key(self) -> &'static str {
        match self {
            Self::Tools => "tools",
            Self::Resources => "resources",
            Self::ResourceTemplates => "resourceTemplates",
            Self::Prompts => "prompts",
        }
    }

    /// A dense index (`0..4`, in [`ListKind::ALL`] order), for per-kind tables.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The list for a list method name.
    pub fn from_method(method: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.method() == method)
    }
}

/// Something that answers MCP requests for the router.
///
/// Methods return `'static` futures so the router can run them as tasks and
/// drop them on cancellation; dropping a future returned by `call` must stop
/// the work it stands for.
pub trait Backend: Send + Sync + 'static {
    /// The `capabilities` this backend contributes to the initialize result
    /// (`tools`, `resources`, `prompts`, `logging`, `completions`, ...).
    fn capabilities(&self) -> Map<String, Value>;

    /// Every entry of one list, in order. Entries stay raw so that relayed
    /// lists keep fields herd does not know.
    fn list(&self, kind: ListKind, cx: Context) -> BoxFuture<'static, Result<Vec<Box<RawValue>>, RpcError>>;

    /// Answers a request the router routed here: `tools/call`,
    /// `resources/read`, `resources/subscribe`, `resources/unsubscribe`,
    /// `prompts/get`, `completion/complete`, or a method the router does not
    /// know. Returns the raw `result`.
    fn call(&self, req: Request, cx: Context) -> BoxFuture<'static, Result<Box<RawValue>, RpcError>>;

    /// A client notification the router did not consume itself (e.g.
    /// `notifications/roots/list_changed`). The default ignores it.
    fn notify(&self, _notification: &Notification) {}

    /// Called once when the router takes this backend; `notifier` carries
    /// notifications that concern no particular request.
    fn attach(&self, _notifier: Notifier) {}
}

/// Carries backend notifications that concern no request to every session.
#[derive(Debug, Clone)]
pub struct Notifier(mpsc::UnboundedSender<Notification>);

impl Notifier {
    /// A notifier and the receiver the router drains.
    pub fn channel() -> (Self, mpsc::UnboundedReceiver<Notification>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Self(tx), rx)
    }

    /// Sends a notification; silently dropped once the router is gone.
    pub fn send(&self, notification: Notification) {
        let _ = self.0.send(notification);
    }

    /// Sends a params-less notification such as `notifications/tools/list_changed`.
    pub fn send_method(&self, method: &str) {
        self.send(Notification::new(method, None));
    }
}

/// MCP log levels, in increasing severity (RFC 5424 names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// debug
    Debug,
    /// info
    Info,
    /// notice
    Notice,
    /// warning
    Warning,
    /// error
    Error,
    /// critical
    Critical,
    /// alert
    Alert,
    /// emergency
    Emergency,
}

/// `params._meta` key under which herd names a server-to-client request it
/// sends on a session: the key the handler asked under. A herd hub relaying
/// the call to a stateless client asks under the same key, so the client
/// sees the names the handler chose.
pub const INPUT_KEY_META: &str = "herd/inputKey";

/// The session side of a [`Context`]: how a backend reaches the client.
///
/// The router implements it once per request, so whatever is sent through it
/// travels with that request (on its SSE stream, or the session's stream).
pub trait Peer: Send + Sync {
    /// Sends a notification to the client.
    fn notify(&self, method: &str, params: Box<RawValue>);

    /// Sends a request to the client and resolves with its answer.
    ///
    /// `key` names the question among the others of the same request; it
    /// matters on the stateless revision, where questions travel inside an
    /// `input_required` result and answers come back under their keys in
    /// the retried request. `None` lets the peer number the questions in
    /// the order the handler asks them.
    fn request(
        &self,
        key: Option<&str>,
        method: &str,
        params: Box<RawValue>,
    ) -> BoxFuture<'static, Result<Box<RawValue>, RpcError>>;

    /// The minimum level the client asked to receive, if it set one.
    fn log_level(&self) -> Option<LogLevel>;

    /// Whether log messages go out when the client set no level. Sessions
    /// send them (the client may filter later); 2026-07-28 requests do not,
    /// since the client opts in per request.
    fn logs_without_level(&self) -> bool {
        true
    }

    /// The capabilities the client declared at initialize.
    fn client_capabilities(&self) -> Option<&Value>;

    /// Asks the transport to end the stream carrying this request's messages
    /// now; the client reconnects and resumes it. The default does nothing
    /// (transports without resumable streams).
    fn close_stream(&self) {}
}

/// Facts about the request being answered.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    /// The client's id for the request, when there is one.
    pub request_id: Option<RequestId>,
    /// `params._meta.progressToken`, verbatim.
    pub progress_token: Option<Box<RawValue>>,
    /// The negotiated revision.
    pub version: Option<ProtocolVersion>,
    /// The session the request belongs to (its `Mcp-Session-Id`), when it
    /// has one. Backends key per-session limits on it; it is not for logs.
    pub session_id: Option<Arc<str>>,
    /// Who makes the request, as the transport authenticated it: a herd
    /// user, an OAuth subject, or the anonymous admin of a server without
    /// authentication. `None` only for herd's own background work (probes,
    /// routing tables), which sees everything and is never audited.
    pub principal: Option<Principal>,
    /// The client behind the request, for audit records.
    pub client: Option<Arc<ClientFacts>>,
}

/// What herd knows of the client that sent a request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientFacts {
    /// `clientInfo.name` from initialize (or the request's `_meta`).
    pub name: Option<String>,
    /// `clientInfo.version`.
    pub version: Option<String>,
    /// The peer address of the connection, when the transport has one.
    pub address: Option<std::net::IpAddr>,
}

/// What a backend gets with each request.
///
/// Cloning is cheap; clones share the cancellation token and the peer.
#[derive(Clone)]
pub struct Context {
    peer: Arc<dyn Peer>,
    meta: Arc<RequestMeta>,
    cancel: CancellationToken,
}

impl Context {
    /// A context bound to a peer.
    pub fn new(peer: Arc<dyn Peer>, meta: RequestMeta, cancel: CancellationToken) -> Self {
        Self { peer, meta: Arc::new(meta), cancel }
    }

    /// A context with no client behind it (background work, tests):
    /// notifications vanish and client requests fail.
    pub fn detached() -> Self {
        Self::new(Arc::new(Detached), RequestMeta::default(), CancellationToken::new())
    }

    /// The same request seen with other facts: shares the peer and the
    /// cancellation (e.g. a sub-call that must not report progress itself).
    pub fn with_meta(&self, meta: RequestMeta) -> Self {
        Self { peer: self.peer.clone(), meta: Arc::new(meta), cancel: self.cancel.clone() }
    }

    /// Facts about the request.
    pub fn meta(&self) -> &RequestMeta {
        &self.meta
    }

    /// The negotiated revision, when known.
    pub fn version(&self) -> Option<ProtocolVersion> {
        self.meta.version
    }

    /// Resolves when the client cancels the request.
    ///
    /// # Cancel safety
    /// Cancel safe: dropping the future loses nothing.
    pub fn cancelled(&self) -> WaitForCancellationFuture<'_> {
        self.cancel.cancelled()
    }

    /// Whether the client cancelled the request.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// The token behind [`Context::cancelled`], for handing to sub-tasks.
    pub fn cancellation(&self) -> &CancellationToken {
        &self.cancel
    }

    /// Reports progress, when the client asked for it with a progress token.
    pub fn progress(&self, progress: f64, total: Option<f64>, message: Option<&str>) {
        let Some(token) = &self.meta.progress_token else { return };
        let mut params = Map::new();
        params.insert("progressToken".into(), raw_to_value(token));
        params.insert("progress".into(), progress.into());
        if let Some(total) = total {
            params.insert("total".into(), total.into());
        }
        if let Some(message) = message {
            params.insert("message".into(), message.into());
        }
        self.notify(crate::method::PROGRESS, &Value::Object(params));
    }

    /// Sends `notifications/message` if `level` passes the client's filter
    /// (when the client never set one, everything passes).
    pub fn log(&self, level: LogLevel, logger: Option<&str>, data: Value) {
        match self.peer.log_level() {
            Some(min) if level < min => return,
            None if !self.peer.logs_without_level() => return,
            _ => {}
        }
        let mut params = Map::new();
        params.insert("level".into(), serde_json::to_value(level).unwrap_or(Value::Null));
        if let Some(logger) = logger {
            params.insert("logger".into(), logger.into());
        }
        params.insert("data".into(), data);
        self.notify(crate::method::LOG_MESSAGE, &Value::Object(params));
    }

    /// Sends any notification to the client.
    pub fn notify(&self, method: &str, params: &Value) {
        if let Ok(raw) = serde_json::value::to_raw_value(params) {
            self.peer.notify(method, raw);
        }
    }

    /// Sends a raw notification to the client (relays use this).
    pub fn notify_raw(&self, method: &str, params: Box<RawValue>) {
        self.peer.notify(method, params);
    }

    /// Sends a request to the client and awaits its answer, e.g.
    /// `sampling/createMessage`, `elicitation/create`, `roots/list`.
    ///
    /// Written once, this works on every revision: a session client gets a
    /// server-to-client request; a 2026-07-28 client gets the question in
    /// an `input_required` result and retries the request with the answer,
    /// which runs the handler again from the start and resolves this call
    /// at once. A handler should therefore ask before it changes anything.
    /// Questions are numbered in the order asked; [`Context::ask`] names
    /// one instead.
    ///
    /// # Cancel safety
    /// Dropping the future abandons the request; a late answer is discarded.
    pub async fn request(&self, method: &str, params: &Value) -> Result<Value, RpcError> {
        self.ask_inner(None, method, params).await
    }

    /// [`Context::request`] under a key of the handler's choosing: the key
    /// of the question in a 2026-07-28 `input_required` result.
    ///
    /// # Cancel safety
    /// As [`Context::request`].
    pub async fn ask(&self, key: &str, method: &str, params: &Value) -> Result<Value, RpcError> {
        self.ask_inner(Some(key), method, params).await
    }

    async fn ask_inner(&self, key: Option<&str>, method: &str, params: &Value) -> Result<Value, RpcError> {
        let raw = serde_json::value::to_raw_value(params).map_err(|e| RpcError::internal(e.to_string()))?;
        let answer = self.peer.request(key, method, raw).await?;
        serde_json::from_str(answer.get()).map_err(|e| RpcError::internal(e.to_string()))
    }

    /// [`Context::ask`] with raw params and result, the key optional
    /// (relays use this).
    pub fn ask_raw(
        &self,
        key: Option<&str>,
        method: &str,
        params: Box<RawValue>,
    ) -> BoxFuture<'static, Result<Box<RawValue>, RpcError>> {
        self.peer.request(key, method, params)
    }

    /// Ends the HTTP stream that carries this request's messages before the
    /// result is ready, so the client reconnects with `Last-Event-ID` and
    /// receives the rest there (SSE polling, protocol 2025-11-25). Where the
    /// transport cannot do that, nothing happens.
    pub fn close_stream(&self) {
        self.peer.close_stream();
    }

    /// Whether the client declared a capability, e.g. `sampling`.
    pub fn client_supports(&self, capability: &str) -> bool {
        self.peer.client_capabilities().and_then(|c| c.get(capability)).is_some()
    }
}

fn raw_to_value(raw: &RawValue) -> Value {
    serde_json::from_str(raw.get()).unwrap_or(Value::Null)
}

struct Detached;

impl Peer for Detached {
    fn notify(&self, _method: &str, _params: Box<RawValue>) {}

    fn request(
        &self,
        _key: Option<&str>,
        method: &str,
        _params: Box<RawValue>,
    ) -> BoxFuture<'static, Result<Box<RawValue>, RpcError>> {
        let err = RpcError::internal(format!("no client to send {method} to"));
        Box::pin(async move { Err(err) })
    }

    fn log_level(&self) -> Option<LogLevel> {
        None
    }

    fn client_capabilities(&self) -> Option<&Value> {
        None
    }
}
