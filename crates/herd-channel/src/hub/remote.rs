//! Hosts whose channel another hub replica holds: they are hosts of this
//! replica's fleet too, and their requests go to that replica, which sends
//! them on over the channel (see `herd-replica`).

use super::{ChannelBody, ChannelHost, Channels, Entry};
use herd_auth::Principal;
use herd_proto::BoxFuture;
use herd_upstream::{TunnelError, TunnelLink};
use hyper::body::Incoming;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Sends a request for a host to the replica that holds its channel.
pub trait Remote: Send + Sync + 'static {
    /// Sends `request` (an absolute URI naming `host`) and waits for the
    /// response head.
    fn send(
        &self,
        host: &str,
        request: http::Request<ChannelBody>,
    ) -> BoxFuture<'static, Result<http::Response<Incoming>, TunnelError>>;
}

/// A host whose channel another replica holds.
#[derive(Clone)]
pub struct RemoteHost {
    /// The name its agent joined as.
    pub name: String,
    /// The replica that holds its channel.
    pub replica: String,
    /// The agent's channel session.
    pub session: String,
    /// Who opened the channel.
    pub owner: Principal,
    /// How its requests reach that replica.
    pub via: Arc<dyn Remote>,
}

/// A [`RemoteHost`] as its entry keeps it.
pub(super) struct Route {
    replica: String,
    session: String,
    owner: Principal,
    pub(super) via: Arc<dyn Remote>,
    generation: u64,
}

impl Route {
    pub(super) fn host(&self, name: &str, link: &TunnelLink) -> ChannelHost {
        ChannelHost {
            name: name.to_owned(),
            link: link.clone(),
            active: true,
            owner: Some(self.owner.clone()),
            session: Some(self.session.clone()),
            connection: Some(self.generation),
            via: Some(self.replica.clone()),
        }
    }

    /// The agent session whose channel it is.
    pub(super) fn session(&self) -> &str {
        &self.session
    }

    fn same(&self, host: &RemoteHost) -> bool {
        self.replica == host.replica && self.session == host.session && self.owner.identity() == host.owner.identity()
    }
}

impl Channels {
    /// The hosts whose channels other replicas hold now, replacing the
    /// last such list. A channel open to this replica takes precedence
    /// over a remote entry of the same name. Listeners of
    /// [`Channels::changes`] hear of any difference.
    pub fn set_remote(&self, hosts: Vec<RemoteHost>) {
        let mut wanted: BTreeMap<String, RemoteHost> = hosts.into_iter().map(|h| (h.name.clone(), h)).collect();
        let mut changed = false;
        let mut table = self.inner.table.lock();
        let table = &mut *table;
        for (name, entry) in &mut table.hosts {
            if !wanted.contains_key(name) && entry.remote.take().is_some() {
                changed = true;
            }
        }
        for (name, host) in std::mem::take(&mut wanted) {
            let weak = Arc::downgrade(&self.inner);
            let entry = table.hosts.entry(name.clone()).or_insert_with(|| Entry::new(weak, &name));
            if entry.remote.as_ref().is_some_and(|r| r.same(&host)) {
                continue;
            }
            table.next_generation += 1;
            let RemoteHost { replica, session, owner, via, .. } = host;
            entry.remote = Some(Route { replica, session, owner, via, generation: table.next_generation });
            changed = true;
        }
        if changed {
            self.inner.changed.send_modify(|n| *n += 1);
        }
    }
}
