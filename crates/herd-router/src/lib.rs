//! herd's session core.
//!
//! A [`Router`] owns the client sessions of one herd process and the
//! [`Backend`]s that answer them. Transports (Streamable HTTP, stdio) parse
//! bytes into [`herd_proto::Message`]s and hand them to a [`Session`]; the
//! session answers what belongs to the session itself (`initialize`, `ping`,
//! `logging/setLevel`, list merging) and routes everything else to the
//! backend that owns the tool, resource or prompt named in the request.
//!
//! Messages a backend sends back while it works (progress, log messages,
//! server-to-client requests) leave through the [`Outbox`] the transport gave
//! with the request, or the session's standalone outbox when the request has
//! none. Answers to server-to-client requests come back through
//! [`Session::handle_response`] and wake the handler that awaits them.
//!
//! Cancellation: `notifications/cancelled` for a request in flight drops its
//! handler future, which stops the work it stood for.
//!
//! Sessions are capped in total and per [`Owner`] (whoever the transport
//! says opened it); its [`Expiry`] says whether idleness ends one (HTTP) or
//! only its transport does (stdio). A request to a session that has ended
//! is answered with an error, never with silence.
//!
//! Requests of the stateless revision (2026-07-28) need no session: they
//! go to [`Router::handle_stateless`], through the same backends. There a
//! long call to a tool that allows it may become a task (the tasks
//! extension), which outlives the request that started it.

mod dispatch;
mod lists;
mod outbox;
mod owner;
mod peer;
mod session;
mod sessions;
mod stateless;
mod tasks;
mod trace;

pub use outbox::{Closed, Outbox, SharedOutbox};
pub use owner::Owner;
pub use session::Session;
pub use tasks::TaskLimits;

pub use stateless::{Claims, PARAM_HEADER_PREFIX, ParamClaims, StateKey, StatelessAnswer, Verdict, is_stateless};

use herd_proto::Backend;
use herd_proto::model::Implementation;
use sessions::Sessions;
use std::sync::Arc;
use std::time::Duration;

/// Settings of a [`Router`].
#[derive(Debug, Clone)]
pub struct RouterConfig {
    /// `serverInfo` in the initialize result.
    pub server_info: Implementation,
    /// `instructions` in the initialize result.
    pub instructions: Option<String>,
    /// Entries per page of a list result.
    pub page_size: usize,
    /// Sessions kept at once; initialize fails beyond this.
    pub max_sessions: usize,
    /// Sessions one [`Owner`] may keep at once, so that one client cannot
    /// take every slot of `max_sessions`.
    pub max_sessions_per_owner: usize,
    /// A session of [`Expiry::WhenIdle`] with no traffic for this long is
    /// ended.
    pub session_idle_timeout: Duration,
    /// How long a server-to-client request may wait for its answer.
    pub client_request_timeout: Duration,
    /// Signs the `requestState` of stateless `input_required` results;
    /// replicas behind one load balancer must share it.
    pub state_key: StateKey,
    /// Bounds and timings of tasks (the tasks extension).
    pub tasks: TaskLimits,
    /// Put before every session id and task id this router makes: which
    /// replica of several holds the session or the task (`herd-replica`),
    /// empty for one alone. Visible ASCII without `,`, as the
    /// `Mcp-Session-Id` and `Mcp-Name` headers allow.
    pub id_prefix: String,
}

impl Default for RouterConfig {
    fn default() -> Self {
        Self {
            server_info: Implementation {
                name: "herd".into(),
                version: env!("CARGO_PKG_VERSION").into(),
                title: Some("herd".into()),
            },
            instructions: None,
            page_size: 1000,
            max_sessions: 10_000,
            max_sessions_per_owner: 1_000,
            session_idle_timeout: Duration::from_secs(3600),
            client_request_timeout: Duration::from_secs(600),
            state_key: StateKey::random(),
            tasks: TaskLimits::default(),
            id_prefix: String::new(),
        }
    }
}

/// Owns sessions and backends. Cheap to clone.
#[derive(Clone)]
pub struct Router {
    shared: Arc<Shared>,
}

pub(crate) struct Shared {
    pub(crate) config: RouterConfig,
    pub(crate) backends: Vec<Arc<dyn Backend>>,
    pub(crate) sessions: Sessions,
    pub(crate) routes: lists::Routes,
    pub(crate) capabilities: serde_json::Value,
    pub(crate) listeners: stateless::Listeners,
    pub(crate) tasks: tasks::TaskStore,
}

/// The union of every backend's capabilities; `logging` always, since the
/// router answers `logging/setLevel` itself.
fn merge_capabilities(backends: &[Arc<dyn Backend>]) -> serde_json::Value {
    let mut merged = serde_json::Map::new();
    merged.insert("logging".into(), serde_json::json!({}));
    for backend in backends {
        for (key, value) in backend.capabilities() {
            merge_value(merged.entry(key).or_insert(serde_json::Value::Null), value);
        }
    }
    serde_json::Value::Object(merged)
}

fn merge_value(into: &mut serde_json::Value, from: serde_json::Value) {
    use serde_json::Value;
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge_value(a.entry(k).or_insert(Value::Null), v);
            }
        }
        (Value::Bool(a), Value::Bool(b)) => *a |= b,
        (slot @ Value::Null, v) => *slot = v,
        _ => {}
    }
}

/// Who opened a session or sent a stateless request, as the transport
/// authenticated it.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    /// The principal; `None` on transports that authenticate nobody (a
    /// stdio pipe is its own authentication: whoever spawned the process).
    pub principal: Option<herd_proto::Principal>,
    /// The client's address, when the transport has one.
    pub address: Option<std::net::IpAddr>,
}

/// No session can be opened: a cap is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TooManySessions {
    /// The process holds [`RouterConfig::max_sessions`].
    #[error("too many open sessions (the server's limit is {limit}); try again later")]
    Total {
        /// The limit.
        limit: usize,
    },
    /// The owner holds [`RouterConfig::max_sessions_per_owner`].
    #[error(
        "too many open sessions for this client (limit {limit} per client); end unused sessions with DELETE or let them expire"
    )]
    PerOwner {
        /// The limit.
        limit: usize,
    },
}

/// What ends a session, besides [`Router::end_session`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// It ends after [`RouterConfig::session_idle_timeout`] without
    /// traffic: for transports whose clients may vanish without a word
    /// (HTTP, where a session outlives its connections).
    WhenIdle,
    /// It lasts as long as the transport keeps it (stdio: the session is
    /// the connection, and ends with it); idleness never ends it.
    WithTransport,
}

impl Router {
    /// A router over `backends`, in priority order: when two backends list
    /// the same tool name, the first one wins.
    ///
    /// Must be called inside a Tokio runtime: it starts the task that fans
    /// backend notifications out to sessions and the idle-session reaper.
    pub fn new(config: RouterConfig, backends: Vec<Arc<dyn Backend>>) -> Self {
        let shared = Arc::new(Shared {
            routes: lists::Routes::default(),
            capabilities: merge_capabilities(&backends),
            sessions: Sessions::default(),
            listeners: stateless::Listeners::default(),
            tasks: tasks::TaskStore::new(config.tasks.clone(), config.id_prefix.clone()),
            config,
            backends,
        });
        let router = Self { shared };
        router.start_background();
        router
    }

    /// Opens a new session of an unknown owner, ended when idle.
    pub fn create_session(&self) -> Result<Arc<Session>, TooManySessions> {
        self.open_session(Owner::unknown(), Expiry::WhenIdle)
    }

    /// Opens a new session for `owner`, counted against its cap.
    pub fn open_session(&self, owner: Owner, expiry: Expiry) -> Result<Arc<Session>, TooManySessions> {
        self.open_session_as(owner, expiry, Caller::default())
    }

    /// Opens a new session for `owner` on behalf of `caller`: the principal
    /// the session belongs to, whose requests it answers by default.
    pub fn open_session_as(
        &self,
        owner: Owner,
        expiry: Expiry,
        caller: Caller,
    ) -> Result<Arc<Session>, TooManySessions> {
        self.shared.sessions.create(&self.shared, owner, expiry, caller)
    }

    /// The session with this id, if it exists.
    pub fn session(&self, id: &str) -> Option<Arc<Session>> {
        self.shared.sessions.get(id)
    }

    /// Ends a session: in-flight requests are cancelled. False if unknown.
    pub fn end_session(&self, id: &str) -> bool {
        self.shared.sessions.remove(id).inspect(|s| s.close()).is_some()
    }

    /// Ids of the open sessions.
    pub fn session_ids(&self) -> Vec<String> {
        self.shared.sessions.all().iter().map(|s| s.id().to_owned()).collect()
    }

    /// Number of open sessions.
    pub fn session_count(&self) -> usize {
        self.shared.sessions.len()
    }

    /// The configuration.
    pub fn config(&self) -> &RouterConfig {
        &self.shared.config
    }

    fn start_background(&self) {
        let (notifier, rx) = herd_proto::Notifier::channel();
        for backend in &self.shared.backends {
            backend.attach(notifier.clone());
        }
        drop(notifier);
        tokio::spawn(dispatch::fan_out(Arc::downgrade(&self.shared), rx));
        tokio::spawn(sessions::reap_idle(Arc::downgrade(&self.shared)));
    }
}

#[cfg(test)]
mod tests;
