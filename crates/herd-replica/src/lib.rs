//! Several hub replicas on one shared store, behind a load balancer that
//! sends any request to any of them.
//!
//! Most of what a hub keeps is in the store already (users, tokens, audit,
//! run-time servers), and a 2026-07-28 request carries all it needs, so any
//! replica answers it. Three things live in one process only: a 2025-x
//! session (its state, its SSE streams), a task of the tasks extension
//! (its work) and an agent's channel (one connection, to one replica). This crate is what makes the replicas one
//! hub in spite of that:
//!
//! - `membership`: each replica's row in the store (id, the address other
//!   replicas reach it at, a heartbeat); one silent for
//!   [`ReplicaConfig::dead_after`] is dead, and a new one joins by writing
//!   its row, with no restart of the others. The secrets they share (the
//!   key of `requestState`, the cluster secret) are made once in the store.
//! - `sessions`: every session id and task id starts with its replica's
//!   id; the layer in front of the MCP path sends a request for another
//!   replica's session or task to that replica, streams both ways, and
//!   answers 404 for a session whose replica is gone (the client opens a
//!   new one).
//! - `channels`: which replica holds each agent's channel, kept in the
//!   store; the others see that host as remote (`herd_channel::Channels`),
//!   so a call for it or an LLM request for its models, wherever it lands,
//!   goes to that replica and on over the channel.
//! - `forward`: the one HTTP/1.1 client for both, with deadlines on the
//!   connect and the response head.
//!
//! A forwarded request carries the cluster secret in [`HOP_HEADER`]: only
//! a replica's own request can, so a request carrying it is never
//! forwarded again (one hop at most), and the header is never believed
//! otherwise. The client's `Authorization` goes along unchanged: the
//! replica that answers authenticates the request itself.

mod channels;
mod forward;
mod membership;
mod sessions;

#[cfg(test)]
mod tests;

use herd_store::Store;
use parking_lot::RwLock;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The header a replica marks its forwarded requests with; its value is
/// the cluster secret.
pub const HOP_HEADER: &str = "herd-replica-hop";

/// Where a replica accepts requests for the channels it holds, from other
/// replicas only: `{CHANNEL_RELAY_PATH}/{host}/{path}`.
pub const CHANNEL_RELAY_PATH: &str = "/api/v1/replica/channel";

/// Settings of one replica.
#[derive(Debug, Clone)]
pub struct ReplicaConfig {
    /// Where the other replicas reach this one: `http://host:port`.
    pub address: String,
    /// How often the replica writes its heartbeat and reads the others'
    /// (1 s).
    pub heartbeat: Duration,
    /// A replica silent this long is dead (5 s: five heartbeats).
    pub dead_after: Duration,
    /// Limit for connecting to another replica (5 s).
    pub connect_timeout: Duration,
    /// Limit for another replica's response head (600 s: as long as a
    /// call may run; a stream then flows as long as both ends keep it).
    pub response_timeout: Duration,
}

impl ReplicaConfig {
    /// The defaults above, reached at `address`.
    pub fn new(address: impl Into<String>) -> Self {
        Self {
            address: address.into(),
            heartbeat: Duration::from_secs(1),
            dead_after: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            response_timeout: Duration::from_secs(600),
        }
    }
}

/// Why a replica could not join.
#[derive(Debug, thiserror::Error)]
pub enum ReplicaError {
    /// The advertised address is not `http://host[:port]`.
    #[error("the replica address must be http://host[:port] with nothing after it, not {0:?}")]
    Address(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] herd_store::StoreError),
}

/// This replica, as the others know it. Cheap to clone.
#[derive(Clone)]
pub struct Replica {
    inner: Arc<Inner>,
}

struct Inner {
    id: String,
    config: ReplicaConfig,
    store: Store,
    /// The secret a forwarded request carries.
    secret: String,
    /// The key of `requestState`, the same on every replica.
    state_key: String,
    /// The live replicas (this one included): id to address.
    live: RwLock<HashMap<String, String>>,
    /// When `live` was last read from the store on demand.
    reread_at: parking_lot::Mutex<Option<tokio::time::Instant>>,
}

impl Replica {
    /// Joins the replicas of `store`: a fresh id, the shared secrets (made
    /// if this is the first replica), a first heartbeat.
    pub async fn join(store: Store, config: ReplicaConfig) -> Result<Replica, ReplicaError> {
        forward::check_address(&config.address)?;
        let id = format!("{:08x}", rand::random::<u32>());
        let secret = store.cluster_secret("replica").await?;
        let state_key = store.cluster_secret("request-state").await?;
        let inner =
            Inner { id, config, store, secret, state_key, live: RwLock::default(), reread_at: Default::default() };
        let replica = Replica { inner: Arc::new(inner) };
        replica.beat().await?;
        tracing::info!(replica = %replica.id(), address = %replica.inner.config.address, "replica joined");
        Ok(replica)
    }

    /// This replica's id.
    pub fn id(&self) -> &str {
        &self.inner.id
    }

    /// What every session id and task id this replica makes starts with.
    pub fn id_prefix(&self) -> String {
        format!("{}{}", self.inner.id, sessions::SEPARATOR)
    }

    /// The secret that signs `requestState`, shared by every replica.
    pub fn state_key(&self) -> &[u8] {
        self.inner.state_key.as_bytes()
    }

    /// The ids of the replicas alive at the last heartbeat.
    pub fn live(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.inner.live.read().keys().cloned().collect();
        ids.sort();
        ids
    }

    /// Keeps this replica's heartbeat and the table of channels in the
    /// store until `shutdown`, then leaves (its row and its channels'
    /// claims removed). Await the handle to let it leave.
    pub fn spawn(&self, channels: herd_channel::Channels, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
        let replica = self.clone();
        tokio::spawn(async move {
            tokio::select! {
                () = membership::run(replica.clone(), shutdown.clone()) => {}
                () = channels::run(replica.clone(), channels, shutdown.clone()) => {}
            }
            replica.leave().await;
        })
    }

    /// `app` with the layer that sends requests for other replicas'
    /// sessions on `mcp_path` to them (see the module docs).
    pub fn layer(&self, app: axum::Router, mcp_path: &str) -> axum::Router {
        sessions::layer(self.clone(), app, mcp_path)
    }

    /// The endpoint other replicas send requests for this replica's
    /// channels to. It checks the cluster secret itself: serve it without
    /// the user authentication.
    pub fn channel_relay(&self, channels: herd_channel::Channels) -> axum::Router {
        channels::relay_route(self.clone(), channels)
    }

    /// The address of live replica `id`.
    fn address_of(&self, id: &str) -> Option<String> {
        self.inner.live.read().get(id).cloned()
    }

    /// [`Replica::address_of`], asking the store again when `id` is not
    /// known (a replica that joined since the last heartbeat), at most
    /// every [`membership::REREAD_AFTER`].
    async fn find(&self, id: &str) -> Option<String> {
        if let Some(address) = self.address_of(id) {
            return Some(address);
        }
        if self.reread().await {
            return self.address_of(id);
        }
        None
    }

    /// Whether `value` is the cluster secret, compared in constant time.
    fn is_secret(&self, value: &[u8]) -> bool {
        use subtle::ConstantTimeEq as _;
        value.ct_eq(self.inner.secret.as_bytes()).into()
    }
}
