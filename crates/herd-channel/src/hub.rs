//! The hub's end: who is connected, under which name, and the tunnel that
//! sends a request to each.
//!
//! A host name belongs to one agent session at a time. The same session
//! connecting again (a reconnect, or the agent restarted) replaces its
//! older connection at once; another session asking for a name whose
//! channel is open (here, or at another replica) is refused (409), and
//! gets it once that channel is gone.
//! A channel is gone when its connection ends or its heartbeat goes
//! unanswered: the hub PINGs every `heartbeat` and gives up `timeout`
//! after a PING that got no answer.
//!
//! With several hub replicas, an agent's channel is open to one of them;
//! the others know that host as remote (see [`Channels::set_remote`]) and
//! send its requests to the replica that holds the channel.

mod remote;
mod upgrade;

pub use remote::{Remote, RemoteHost};

use bytes::Bytes;
use herd_auth::Principal;
use herd_proto::BoxFuture;
use herd_upstream::{Tunnel, TunnelError, TunnelLink};
use http_body_util::BodyExt as _;
use http_body_util::Full;
use http_body_util::combinators::BoxBody;
use hyper::body::Incoming;
use hyper::client::conn::http2::SendRequest;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Why reading a request body sent over a channel failed.
pub type BodyError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The body of a request sent over a channel: any body, streamed.
pub type ChannelBody = BoxBody<Bytes, BodyError>;

/// Settings of the hub's end of the channels.
#[derive(Debug, Clone)]
pub struct ChannelsConfig {
    /// How often the hub PINGs each agent (30 s).
    pub heartbeat: Duration,
    /// How long an unanswered PING is waited for before the channel is
    /// closed and its host marked inactive (60 s: at most 90 s of silence).
    pub timeout: Duration,
    /// Most channels one principal may hold open (64).
    pub max_per_principal: usize,
    /// Most channels open in all (4096).
    pub max_total: usize,
    /// Limit for the HTTP/2 handshake on a new channel (10 s).
    pub handshake_timeout: Duration,
}

impl Default for ChannelsConfig {
    fn default() -> Self {
        Self {
            heartbeat: Duration::from_secs(30),
            timeout: Duration::from_secs(60),
            max_per_principal: 64,
            max_total: 4096,
            handshake_timeout: Duration::from_secs(10),
        }
    }
}

/// One host that joined over a channel, as the fleet sees it.
#[derive(Debug, Clone)]
pub struct ChannelHost {
    /// The name it joined as.
    pub name: String,
    /// The tunnel to its agent; the same for every connection of that name.
    pub link: TunnelLink,
    /// Whether its channel is open now.
    pub active: bool,
    /// Who opened the connection in force (the user whose token the agent
    /// holds), if one is open or opening.
    pub owner: Option<Principal>,
    /// The agent's session id on that connection.
    pub session: Option<String>,
    /// Which connection that is: a larger number for each newer one, so a
    /// reconnect of the same session reads as a change.
    pub connection: Option<u64>,
    /// The replica whose channel it is, when another replica holds it;
    /// `None` when the channel (if any) is open to this one.
    pub via: Option<String>,
}

/// The channels of a hub. Cheap to clone.
#[derive(Clone)]
pub struct Channels {
    inner: Arc<Inner>,
}

struct Inner {
    config: ChannelsConfig,
    table: Mutex<Table>,
    /// Bumped whenever a channel opens or closes.
    changed: watch::Sender<u64>,
}

#[derive(Default)]
struct Table {
    /// By host name; a name once seen keeps its entry (and its tunnel).
    hosts: BTreeMap<String, Entry>,
    next_generation: u64,
}

struct Entry {
    link: TunnelLink,
    /// The connection in force, if any.
    open: Option<Open>,
    /// The replica that holds the channel when this one does not.
    remote: Option<remote::Route>,
}

struct Open {
    session: String,
    owner: Principal,
    generation: u64,
    /// `None` until the HTTP/2 handshake is done.
    sender: Option<SendRequest<ChannelBody>>,
    /// Ends the connection (a newer one of the same session replaced it).
    close: CancellationToken,
    since: Instant,
}

/// Why a channel could not be opened; each reads as the HTTP error the
/// agent gets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Refusal {
    #[error("another agent holds the channel of host {0:?}")]
    NameTaken(String),
    #[error("{0} already holds {1} channels, the most allowed")]
    PerPrincipal(String, usize),
    #[error("the hub already holds {0} channels, the most allowed")]
    Total(usize),
}

impl Channels {
    /// No channels yet.
    pub fn new(config: ChannelsConfig) -> Self {
        let inner = Inner { config, table: Mutex::new(Table::default()), changed: watch::Sender::new(0) };
        Self { inner: Arc::new(inner) }
    }

    /// The upgrade endpoint ([`crate::CHANNEL_PATH`]). Put it behind the
    /// hub's authentication: it reads the caller's [`Principal`] from the
    /// request's extensions, and refuses a request without one.
    pub fn route(&self) -> axum::Router {
        upgrade::route(self.clone())
    }

    /// Every host that ever joined over a channel since the hub started,
    /// by name, and whether its channel is open.
    pub fn hosts(&self) -> Vec<ChannelHost> {
        let table = self.inner.table.lock();
        table
            .hosts
            .iter()
            .map(|(name, entry)| match (&entry.open, &entry.remote) {
                (None, Some(route)) => route.host(name, &entry.link),
                (open, _) => ChannelHost {
                    name: name.clone(),
                    link: entry.link.clone(),
                    active: open.as_ref().is_some_and(|o| o.sender.is_some()),
                    owner: open.as_ref().map(|o| o.owner.clone()),
                    session: open.as_ref().map(|o| o.session.clone()),
                    connection: open.as_ref().map(|o| o.generation),
                    via: None,
                },
            })
            .collect()
    }

    /// Changes whenever a channel opens or closes.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.inner.changed.subscribe()
    }

    /// Sends `request` (an absolute URI) to the agent of `host` over its
    /// channel, or through the replica that holds it, and waits for the
    /// response head.
    pub async fn send(
        &self,
        host: &str,
        request: http::Request<ChannelBody>,
    ) -> Result<http::Response<Incoming>, TunnelError> {
        self.inner.send(host, request).await
    }

    /// [`Channels::send`] over a channel open to this replica only, never
    /// through another: what a replica does for a request another one
    /// forwarded to it.
    pub async fn send_local(
        &self,
        host: &str,
        request: http::Request<ChannelBody>,
    ) -> Result<http::Response<Incoming>, TunnelError> {
        self.inner.send_local(host, request).await
    }

    /// Admits a connection of `session` as `host` for `owner`: the entry
    /// is taken now (so caps count it), the sender comes with
    /// [`Inner::opened`].
    fn admit(&self, host: &str, session: &str, owner: &Principal) -> Result<(u64, CancellationToken), Refusal> {
        let config = &self.inner.config;
        let mut table = self.inner.table.lock();
        let open: Vec<&Open> = table.hosts.values().filter_map(|e| e.open.as_ref()).collect();
        let same_session = table.hosts.get(host).and_then(|e| e.open.as_ref()).is_some_and(|o| o.session == session);
        if !same_session {
            // Open here, or at another replica for another agent session.
            let taken = table
                .hosts
                .get(host)
                .is_some_and(|e| e.open.is_some() || e.remote.as_ref().is_some_and(|r| r.session() != session));
            if taken {
                return Err(Refusal::NameTaken(host.to_owned()));
            }
            let mine = open.iter().filter(|o| o.owner.same_subject(owner)).count();
            if mine >= config.max_per_principal {
                return Err(Refusal::PerPrincipal(owner.to_string(), config.max_per_principal));
            }
            if open.len() >= config.max_total {
                return Err(Refusal::Total(config.max_total));
            }
        }
        table.next_generation += 1;
        let generation = table.next_generation;
        let close = CancellationToken::new();
        let weak = Arc::downgrade(&self.inner);
        let entry = table.hosts.entry(host.to_owned()).or_insert_with(|| Entry::new(weak, host));
        let replaced = entry.open.replace(Open {
            session: session.to_owned(),
            owner: owner.clone(),
            generation,
            sender: None,
            close: close.clone(),
            since: Instant::now(),
        });
        if let Some(old) = replaced {
            tracing::info!(host, "a newer connection of the same agent replaces its channel");
            old.close.cancel();
        }
        Ok((generation, close))
    }
}

impl Inner {
    /// The connection `generation` of `host` finished its handshake.
    fn opened(&self, host: &str, generation: u64, sender: SendRequest<ChannelBody>) -> bool {
        let mut table = self.table.lock();
        let Some(open) = table.hosts.get_mut(host).and_then(|e| e.open.as_mut()) else { return false };
        if open.generation != generation {
            return false;
        }
        open.sender = Some(sender);
        drop(table);
        self.changed.send_modify(|n| *n += 1);
        true
    }

    /// The connection `generation` of `host` ended (unless a newer one
    /// took its place already).
    fn closed(&self, host: &str, generation: u64) {
        let mut table = self.table.lock();
        let Some(entry) = table.hosts.get_mut(host) else { return };
        if entry.open.as_ref().is_none_or(|o| o.generation != generation) {
            return;
        }
        let open = entry.open.take();
        drop(table);
        if let Some(open) = open {
            let held = open.since.elapsed().as_secs_f64();
            tracing::info!(host, held_s = format!("{held:.1}"), "channel closed; host inactive");
        }
        self.changed.send_modify(|n| *n += 1);
    }

    fn sender(&self, host: &str) -> Option<SendRequest<ChannelBody>> {
        let table = self.table.lock();
        table.hosts.get(host)?.open.as_ref()?.sender.clone()
    }

    /// The replica to send `host`'s requests through, when its channel is
    /// open to another one and not to this.
    fn remote(&self, host: &str) -> Option<Arc<dyn Remote>> {
        let table = self.table.lock();
        let entry = table.hosts.get(host)?;
        match &entry.open {
            Some(_) => None,
            None => entry.remote.as_ref().map(|r| r.via.clone()),
        }
    }

    async fn send(
        &self,
        host: &str,
        request: http::Request<ChannelBody>,
    ) -> Result<http::Response<Incoming>, TunnelError> {
        match self.remote(host) {
            Some(via) => via.send(host, request).await,
            None => self.send_local(host, request).await,
        }
    }

    async fn send_local(
        &self,
        host: &str,
        request: http::Request<ChannelBody>,
    ) -> Result<http::Response<Incoming>, TunnelError> {
        let not_connected = || TunnelError::NotConnected(format!("the agent of {host} has no channel open"));
        let mut sender = self.sender(host).ok_or_else(not_connected)?;
        // Waits for a stream slot (the agent's concurrent stream limit);
        // fails at once on a closed connection, before anything is sent.
        sender.ready().await.map_err(|_| not_connected())?;
        sender.send_request(request).await.map_err(|e| {
            let reason = herd_upstream::with_causes(&e);
            TunnelError::Lost(format!("the channel of {host} broke: {reason}"))
        })
    }
}

impl Entry {
    fn new(inner: Weak<Inner>, host: &str) -> Self {
        let link = TunnelLink(Arc::new(ByName { inner, host: host.to_owned() }));
        Self { link, open: None, remote: None }
    }
}

/// The tunnel to one host name: whichever connection of that name is open
/// when a request is sent.
struct ByName {
    inner: Weak<Inner>,
    host: String,
}

impl Tunnel for ByName {
    fn send(
        &self,
        request: http::Request<Full<Bytes>>,
    ) -> BoxFuture<'static, Result<http::Response<Incoming>, TunnelError>> {
        let inner = self.inner.clone();
        let host = self.host.clone();
        Box::pin(async move {
            let Some(inner) = inner.upgrade() else {
                return Err(TunnelError::NotConnected("the hub's channels are closed".into()));
            };
            let request = request.map(|body| body.map_err(|never| match never {}).boxed());
            inner.send(&host, request).await
        })
    }
}

#[cfg(test)]
mod tests;
