//! The hub's end of the relay: the OpenAI-compatible API over every
//! agent's LLMs.
//!
//! - `registry`: each host's listing, kept fresh by `watch` (on every
//!   channel open, and every `refresh`), with the load at each provider;
//! - `resolve`: a model id to its candidate members, and `/v1/models`,
//!   under one policy;
//! - `pick`: the least busy member, or a place in the queue;
//! - `forward`: sending to a member over its channel, failing over before
//!   the first byte, and the answer relayed event by event (`stream`,
//!   `sse`), recorded in the audit log (`record`) before it ends;
//! - `routes`: the API itself; `error`: every failure's answer.

mod error;
mod forward;
mod metrics;
mod pick;
mod record;
mod registry;
mod request;
mod resolve;
mod routes;
mod sse;
mod stream;
mod watch;

#[cfg(test)]
mod tests;

pub use error::RelayError;

use herd_channel::Channels;
use herd_store::AuditWriter;
use registry::Registry;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch as notify;
use tokio_util::sync::CancellationToken;

/// Settings of the relay.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// How long a request waits for a place when every member is busy
    /// before it is answered 429 (30 s).
    pub queue_wait: Duration,
    /// Most requests waiting for a place at once; more are answered 429
    /// at once (1024).
    pub queue_max: usize,
    /// Limit for the first byte of an answer, a wake included (300 s).
    pub first_token_timeout: Duration,
    /// Limit between two events of a streamed answer (120 s).
    pub stall_timeout: Duration,
    /// How often every host's listing is fetched again (30 s).
    pub refresh: Duration,
    /// Limit for fetching one listing (10 s).
    pub listing_timeout: Duration,
    /// Largest request body taken (16 MiB).
    pub max_body_bytes: usize,
    /// Deepest JSON nesting taken in a request body (64).
    pub max_depth: usize,
    /// Largest answer kept whole (a non-streamed one: 64 MiB).
    pub max_answer_bytes: usize,
    /// Whether audit records keep request bodies (`audit.payloads`).
    pub payloads: bool,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            queue_wait: Duration::from_secs(30),
            queue_max: 1024,
            first_token_timeout: Duration::from_secs(300),
            stall_timeout: Duration::from_secs(120),
            refresh: Duration::from_secs(30),
            listing_timeout: Duration::from_secs(10),
            max_body_bytes: 16 * 1024 * 1024,
            max_depth: 64,
            max_answer_bytes: 64 * 1024 * 1024,
            payloads: false,
        }
    }
}

/// The relay: built over the hub's channels and audit writer. Cheap to
/// clone.
#[derive(Clone)]
pub struct Relay {
    inner: Arc<Inner>,
}

struct Inner {
    channels: Channels,
    audit: AuditWriter,
    config: RelayConfig,
    registry: Registry,
    /// Requests waiting for a place now.
    queued: std::sync::atomic::AtomicUsize,
    /// Bumped whenever a listing is stored or a host goes inactive.
    listed: notify::Sender<u64>,
}

impl Inner {
    fn models(&self, principal: &herd_auth::Principal) -> serde_json::Value {
        let load = |host: &str, provider: &str| self.registry.load(host, provider).in_flight();
        resolve::list(&self.registry.snapshot(), principal, load)
    }
}

impl Relay {
    /// A relay over `channels`, recording through `audit`. Nothing is
    /// listed until [`Relay::spawn`] runs.
    pub fn new(channels: Channels, audit: AuditWriter, config: RelayConfig) -> Self {
        let inner = Inner {
            channels,
            audit,
            config,
            registry: Registry::default(),
            queued: Default::default(),
            listed: notify::Sender::new(0),
        };
        Self { inner: Arc::new(inner) }
    }

    /// Keeps the listings fresh until `shutdown`: each channel that opens
    /// is listed at once, every open one again every `refresh`.
    pub fn spawn(&self, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
        tokio::spawn(watch::run(self.inner.clone(), shutdown))
    }

    /// Changes whenever what [`Relay::models`] shows may have changed.
    pub fn changes(&self) -> notify::Receiver<u64> {
        self.inner.listed.subscribe()
    }

    /// `/v1/models` as `principal` sees it.
    pub fn models(&self, principal: &herd_auth::Principal) -> serde_json::Value {
        self.inner.models(principal)
    }

    /// The API: `GET /v1/models`, `POST /v1/chat/completions`,
    /// `/v1/completions`, `/v1/embeddings` and `/v1/messages`. Put it
    /// behind the hub's authentication: it reads the caller's `Principal`
    /// from the request's extensions and answers 401 without one.
    pub fn routes(&self) -> axum::Router {
        routes::routes(self.inner.clone())
    }
}
