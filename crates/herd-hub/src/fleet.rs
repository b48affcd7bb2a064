//! The hub's live view of the fleet: the registry in force, the health of
//! every agent, the MCP sessions to the agents and the ssh fallback.
//!
//! A registry reload swaps the host set atomically ([`Fleet::replace`]):
//! calls already running finish against the hosts they started with, new
//! calls see the new set, and client sessions are not touched.

use crate::Fallback;
use arc_swap::ArcSwap;
use herd_fleet::{Health, Host, McpProber, Registry};
use herd_upstream::TunnelLink;
use herd_upstream::{HttpUpstream, Relay, RelayConfig};
use parking_lot::Mutex;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

/// Settings of the call path that are not per host.
#[derive(Debug, Clone)]
pub struct CallConfig {
    /// Longest a forwarded tool call may take when the tool sets no
    /// timeout of its own (5 min).
    pub call_timeout: Duration,
    /// Added to a `shell` call's own `timeout` to bound the whole call (30 s).
    pub timeout_margin: Duration,
    /// Most hosts `remote_shell_many` works on at once (32).
    pub fan_out: usize,
}

impl Default for CallConfig {
    fn default() -> Self {
        Self { call_timeout: Duration::from_secs(300), timeout_margin: Duration::from_secs(30), fan_out: 32 }
    }
}

/// Everything a hub tool needs to reach a host.
pub struct Fleet {
    /// The registry in force: the file's hosts plus those that joined over
    /// a channel.
    registry: ArcSwap<Registry>,
    /// What it is made of; held while the registry in force is replaced.
    parts: Mutex<Parts>,
    health: Health,
    prober: Arc<McpProber>,
    fallback: Option<Arc<dyn Fallback>>,
    config: CallConfig,
}

/// The registry as loaded and the hosts that joined over a channel.
struct Parts {
    file: Registry,
    channels: Vec<(String, TunnelLink)>,
}

/// Why a set of hosts could not be chosen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    /// A named host is not registered.
    #[error("unknown host {name:?} (registered: {known})")]
    UnknownHost {
        /// The name asked for.
        name: String,
        /// Some registered names, for the reader.
        known: String,
    },
    /// The selection matched nothing.
    #[error("no host matches {0}")]
    Empty(String),
}

impl Fleet {
    /// A fleet over `registry`, probed over MCP with the registry's health
    /// settings, falling back to `fallback` when an agent is down.
    pub fn new(registry: Registry, fallback: Option<Arc<dyn Fallback>>, config: CallConfig) -> Self {
        let health_config = registry.health().clone();
        let prober = Arc::new(McpProber::new(&health_config).read_only_tools(crate::path::READ_ONLY));
        let health = Health::new(health_config, registry.hosts().iter().cloned(), prober.clone());
        let parts = Mutex::new(Parts { file: registry.clone(), channels: Vec::new() });
        Self { registry: ArcSwap::from_pointee(registry), parts, health, prober, fallback, config }
    }

    /// Swaps in a reloaded registry (hosts that joined over a channel stay).
    /// Hosts whose agent address or token changed, and hosts that left, lose
    /// their cached session and state.
    pub fn replace(&self, registry: Registry) {
        let mut parts = self.parts.lock();
        parts.file = registry;
        self.install(parts.file.clone().with_channels(parts.channels.iter().cloned()));
    }

    /// The hosts whose agents joined over a channel (name and the tunnel to
    /// it) are these now; each is a host of the fleet beside the file's.
    pub fn set_channels(&self, channels: Vec<(String, TunnelLink)>) {
        let mut parts = self.parts.lock();
        if parts.channels == channels {
            return;
        }
        parts.channels = channels;
        self.install(parts.file.clone().with_channels(parts.channels.iter().cloned()));
    }

    fn install(&self, registry: Registry) {
        let old = self.registry.load_full();
        for host in old.hosts() {
            let kept = registry.get(&host.name);
            if kept.is_none_or(|h| h.url != host.url || h.token != host.token || h.channel != host.channel) {
                self.prober.forget(&host.name);
            }
            if let (Some(fallback), Some(ssh)) = (&self.fallback, &host.ssh)
                && kept.is_none_or(|h| h.ssh != host.ssh)
            {
                fallback.forget(ssh);
            }
        }
        if let Some(fallback) = &self.fallback {
            fallback.reconfigure(&registry);
        }
        self.health.set_config(registry.health().clone());
        self.health.set_hosts(registry.hosts().iter().cloned());
        self.registry.store(Arc::new(registry));
    }

    /// The registry in force.
    pub fn registry(&self) -> Arc<Registry> {
        self.registry.load_full()
    }

    /// The health tracker.
    pub fn health(&self) -> &Health {
        &self.health
    }

    /// The agent sessions (shared with the probes).
    pub fn prober(&self) -> &McpProber {
        &self.prober
    }

    /// The ssh fallback, if the hub has one.
    pub fn fallback(&self) -> Option<&Arc<dyn Fallback>> {
        self.fallback.as_ref()
    }

    /// Call path settings.
    pub fn config(&self) -> &CallConfig {
        &self.config
    }

    /// A relay to `host`'s agent over the session the probes keep warm;
    /// a forwarded request may take up to `timeout`.
    pub fn relay(&self, host: &Host, timeout: Duration) -> Result<Relay, String> {
        Ok(relay_over(self.prober.upstream(host)?, timeout))
    }

    /// The host called `name`.
    pub fn host(&self, name: &str) -> Result<Host, SelectError> {
        let registry = self.registry.load();
        registry
            .get(name)
            .cloned()
            .ok_or_else(|| SelectError::UnknownHost { name: name.into(), known: known(&registry) })
    }

    /// The hosts named in `names` plus those carrying any of `tags`, in
    /// registry order, without duplicates; every host when both are empty.
    pub fn select(&self, names: &[String], tags: &[String]) -> Result<Vec<Host>, SelectError> {
        let registry = self.registry.load();
        if let Some(missing) = names.iter().find(|n| registry.get(n).is_none()) {
            return Err(SelectError::UnknownHost { name: missing.clone(), known: known(&registry) });
        }
        let everything = names.is_empty() && tags.is_empty();
        let wanted: BTreeSet<&str> = names.iter().map(String::as_str).collect();
        let chosen: Vec<Host> = registry
            .hosts()
            .iter()
            .filter(|h| everything || wanted.contains(h.name.as_str()) || h.tags.iter().any(|t| tags.contains(t)))
            .cloned()
            .collect();
        if chosen.is_empty() {
            let what = if everything { "an empty registry".to_owned() } else { format!("tags {tags:?}") };
            return Err(SelectError::Empty(what));
        }
        Ok(chosen)
    }
}

/// A relay over an agent session already in hand; every request names
/// its principal to the agent (see [`herd_proto::OnBehalfOf`]).
pub(crate) fn relay_over(upstream: Arc<HttpUpstream>, timeout: Duration) -> Relay {
    Relay::new(upstream, RelayConfig { call_timeout: timeout, forward_principal: true, ..RelayConfig::default() })
}

fn known(registry: &Registry) -> String {
    const SHOWN: usize = 10;
    let mut names: Vec<&str> = registry.hosts().iter().take(SHOWN).map(|h| h.name.as_str()).collect();
    if registry.len() > SHOWN {
        names.push("…");
    }
    if names.is_empty() { "none".into() } else { names.join(", ") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fleet() -> Fleet {
        let text = r#"
[[hosts]]
name = "a"
url = "http://127.0.0.1:9/mcp"
tags = ["web"]
[[hosts]]
name = "b"
ssh = "b.lan"
tags = ["web", "db"]
[[hosts]]
name = "c"
ssh = "c.lan"
"#;
        Fleet::new(Registry::parse(text, "t").unwrap(), None, CallConfig::default())
    }

    fn names(hosts: Vec<Host>) -> Vec<String> {
        hosts.into_iter().map(|h| h.name).collect()
    }

    #[tokio::test]
    async fn selects_by_name_and_tag_in_registry_order() {
        let f = fleet();
        assert_eq!(names(f.select(&["c".into()], &["db".into()]).unwrap()), ["b", "c"]);
        assert_eq!(names(f.select(&[], &["web".into()]).unwrap()), ["a", "b"]);
        assert_eq!(names(f.select(&[], &[]).unwrap()), ["a", "b", "c"]);
        assert_eq!(names(f.select(&["a".into(), "a".into()], &["web".into()]).unwrap()), ["a", "b"]);
    }

    #[tokio::test]
    async fn unknown_names_and_empty_selections_are_errors() {
        let f = fleet();
        let err = f.select(&["zz".into()], &[]).unwrap_err();
        assert_eq!(err.to_string(), "unknown host \"zz\" (registered: a, b, c)");
        assert!(matches!(f.select(&[], &["gpu".into()]), Err(SelectError::Empty(_))));
        assert!(f.host("b").is_ok());
    }

    struct Nowhere;

    impl herd_upstream::Tunnel for Nowhere {
        fn send(
            &self,
            _: http::Request<http_body_util::Full<bytes::Bytes>>,
        ) -> herd_proto::BoxFuture<'static, Result<http::Response<hyper::body::Incoming>, herd_upstream::TunnelError>>
        {
            Box::pin(async { Err(herd_upstream::TunnelError::NotConnected("nowhere".into())) })
        }
    }

    #[tokio::test]
    async fn hosts_that_joined_over_a_channel_outlive_a_reload() {
        let f = fleet();
        let link = TunnelLink(Arc::new(Nowhere));
        f.set_channels(vec![("ws1".into(), link.clone()), ("c".into(), link.clone())]);
        assert_eq!(names(f.select(&[], &[]).unwrap()), ["a", "b", "c", "ws1"]);
        assert_eq!(f.host("c").unwrap().channel.as_ref(), Some(&link), "the file's c is reached over its channel");
        f.replace(Registry::parse("[[hosts]]\nname = \"d\"\nssh = \"d.lan\"\n", "t").unwrap());
        assert_eq!(names(f.select(&[], &[]).unwrap()), ["d", "ws1", "c"]);
        assert_eq!(f.health().snapshot().len(), 3);
    }

    #[tokio::test]
    async fn replace_swaps_the_host_set() {
        let f = fleet();
        f.replace(Registry::parse("[[hosts]]\nname = \"d\"\nssh = \"d.lan\"\n", "t").unwrap());
        assert!(f.host("a").is_err());
        assert_eq!(names(f.select(&[], &[]).unwrap()), ["d"]);
        assert_eq!(f.health().snapshot().keys().collect::<Vec<_>>(), ["d"]);
    }
}
