//! From the model a client names to the providers that may serve it, and
//! the list of models a client sees: one policy decides both.
//!
//! A name is, in this order, a provider name (every provider of that name
//! on any host is a member), a pool (its members), or a preset (its `llm`,
//! itself a provider name or a pool, with the preset's system prompt and
//! parameters). A provider is usable by whom the policy lets use it (its
//! owner is the user whose token opened its host's channel); a name is
//! usable when one of its members is, and only usable members are
//! candidates; a preset is usable by its own visibility and owner, and
//! its candidates are the members the caller may use plus those on the
//! preset's own host (its owner lends them through the preset).

use super::error::RelayError;
use super::registry::{HostModels, Owner};
use crate::wire::{Preset, Provider, ProviderState};
use herd_auth::{Action, Model, Principal, allows};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

/// One provider of one host that may serve a request.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub(crate) host: String,
    pub(crate) provider: Provider,
    /// Its state now (inactive when its channel is closed).
    pub(crate) state: ProviderState,
}

/// What a name resolved to.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) members: Vec<Member>,
    pub(crate) preset: Option<Preset>,
}

/// What kind of thing a model id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Provider,
    Pool,
    Preset,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Provider => "provider",
            Self::Pool => "pool",
            Self::Preset => "preset",
        }
    }
}

fn may_use(principal: &Principal, name: &str, owner: &Owner, visibility: crate::wire::Visibility) -> bool {
    let model = Model { name, owner: owner.id, visibility: visibility.into() };
    allows(principal, &Action::UseModel(model)).is_allowed()
}

/// Every provider of `hosts` that `name` names (as provider or pool),
/// with the host it lives on.
fn named<'a>(
    hosts: &'a [Arc<HostModels>],
    kind: Kind,
    name: &'a str,
) -> impl Iterator<Item = (&'a HostModels, &'a Provider)> {
    hosts.iter().flat_map(move |h| {
        h.listing
            .providers
            .iter()
            .filter(move |p| match kind {
                Kind::Provider => p.name == name,
                _ => p.pool.as_deref() == Some(name),
            })
            .map(move |p| (&**h, p))
    })
}

fn member(host: &HostModels, provider: &Provider) -> Member {
    Member { host: host.host.clone(), provider: provider.clone(), state: host.state(provider.state) }
}

/// The members of `name` (provider, else pool) that `keep` keeps, and
/// whether the name exists at all.
fn members(
    hosts: &[Arc<HostModels>],
    name: &str,
    keep: impl Fn(&HostModels, &Provider) -> bool,
) -> Option<Vec<Member>> {
    for kind in [Kind::Provider, Kind::Pool] {
        let all: Vec<_> = named(hosts, kind, name).collect();
        if !all.is_empty() {
            return Some(all.into_iter().filter(|(h, p)| keep(h, p)).map(|(h, p)| member(h, p)).collect());
        }
    }
    None
}

/// The presets named `name` the caller may use, by host.
fn presets<'a>(
    hosts: &'a [Arc<HostModels>],
    principal: &'a Principal,
    name: &'a str,
) -> impl Iterator<Item = (&'a HostModels, &'a Preset)> {
    hosts.iter().flat_map(move |h| {
        h.listing
            .presets
            .iter()
            .filter(move |p| p.name == name && may_use(principal, &p.name, &h.owner, p.visibility))
            .map(move |p| (&**h, p))
    })
}

/// What `name` means for `principal`.
pub(crate) fn resolve(hosts: &[Arc<HostModels>], principal: &Principal, name: &str) -> Result<Target, RelayError> {
    let not_found = || RelayError::ModelNotFound(name.to_owned());
    let usable = |h: &HostModels, p: &Provider| may_use(principal, &p.name, &h.owner, p.visibility);
    if let Some(members) = members(hosts, name, usable) {
        return if members.is_empty() { Err(not_found()) } else { Ok(Target { members, preset: None }) };
    }
    let (home, preset) = presets(hosts, principal, name).next().ok_or_else(not_found)?;
    let lent = |h: &HostModels, p: &Provider| h.host == home.host || usable(h, p);
    let members = members(hosts, &preset.llm, lent).unwrap_or_default();
    if members.is_empty() {
        return Err(RelayError::Unavailable(format!(
            "the preset {name:?} runs on {:?}, which no host offers",
            preset.llm
        )));
    }
    Ok(Target { members, preset: Some(preset.clone()) })
}

/// One line of `/v1/models` before it is written out.
struct Entry {
    kind: Kind,
    hosts: Vec<String>,
    pool: Option<String>,
    state: ProviderState,
    owner: Option<String>,
    since: u64,
    /// Requests the hub has in flight at its members.
    in_flight: u32,
    /// What its members take at once.
    max_concurrency: u32,
}

/// One member as the list counts it.
#[derive(Clone, Copy)]
struct Counted {
    state: ProviderState,
    in_flight: u32,
    max_concurrency: u32,
}

impl Entry {
    fn add(&mut self, host: &HostModels, member: Counted) {
        if !self.hosts.contains(&host.host) {
            self.hosts.push(host.host.clone());
        }
        self.state = better(self.state, member.state);
        self.since = self.since.min(host.since);
        self.in_flight += member.in_flight;
        self.max_concurrency += member.max_concurrency;
    }
}

/// The more usable of two states.
fn better(a: ProviderState, b: ProviderState) -> ProviderState {
    let rank = |s| match s {
        ProviderState::Active => 2,
        ProviderState::Hibernating => 1,
        ProviderState::Inactive => 0,
    };
    if rank(b) > rank(a) { b } else { a }
}

/// `/v1/models` for `principal`: every model id it may use, in OpenAI's
/// list shape with herd's details under `herd`; `load` says how many
/// requests the hub has in flight at a provider of a host.
pub(crate) fn list(hosts: &[Arc<HostModels>], principal: &Principal, load: impl Fn(&str, &str) -> u32) -> Value {
    let mut entries: BTreeMap<String, Entry> = BTreeMap::new();
    let new = |kind, host: &HostModels, pool: Option<String>, member: Counted| Entry {
        kind,
        hosts: vec![host.host.clone()],
        pool,
        state: member.state,
        owner: host.owner.name.clone(),
        since: host.since,
        in_flight: member.in_flight,
        max_concurrency: member.max_concurrency,
    };
    for host in hosts {
        for p in host.listing.providers.iter().filter(|p| may_use(principal, &p.name, &host.owner, p.visibility)) {
            let member = Counted {
                state: host.state(p.state),
                in_flight: load(&host.host, &p.name),
                max_concurrency: p.max_concurrency,
            };
            match entries.get_mut(&p.name) {
                Some(e) if e.kind == Kind::Provider => e.add(host, member),
                _ => drop(entries.insert(p.name.clone(), new(Kind::Provider, host, p.pool.clone(), member))),
            }
            let Some(pool) = &p.pool else { continue };
            match entries.get_mut(pool) {
                Some(e) if e.kind != Kind::Preset => {
                    if e.kind == Kind::Pool {
                        e.add(host, member);
                    }
                }
                _ => drop(entries.insert(pool.clone(), new(Kind::Pool, host, None, member))),
            }
        }
    }
    let preset_names: Vec<String> =
        hosts.iter().flat_map(|h| h.listing.presets.iter().map(|p| p.name.clone())).collect();
    for name in preset_names {
        if entries.contains_key(&name) || members(hosts, &name, |_, _| true).is_some() {
            continue;
        }
        let Ok(target) = resolve(hosts, principal, &name) else { continue };
        let Some((home, _)) = presets(hosts, principal, &name).next() else { continue };
        let none = Counted { state: ProviderState::Inactive, in_flight: 0, max_concurrency: 0 };
        let mut entry = new(Kind::Preset, home, None, none);
        entry.hosts.clear();
        for m in &target.members {
            if !entry.hosts.contains(&m.host) {
                entry.hosts.push(m.host.clone());
            }
            entry.state = better(entry.state, m.state);
            entry.in_flight += load(&m.host, &m.provider.name);
            entry.max_concurrency += m.provider.max_concurrency;
        }
        entries.insert(name, entry);
    }
    let data: Vec<Value> = entries
        .into_iter()
        .map(|(id, e)| {
            json!({
                "id": id,
                "object": "model",
                "created": e.since,
                "owned_by": e.owner.clone().unwrap_or_else(|| "herd".to_owned()),
                "herd": {
                    "kind": e.kind.as_str(),
                    "hosts": e.hosts,
                    "pool": e.pool,
                    "state": e.state,
                    "owner": e.owner,
                    "in_flight": e.in_flight,
                    "max_concurrency": e.max_concurrency,
                },
            })
        })
        .collect();
    json!({ "object": "list", "data": data })
}
