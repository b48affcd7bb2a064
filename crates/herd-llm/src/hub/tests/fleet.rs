//! A hub with the relay on loopback, and agents that dial it over a real
//! channel and answer the wire from a small router: a listing, an SSE
//! answer in fixed chunks cut mid-event, and providers that fail, stall,
//! break off, wait at a gate or linger after `[DONE]`, by the start of
//! their name.

use crate::hub::{Relay, RelayConfig};
use crate::wire::{FAILURE_HEADER, Failure, Listing, Preset, Provider, ProviderState, Visibility};
use axum::extract::{Path, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use bytes::Bytes;
use futures_util::StreamExt as _;
use herd_auth::{Grant, Identity, Principal, Role, TokenId, UserId};
use herd_channel::{AgentChannel, AgentChannelConfig, Channels, ChannelsConfig};
use herd_store::{AuditFilter, AuditRecord, AuditWriter, Store};
use parking_lot::Mutex;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

/// Longest any awaited event may take before the test fails.
pub(super) const LIMIT: Duration = Duration::from_secs(20);

/// The principal each test token stands for: `NAME` (an operator),
/// `NAME-agent` (the same user, as its agents connect), `root` (admin).
fn principal_of(token: &str) -> Option<Principal> {
    let (name, role) = match token.strip_suffix("-agent") {
        Some(name) => (name, Role::Agent),
        None if token == "root" => (token, Role::Admin),
        None => (token, Role::Operator),
    };
    let id = match name {
        "alice" => 1,
        "bob" => 2,
        "root" => 3,
        _ => return None,
    };
    let identity = Identity::User { user_id: UserId(id), name: name.to_owned(), token_id: TokenId(token.into()) };
    Some(Principal::new(identity, role, Grant::all()))
}

async fn authenticate(mut request: Request, next: Next) -> Response {
    let bearer = request.headers().get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    match bearer.and_then(|b| b.strip_prefix("Bearer ")).and_then(principal_of) {
        Some(principal) => {
            request.extensions_mut().insert(principal);
            next.run(request).await
        }
        None => (http::StatusCode::UNAUTHORIZED, "no").into_response(),
    }
}

pub(super) struct Hub {
    pub(super) url: String,
    pub(super) relay: Relay,
    pub(super) store: Store,
    pub(super) http: reqwest::Client,
    shutdown: CancellationToken,
    _dir: tempfile::TempDir,
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl Hub {
    pub(super) async fn start(config: RelayConfig) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("herd.db").to_str().unwrap()).await.unwrap();
        let writer: AuditWriter = store.audit_writer(&herd_store::AuditConfig::default());
        let channels = Channels::new(ChannelsConfig::default());
        let relay = Relay::new(channels.clone(), writer, config);
        let shutdown = CancellationToken::new();
        relay.spawn(shutdown.clone());
        let app = channels.route().merge(relay.routes()).layer(axum::middleware::from_fn(authenticate));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let stop = shutdown.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).with_graceful_shutdown(stop.cancelled_owned()).await;
        });
        Self { url, relay, store, http: reqwest::Client::new(), shutdown, _dir: dir }
    }

    /// `/v1/models` as `token` sees it once `ready` holds of it.
    pub(super) async fn models_when(&self, token: &str, ready: impl Fn(&Value) -> bool) -> Value {
        let principal = principal_of(token).unwrap();
        let mut changes = self.relay.changes();
        let wait = async {
            loop {
                let models = self.relay.models(&principal);
                if ready(&models) {
                    return models;
                }
                changes.changed().await.unwrap();
            }
        };
        tokio::time::timeout(LIMIT, wait).await.unwrap_or_else(|_| panic!("models never became ready"))
    }

    /// `POST /v1/{endpoint}` as `token`.
    pub(super) async fn post(&self, token: &str, endpoint: &str, body: Value) -> reqwest::Response {
        self.http.post(format!("{}/v1/{endpoint}", self.url)).bearer_auth(token).json(&body).send().await.unwrap()
    }

    /// `GET /v1/models` as `token`.
    pub(super) async fn models(&self, token: &str) -> Value {
        let response = self.http.get(format!("{}/v1/models", self.url)).bearer_auth(token).send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// The audit records once `count` of them are written.
    pub(super) async fn audit(&self, count: usize) -> Vec<AuditRecord> {
        let wait = async {
            loop {
                let records = self.store.query_audit(&AuditFilter::default()).await.unwrap();
                if records.len() >= count {
                    return records;
                }
                // The cancelled record is written by a task of its own:
                // nothing to wait on but the store.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        tokio::time::timeout(LIMIT, wait).await.unwrap()
    }
}

/// The ids `/v1/models` lists.
pub(super) fn ids(models: &Value) -> Vec<String> {
    models["data"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().to_owned()).collect()
}

/// The state `/v1/models` gives `id` (empty while it is not listed).
pub(super) fn state(models: &Value, id: &str) -> String {
    let found = models["data"].as_array().unwrap().iter().find(|m| m["id"] == id);
    found.and_then(|m| m["herd"]["state"].as_str()).unwrap_or_default().to_owned()
}

/// The entry of `id` in `/v1/models`.
pub(super) fn entry<'a>(models: &'a Value, id: &str) -> &'a Value {
    models["data"].as_array().unwrap().iter().find(|m| m["id"] == id).unwrap()
}

pub(super) fn provider(name: &str, pool: Option<&str>, visibility: Visibility, max_concurrency: u32) -> Provider {
    Provider {
        name: name.into(),
        pool: pool.map(str::to_owned),
        visibility,
        max_concurrency,
        state: ProviderState::Active,
        wakes: false,
    }
}

pub(super) fn preset(name: &str, llm: &str, system: &str, params: Value) -> Preset {
    Preset {
        name: name.into(),
        llm: llm.into(),
        system: Some(system.into()),
        params: params.as_object().unwrap().clone(),
        visibility: Visibility::Public,
    }
}

/// What an agent's router saw and did.
#[derive(Clone)]
pub(super) struct Seen {
    /// What the agent lists; the test may change it.
    pub(super) listing: Arc<Mutex<Listing>>,
    /// Each forwarded request: provider and body.
    pub(super) requests: Arc<Mutex<Vec<(String, Value)>>>,
    /// Providers whose answer body was dropped before it ended.
    dropped: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<String>>>,
    /// Where `gate-*` providers wait before answering, and `break-*` ones
    /// before breaking off.
    pub(super) gate: Arc<Semaphore>,
}

impl Seen {
    /// The next provider whose answer body was dropped.
    pub(super) async fn dropped(&self) -> String {
        let next = async { self.dropped.lock().await.recv().await };
        tokio::time::timeout(LIMIT, next).await.unwrap().unwrap()
    }
}

#[derive(Clone)]
struct AgentState {
    seen: Seen,
    dropped: mpsc::UnboundedSender<String>,
}

pub(super) struct Agent {
    pub(super) seen: Seen,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Agent {
    /// An agent joining `hub` as `name` with `token`'s user, serving `listing`.
    pub(super) fn start(hub: &Hub, token: &str, name: &str, session: &str, listing: Listing) -> Self {
        let (dropped, heard) = mpsc::unbounded_channel();
        let seen = Seen {
            listing: Arc::new(Mutex::new(listing)),
            requests: Arc::default(),
            dropped: Arc::new(tokio::sync::Mutex::new(heard)),
            gate: Arc::new(Semaphore::new(0)),
        };
        let state = AgentState { seen: seen.clone(), dropped };
        let app = axum::Router::new()
            .route(
                crate::wire::LISTING_PATH,
                axum::routing::get(|State(s): State<AgentState>| async move {
                    axum::body::Body::from(serde_json::to_vec(&*s.seen.listing.lock()).unwrap())
                }),
            )
            .route("/api/v1/llm/{provider}/{*endpoint}", axum::routing::post(forward))
            .with_state(state);
        let mut config = AgentChannelConfig::new(&hub.url, token, name, session.to_owned());
        config.reconnect_min = Duration::from_millis(50);
        let shutdown = CancellationToken::new();
        let channel = AgentChannel::new(config).unwrap();
        let task = tokio::spawn(channel.run(app, shutdown.clone()));
        Self { seen, shutdown, task }
    }

    /// Closes its channel and waits until it is closed.
    pub(super) async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(LIMIT, self.task).await.unwrap().unwrap();
    }
}

/// Sends its `String` when dropped: the agent's answer body went away.
struct OnDrop(mpsc::UnboundedSender<String>, String);

impl Drop for OnDrop {
    fn drop(&mut self) {
        let _ = self.0.send(self.1.clone());
    }
}

pub(super) const CHUNKS: [&str; 3] = [
    "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\ndata: {\"choi",
    "ces\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{}\"}}]}}]}\n",
    "\n",
];
pub(super) const USAGE: &str = "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":3}}\n\n";
pub(super) const DONE: &str = "data: [DONE]\n\n";

async fn forward(
    State(state): State<AgentState>,
    Path((provider, endpoint)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap();
    state.seen.requests.lock().push((provider.clone(), body.clone()));
    assert_eq!(endpoint, if body.get("input").is_some() { "embeddings" } else { "chat/completions" });
    if provider.starts_with("fail") {
        let failure = Failure::Unreachable;
        let answer = crate::wire::error_body("cannot connect to the provider", "server_error", failure.as_str());
        return (http::StatusCode::BAD_GATEWAY, [(FAILURE_HEADER, failure.as_str())], answer.to_string())
            .into_response();
    }
    // Dropped with the handler (before the answer) or with the body.
    let guard = OnDrop(state.dropped.clone(), provider.clone());
    if provider.starts_with("gate") {
        state.seen.gate.acquire().await.unwrap().forget();
    }
    if body["stream"] != true {
        let answer = json!({
            "object": "chat.completion",
            "provider": provider,
            "choices": [{"message": {"role": "assistant", "content": "Hello"}}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 3},
        });
        return ([(http::header::CONTENT_TYPE, "application/json")], answer.to_string()).into_response();
    }
    let with_usage = body["stream_options"]["include_usage"] == true;
    let first: Vec<Result<Bytes, std::io::Error>> =
        CHUNKS.iter().map(|c| Ok(Bytes::from_static(c.as_bytes()))).collect();
    let stream = futures_util::stream::iter(first);
    let stream = if provider.starts_with("stall") {
        stream.chain(futures_util::stream::pending()).boxed()
    } else if provider.starts_with("break") {
        // Breaks off once the test opens the gate, after the client read
        // the first bytes.
        let gate = state.seen.gate.clone();
        let broken = futures_util::stream::once(async move {
            gate.acquire().await.unwrap().forget();
            Err(std::io::Error::other("provider died"))
        });
        stream.chain(broken).boxed()
    } else {
        let tail = [with_usage.then_some(USAGE), Some(DONE)].into_iter().flatten();
        let stream = stream.chain(futures_util::stream::iter(tail.map(|t| Ok(Bytes::from_static(t.as_bytes())))));
        if provider.starts_with("linger") {
            // Keeps its stream open after `[DONE]`.
            stream.chain(futures_util::stream::pending()).boxed()
        } else {
            stream.boxed()
        }
    };
    let stream = stream.map(move |item| {
        let _alive = &guard;
        item
    });
    ([(http::header::CONTENT_TYPE, "text/event-stream")], axum::body::Body::from_stream(stream)).into_response()
}
