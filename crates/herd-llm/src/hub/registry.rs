//! What the hub knows of every agent's LLMs: the last listing each host's
//! channel answered, whether that channel is open, who owns it, and how
//! many requests the hub has in flight at each provider.
//!
//! A host whose channel closes keeps its entries, marked inactive: the
//! same session coming back gets them again (refreshed by its next
//! listing); another session taking the name replaces them.

use crate::wire::{Listing, ProviderState};
use herd_auth::{Identity, Principal, UserId};
use herd_channel::ChannelHost;
use parking_lot::Mutex;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use tokio::sync::Notify;

/// One host's listing as last fetched over its channel.
#[derive(Debug, Clone)]
pub(crate) struct HostModels {
    pub(crate) host: String,
    pub(crate) session: String,
    /// The connection the listing was fetched over.
    pub(crate) connection: u64,
    pub(crate) owner: Owner,
    pub(crate) listing: Listing,
    /// Whether its channel is open.
    pub(crate) active: bool,
    /// When it was first listed under this session (Unix seconds).
    pub(crate) since: u64,
}

impl HostModels {
    /// The state of provider `state` on this host now.
    pub(crate) fn state(&self, state: ProviderState) -> ProviderState {
        if self.active { state } else { ProviderState::Inactive }
    }
}

/// The user whose token opened a channel: the owner of its private models.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Owner {
    pub(crate) id: Option<UserId>,
    pub(crate) name: Option<String>,
}

impl Owner {
    pub(crate) fn of(principal: &Principal) -> Self {
        let name = match principal.identity() {
            Identity::User { name, .. } => Some(name.clone()),
            Identity::OAuth { subject, .. } => Some(subject.clone()),
            Identity::Anonymous => None,
        };
        Self { id: principal.user_id(), name }
    }
}

/// The requests in flight at one provider of one host.
#[derive(Debug, Default)]
pub(crate) struct Load {
    in_flight: AtomicU32,
}

impl Load {
    pub(crate) fn in_flight(&self) -> u32 {
        self.in_flight.load(Ordering::Acquire)
    }

    /// Takes a place if fewer than `max` are in flight.
    fn try_take(&self, max: u32) -> bool {
        self.in_flight.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < max).then_some(n + 1)).is_ok()
    }
}

/// The table. Cheap to share behind an `Arc`.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    hosts: Mutex<BTreeMap<String, Arc<HostModels>>>,
    loads: Mutex<HashMap<(String, String), Arc<Load>>>,
    /// Wakes requests queued for a place whenever one frees.
    freed: Arc<Notify>,
}

/// A connection whose listing is to be fetched.
#[derive(Debug, Clone)]
pub(crate) struct ToFetch {
    pub(crate) host: String,
    pub(crate) session: String,
    pub(crate) connection: u64,
    pub(crate) owner: Principal,
}

impl ToFetch {
    /// The open connection of `channel`, if it has one.
    pub(crate) fn of(channel: &ChannelHost) -> Option<Self> {
        match (&channel.session, &channel.owner, channel.connection) {
            (Some(session), Some(owner), Some(connection)) if channel.active => {
                Some(Self { host: channel.name.clone(), session: session.clone(), connection, owner: owner.clone() })
            }
            _ => None,
        }
    }
}

impl Registry {
    /// Brings the table in line with the channels: closed ones inactive,
    /// another session's entries dropped; returns the open connections
    /// not listed yet.
    pub(crate) fn sync(&self, channels: &[ChannelHost]) -> Vec<ToFetch> {
        let mut hosts = self.hosts.lock();
        let mut fetch = Vec::new();
        for channel in channels {
            let open = ToFetch::of(channel);
            let known = hosts.get(&channel.name).cloned();
            match (open, known) {
                (Some(open), Some(known)) if known.connection == open.connection && known.active => {}
                (Some(open), known) => {
                    if known.as_ref().is_some_and(|k| k.session != open.session) {
                        hosts.remove(&channel.name);
                    }
                    fetch.push(open);
                }
                (None, Some(known)) if known.active => {
                    let mut gone = (*known).clone();
                    gone.active = false;
                    hosts.insert(channel.name.clone(), Arc::new(gone));
                }
                (None, _) => {}
            }
        }
        fetch
    }

    /// Records the listing fetched over `fetched`'s connection; `true` if
    /// it is the first over that connection.
    pub(crate) fn store(&self, fetched: &ToFetch, listing: Listing, now: u64) -> bool {
        let mut hosts = self.hosts.lock();
        let first = hosts.get(&fetched.host).is_none_or(|k| k.connection != fetched.connection || !k.active);
        let since = hosts.get(&fetched.host).filter(|k| k.session == fetched.session).map_or(now, |k| k.since);
        let entry = HostModels {
            host: fetched.host.clone(),
            session: fetched.session.clone(),
            connection: fetched.connection,
            owner: Owner::of(&fetched.owner),
            listing,
            active: true,
            since,
        };
        hosts.insert(fetched.host.clone(), Arc::new(entry));
        first
    }

    /// Every host's listing, by host name.
    pub(crate) fn snapshot(&self) -> Vec<Arc<HostModels>> {
        self.hosts.lock().values().cloned().collect()
    }

    /// The load of `provider` on `host`.
    pub(crate) fn load(&self, host: &str, provider: &str) -> Arc<Load> {
        let mut loads = self.loads.lock();
        loads.entry((host.to_owned(), provider.to_owned())).or_default().clone()
    }

    /// Takes a place at `provider` of `host` if it has room.
    pub(crate) fn try_take(&self, host: &str, provider: &str, max: u32) -> Option<Place> {
        let load = self.load(host, provider);
        load.try_take(max.max(1)).then(|| Place { load, freed: self.freed.clone() })
    }

    /// Resolves when a place may have freed.
    pub(crate) fn freed(&self) -> Arc<Notify> {
        self.freed.clone()
    }
}

/// A request's place at a provider; freed when dropped.
#[derive(Debug)]
pub(crate) struct Place {
    load: Arc<Load>,
    freed: Arc<Notify>,
}

impl Drop for Place {
    fn drop(&mut self) {
        self.load.in_flight.fetch_sub(1, Ordering::AcqRel);
        self.freed.notify_waiters();
    }
}
