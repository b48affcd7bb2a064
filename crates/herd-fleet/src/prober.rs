//! How one host is asked whether its agent is alive.
//!
//! [`Health`](crate::Health) only needs a yes (with what it learned) or a
//! no (with why); [`Prober`] is that contract, so tests and other
//! transports can stand in. [`McpProber`] is the real one: it opens an MCP
//! session to the agent (`initialize`) and keeps it, so later probes cost a
//! single small request on a warm connection instead of a new session on
//! the agent every time.

use crate::{HealthConfig, Host, Secret};
use herd_proto::{BoxFuture, Message};
use herd_upstream::{HttpUpstream, HttpUpstreamConfig, TrustedCa, TunnelLink, Upstream};
use parking_lot::Mutex;
use serde_json::Value;
use serde_json::value::RawValue;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// What a successful probe learned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProbeOk {
    /// How many tools the agent lists, if the probe asked.
    pub tool_count: Option<usize>,
    /// How long the probe took, as the health tracker measured it.
    pub latency: Option<Duration>,
}

/// Checks one host. The future may take as long as it likes: the caller
/// drops it when the round's budget runs out.
pub trait Prober: Send + Sync + 'static {
    /// Probes `host`; `Err` says why it is considered down.
    fn probe<'a>(&'a self, host: &'a Host) -> BoxFuture<'a, Result<ProbeOk, String>>;

    /// New health settings are in force: take up what concerns probing.
    fn reconfigure(&self, _config: &HealthConfig) {}
}

/// Probes an agent over MCP Streamable HTTP.
pub struct McpProber {
    /// Connect and exchange limits of sessions opened from now on.
    timeouts: Mutex<(Duration, Duration)>,
    count_tools: bool,
    /// Tools whose calls the sessions may send twice (see
    /// [`McpProber::read_only_tools`]).
    read_only_tools: Vec<String>,
    sessions: Mutex<HashMap<String, Session>>,
}

struct Session {
    url: String,
    token: Option<Secret>,
    ca: Option<TrustedCa>,
    channel: Option<TunnelLink>,
    upstream: Arc<HttpUpstream>,
}

impl Session {
    /// Whether this session reaches `host` as it is configured now.
    fn serves(&self, host: &Host) -> bool {
        match &host.channel {
            Some(channel) => self.channel.as_ref() == Some(channel),
            None => {
                self.channel.is_none()
                    && host.url.as_deref() == Some(self.url.as_str())
                    && self.token == host.token
                    && self.ca == host.ca
            }
        }
    }
}

/// The MCP endpoint of an agent reached over its channel: the request's
/// target names the host; the agent serves its MCP path there.
pub(crate) fn channel_url(host: &str) -> String {
    format!("http://{host}/mcp")
}

/// Where `host`'s agent is reached: its channel, else its url.
fn endpoint(host: &Host) -> Result<String, String> {
    match (&host.channel, &host.url) {
        (Some(_), _) => Ok(channel_url(&host.name)),
        (None, Some(url)) => Ok(url.clone()),
        (None, None) => Err("no agent url configured".to_owned()),
    }
}

/// Most `tools/list` pages followed when counting tools.
const MAX_PAGES: usize = 16;

/// A session's exchange timeout is the round budget plus this, so the
/// round's own deadline is what cuts a silent host (and its wording is
/// what the host's state says), never a timer racing it to the same instant.
const PAST_BUDGET: Duration = Duration::from_millis(250);

impl McpProber {
    /// A prober with `config`'s connect timeout and just over the round
    /// budget as its exchange timeout; it counts tools.
    pub fn new(config: &HealthConfig) -> Self {
        Self {
            timeouts: Mutex::new((config.connect_timeout, config.budget + PAST_BUDGET)),
            count_tools: true,
            read_only_tools: Vec::new(),
            sessions: Mutex::new(HashMap::new()),
        }
    }

    /// Whether a probe also lists tools (one more request) to report how
    /// many there are; without it a warm session is checked with `ping`.
    pub fn count_tools(mut self, yes: bool) -> Self {
        self.count_tools = yes;
        self
    }

    /// Names the agent tools that only read: a call to one sent through
    /// these sessions that meets a connection the agent closed under it is
    /// sent once more on a fresh connection, as probes are.
    pub fn read_only_tools(mut self, tools: &[&str]) -> Self {
        self.read_only_tools = tools.iter().map(|&tool| tool.to_owned()).collect();
        self
    }

    /// The MCP session to `host`'s agent that probes use, made if needed:
    /// calls sent through it ride the connection the probes keep warm.
    pub fn upstream(&self, host: &Host) -> Result<Arc<HttpUpstream>, String> {
        self.session(host, &endpoint(host)?)
    }

    /// The session the probes keep for `host` as it is configured now, if
    /// there is one; never makes one. A host value from an older registry
    /// (another url, token or CA) finds nothing, so it cannot displace the
    /// session of the host that replaced it.
    pub fn existing(&self, host: &Host) -> Option<Arc<HttpUpstream>> {
        let sessions = self.sessions.lock();
        let s = sessions.get(&host.name)?;
        s.serves(host).then(|| s.upstream.clone())
    }

    /// Forgets the session of a host that left the registry.
    pub fn forget(&self, name: &str) {
        self.sessions.lock().remove(name);
    }

    fn session(&self, host: &Host, url: &str) -> Result<Arc<HttpUpstream>, String> {
        let mut sessions = self.sessions.lock();
        if let Some(s) = sessions.get(&host.name)
            && s.serves(host)
        {
            return Ok(s.upstream.clone());
        }
        let (connect_timeout, exchange_timeout) = *self.timeouts.lock();
        let config = HttpUpstreamConfig {
            token: host.token.as_ref().map(|t| t.expose().to_owned()),
            ca: host.ca.clone(),
            connect_timeout,
            exchange_timeout,
            read_only_tools: self.read_only_tools.clone(),
            tunnel: host.channel.clone(),
            ..HttpUpstreamConfig::new(url)
        };
        let upstream = Arc::new(HttpUpstream::new(config).map_err(|e| e.to_string())?);
        let session = Session {
            url: url.to_owned(),
            token: host.token.clone(),
            ca: host.ca.clone(),
            channel: host.channel.clone(),
            upstream: upstream.clone(),
        };
        sessions.insert(host.name.clone(), session);
        Ok(upstream)
    }

    async fn check(&self, upstream: &HttpUpstream) -> Result<ProbeOk, String> {
        let opened = upstream.connect().await.map_err(|e| e.to_string())?;
        if self.count_tools {
            return count_tools(upstream).await.map(|n| ProbeOk { tool_count: Some(n), latency: None });
        }
        if opened.is_null() {
            // The session was already open: connect() sent nothing.
            ask(upstream, "ping", None).await?;
        }
        Ok(ProbeOk::default())
    }
}

impl Prober for McpProber {
    /// Sessions opened from now on use the new connect timeout and budget;
    /// open ones keep theirs (a round is cut at its budget either way).
    fn reconfigure(&self, config: &HealthConfig) {
        *self.timeouts.lock() = (config.connect_timeout, config.budget + PAST_BUDGET);
    }

    fn probe<'a>(&'a self, host: &'a Host) -> BoxFuture<'a, Result<ProbeOk, String>> {
        Box::pin(async move {
            let upstream = self.session(host, &endpoint(host)?)?;
            let outcome = self.check(&upstream).await;
            if outcome.is_err() {
                // Start over next time rather than trust a half-dead session.
                let mut sessions = self.sessions.lock();
                if sessions.get(&host.name).is_some_and(|s| Arc::ptr_eq(&s.upstream, &upstream)) {
                    sessions.remove(&host.name);
                }
            }
            outcome
        })
    }
}

async fn count_tools(upstream: &HttpUpstream) -> Result<usize, String> {
    let mut count = 0;
    let mut cursor: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let params = match &cursor {
            Some(c) => {
                Some(RawValue::from_string(serde_json::json!({ "cursor": c }).to_string()).map_err(|e| e.to_string())?)
            }
            None => None,
        };
        let page = ask(upstream, "tools/list", params).await?;
        let tools = page.get("tools").and_then(Value::as_array).ok_or("tools/list answered without `tools`")?;
        count += tools.len();
        cursor = page.get("nextCursor").and_then(Value::as_str).map(str::to_owned);
        if cursor.is_none() {
            break;
        }
    }
    Ok(count)
}

async fn ask(upstream: &HttpUpstream, method: &str, params: Option<Box<RawValue>>) -> Result<Value, String> {
    let (events, _ignored) = mpsc::unbounded_channel::<Message>();
    let response = upstream.request(method, params, Vec::new(), events).response.await.map_err(|e| e.to_string())?;
    let raw = response.into_result().map_err(|e| format!("{method} failed: {}", e.message))?;
    serde_json::from_str(raw.get()).map_err(|e| format!("{method}: unreadable result: {e}"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::Registry;

    fn host(token: &str) -> Host {
        let text = format!("[[hosts]]\nname = \"a\"\nurl = \"http://127.0.0.1:9/mcp\"\ntoken = \"{token}\"\n");
        Registry::parse(&text, "t").unwrap().get("a").cloned().unwrap()
    }

    #[tokio::test]
    async fn existing_finds_only_the_session_of_the_host_as_configured_now() {
        let prober = McpProber::new(&HealthConfig::default());
        let (old, new) = (host("t-1"), host("t-2"));
        assert!(prober.existing(&old).is_none(), "existing never makes a session");
        let made = prober.upstream(&old).unwrap();
        assert!(Arc::ptr_eq(&prober.existing(&old).unwrap(), &made));
        let replaced = prober.upstream(&new).unwrap();
        assert!(prober.existing(&old).is_none(), "an older host value finds nothing");
        assert!(Arc::ptr_eq(&prober.existing(&new).unwrap(), &replaced));
        prober.forget("a");
        assert!(prober.existing(&new).is_none());
    }
}
