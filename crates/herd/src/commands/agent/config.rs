//! The agent's config file (`herd agent --config FILE`): its token, the
//! hub it joined (and may connect out to), and the stdio MCP servers it supervises.
//!
//! ```toml
//! name = "gpu1"                      # as grants name this host (default: the hostname)
//! token_env = "HERD_AGENT_TOKEN"     # or token = "..."
//! servers_dir = "/var/lib/herd/servers"  # default: $HERD_HOME/servers
//!
//! hub = "https://hub.lan:7800"       # the hub it joined (written by `herd init agent`)
//! hub_token_env = "HERD_HUB_TOKEN"   # with it: connect out to that hub over a channel,
//!                                    # with this token of an `agent` (or admin) user
//! hub_ca = "/etc/herd/hub-ca.pem"    # default: the system's roots
//!
//! [audit]
//! sync = "normal"                    # or "full": each call's record survives
//!                                    # power loss too, not only a killed agent
//!
//! [channel]                          # all optional, in seconds
//! heartbeat = 30
//! timeout = 60                       # an unanswered PING ends the connection
//! reconnect_min = 5
//! reconnect_max = 60
//!
//! [[servers]]
//! name = "time"
//! uvx = "mcp-server-time"
//!
//! [[servers]]
//! name = "everything"
//! npx = "@modelcontextprotocol/server-everything"
//! env = { LOG_LEVEL = "info" }
//!
//! [[llm]]                            # a local OpenAI-compatible server, published
//! name = "qwen3-8b"                  # to the hub over the channel (see herd-llm)
//! url = "http://127.0.0.1:11434/v1"
//! api_key_env = "OLLAMA_KEY"         # never inherited by the agent's children
//! wake = { command = ["wakeonlan", "aa:bb:cc:dd:ee:ff"], max_wait = "120s" }
//!
//! [[preset]]
//! name = "reviewer"
//! llm = "qwen3-8b"
//! system = "You review code for correctness first."
//! ```
//!
//! Every server and llm is validated before any starts, so a bad entry
//! stops the agent with a message naming it instead of starting half the
//! list.

use anyhow::{Context as _, bail};
use herd_channel::AgentChannelConfig;
use herd_llm::agent::{LlmConfig, PresetConfig};
use herd_runner::ServerSpec;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The parsed config.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AgentConfig {
    /// The host's name for the policy of calls made to this agent directly
    /// (`--hosts` grants); the name a hub's registry gives it may differ.
    name: Option<String>,
    token: Option<String>,
    token_env: Option<String>,
    /// Where servers are installed.
    pub(crate) servers_dir: Option<PathBuf>,
    /// The servers to supervise.
    #[serde(default)]
    pub(crate) servers: Vec<ServerSpec>,
    /// The hub this agent joined (`herd init agent`); with
    /// `hub_token_env` the agent connects out to it over a channel, without
    /// it the hub dials the agent.
    hub: Option<String>,
    hub_token_env: Option<String>,
    hub_ca: Option<PathBuf>,
    /// Timing of the channel.
    #[serde(default)]
    channel: ChannelTable,
    /// How the audit of calls made to this agent is kept.
    #[serde(default)]
    pub(crate) audit: AuditTable,
    /// Local LLM servers published to the hub over the channel.
    #[serde(default)]
    pub(crate) llm: Vec<LlmConfig>,
    /// Named system prompts over them.
    #[serde(default)]
    pub(crate) preset: Vec<PresetConfig>,
}

/// The `[audit]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuditTable {
    /// What a commit of the agent's SQLite state survives.
    #[serde(default)]
    pub(crate) sync: herd_store::Durability,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChannelTable {
    heartbeat: Option<f64>,
    timeout: Option<f64>,
    reconnect_min: Option<f64>,
    reconnect_max: Option<f64>,
}

impl AgentConfig {
    /// Reads and checks `path`.
    pub(crate) fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("in {}", path.display()))
    }

    fn parse(text: &str) -> anyhow::Result<Self> {
        // toml's own rendering quotes the offending line, which may be the
        // token's: say where and what, never the text.
        let config: Self = toml::from_str(text).map_err(|e| {
            let before = e.span().and_then(|s| text.get(..s.start)).unwrap_or("");
            let line = before.matches('\n').count() + 1;
            match table_of(before) {
                Some(table) => anyhow::anyhow!("line {line} (in {table}): {}", e.message().trim()),
                None => anyhow::anyhow!("line {line}: {}", e.message().trim()),
            }
        })?;
        if config.token.is_some() && config.token_env.is_some() {
            bail!("give token or token_env, not both");
        }
        match (&config.hub, &config.hub_token_env) {
            (Some(hub), Some(_)) if !hub.starts_with("https://") && !hub.starts_with("http://") => {
                bail!("hub must be an http:// or https:// URL")
            }
            (None, Some(_)) => bail!("hub_token_env is set but hub is not"),
            _ => {}
        }
        herd_llm::agent::validate(&config.llm, &config.preset)?;
        if !config.llm.is_empty() && config.hub_token_env.is_none() {
            bail!("[[llm]] is published to the hub over the channel: set hub and hub_token_env");
        }
        if config.llm.is_empty() && !config.preset.is_empty() {
            bail!("[[preset]] needs an [[llm]] to run on");
        }
        let mut names = std::collections::BTreeSet::new();
        for spec in &config.servers {
            spec.validate()?;
            if !names.insert(spec.name.as_str()) {
                bail!("server {:?} is declared twice", spec.name);
            }
        }
        Ok(config)
    }

    /// The name grants know this host by: `name`, else the machine's
    /// hostname.
    pub(crate) fn host_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| {
            let name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
            let name = name.trim();
            if name.is_empty() { "localhost".to_owned() } else { name.to_owned() }
        })
    }

    /// The environment variables this config reads secrets from, which
    /// no child of the agent may inherit.
    pub(crate) fn secret_vars(&self) -> impl Iterator<Item = String> {
        let api_keys = self.llm.iter().filter_map(|llm| llm.api_key_env.as_ref());
        self.token_env.iter().chain(&self.hub_token_env).chain(api_keys).cloned()
    }

    /// The channel to the hub, when the config names a hub and the token
    /// to connect out to it with: its session id
    /// is kept in `home`.
    pub(crate) fn channel(&self, home: Option<&Path>) -> anyhow::Result<Option<AgentChannelConfig>> {
        let (Some(hub), Some(var)) = (&self.hub, &self.hub_token_env) else { return Ok(None) };
        let token = match std::env::var(var) {
            Ok(token) if !token.is_empty() => token,
            _ => bail!("hub_token_env names {var}, which is not set"),
        };
        let home = home.context("the channel keeps its session id in the state directory; set HERD_HOME")?;
        let session = herd_channel::session_id(home)
            .with_context(|| format!("cannot keep the channel's session id in {}", home.display()))?;
        let mut config = AgentChannelConfig::new(hub, token, self.host_name(), session);
        if let Some(ca) = &self.hub_ca {
            config.ca = Some(herd_upstream::TrustedCa::load(ca)?);
        }
        let table = &self.channel;
        let seconds = |name: &str, value: Option<f64>, default: Duration| -> anyhow::Result<Duration> {
            match value {
                None => Ok(default),
                Some(s) if s.is_finite() && (0.01..=3600.0).contains(&s) => Ok(Duration::from_secs_f64(s)),
                Some(s) => bail!("channel.{name} = {s}: give seconds between 0.01 and 3600"),
            }
        };
        config.heartbeat = seconds("heartbeat", table.heartbeat, config.heartbeat)?;
        config.timeout = seconds("timeout", table.timeout, config.timeout)?;
        config.reconnect_min = seconds("reconnect_min", table.reconnect_min, config.reconnect_min)?;
        config.reconnect_max =
            seconds("reconnect_max", table.reconnect_max, config.reconnect_max)?.max(config.reconnect_min);
        Ok(Some(config))
    }

    /// The token clients must present, if the config names one.
    pub(crate) fn token(&self) -> anyhow::Result<Option<String>> {
        match (&self.token, &self.token_env) {
            (Some(token), _) => Ok(Some(token.clone())),
            (None, Some(var)) => match std::env::var(var) {
                Ok(token) if !token.is_empty() => Ok(Some(token)),
                _ => bail!("token_env names {var}, which is not set"),
            },
            (None, None) => Ok(None),
        }
    }
}

/// The table header (`[[llm]]`, `[channel]`) the text `before` an error
/// ends in, if any: never a value, only a header line.
fn table_of(before: &str) -> Option<&str> {
    let header = before.lines().rev().map(str::trim).find(|l| l.starts_with('['))?;
    let end = header.rfind(']')?;
    Some(&header[..=end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_are_checked_before_anything_starts() {
        let ok = AgentConfig::parse("[[servers]]\nname = \"time\"\nuvx = \"mcp-server-time\"\n").unwrap();
        assert_eq!(ok.servers.len(), 1);
        let bad = AgentConfig::parse("[[servers]]\nname = \"x\"\nnpx = \"pkg; rm -rf /\"\n").unwrap_err();
        assert!(format!("{bad:#}").contains("npx"), "{bad:#}");
        let twice = "[[servers]]\nname = \"a\"\ncommand = \"x\"\n[[servers]]\nname = \"a\"\ncommand = \"y\"\n";
        assert!(format!("{:#}", AgentConfig::parse(twice).unwrap_err()).contains("twice"));
        let unknown = AgentConfig::parse("tokn = \"x\"\n").unwrap_err();
        assert!(format!("{unknown:#}").contains("tokn"), "{unknown:#}");
    }

    #[test]
    fn a_channel_needs_the_hub_its_token_variable_and_a_usable_url() {
        let ok = AgentConfig::parse("hub = \"https://hub:7800\"\nhub_token_env = \"T\"\n[channel]\nheartbeat = 1\n");
        assert!(ok.is_ok(), "{ok:?}");
        let vars: Vec<String> = ok.unwrap().secret_vars().collect();
        assert_eq!(vars, ["T"]);
        // `herd init agent` writes `hub` alone: the hub dials this agent.
        let dialled = AgentConfig::parse("hub = \"https://hub:7800\"\n").unwrap();
        assert!(dialled.channel(None).unwrap().is_none());
        let stray = AgentConfig::parse("hub_token_env = \"T\"\n").unwrap_err();
        assert!(format!("{stray:#}").contains("hub is not"), "{stray:#}");
        let scheme = AgentConfig::parse("hub = \"hub:7800\"\nhub_token_env = \"T\"\n").unwrap_err();
        assert!(format!("{scheme:#}").contains("http"), "{scheme:#}");
        let unknown = AgentConfig::parse("[channel]\nheartbeet = 1\n").unwrap_err();
        assert!(format!("{unknown:#}").contains("heartbeet"), "{unknown:#}");
    }

    #[test]
    fn audit_commits_survive_a_killed_agent_unless_asked_for_power_loss_too() {
        assert_eq!(AgentConfig::parse("").unwrap().audit.sync, herd_store::Durability::Normal);
        let full = AgentConfig::parse("[audit]\nsync = \"full\"\n").unwrap();
        assert_eq!(full.audit.sync, herd_store::Durability::Full);
        let bad = AgentConfig::parse("[audit]\nsync = \"off\"\n").unwrap_err();
        assert!(format!("{bad:#}").contains("audit"), "{bad:#}");
    }

    #[test]
    fn a_broken_line_is_located_without_quoting_it() {
        let broken = AgentConfig::parse("servers_dir = \"/srv\"\ntoken = \"s3cr3t-t0ken\n").unwrap_err();
        let shown = format!("{broken:#}");
        assert!(shown.starts_with("line 2: "), "{shown}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
    }

    #[test]
    fn llms_are_checked_need_the_channel_and_their_keys_are_secrets() {
        let channel = "hub = \"https://hub:7800\"\nhub_token_env = \"T\"\n";
        let llm = "[[llm]]\nname = \"qwen\"\nurl = \"http://127.0.0.1:11434/v1\"\napi_key_env = \"OLLAMA_KEY\"\n";
        let preset = "[[preset]]\nname = \"reviewer\"\nllm = \"qwen\"\nparams = { temperature = 0.2 }\n";
        let ok = AgentConfig::parse(&format!("{channel}{llm}{preset}")).unwrap();
        assert_eq!((ok.llm.len(), ok.preset.len()), (1, 1));
        assert_eq!(ok.secret_vars().collect::<Vec<_>>(), ["T", "OLLAMA_KEY"]);
        let alone = AgentConfig::parse(llm).unwrap_err();
        assert!(format!("{alone:#}").contains("set hub and hub_token_env"), "{alone:#}");
        let dialled = AgentConfig::parse(&format!("hub = \"https://hub:7800\"\n{llm}")).unwrap_err();
        assert!(format!("{dialled:#}").contains("over the channel"), "{dialled:#}");
        let typo = AgentConfig::parse(&format!("{channel}{llm}max_concurency = 2\n")).unwrap_err();
        let shown = format!("{typo:#}");
        assert!(shown.contains("in [[llm]]") && shown.contains("max_concurency"), "{shown}");
        let orphan = AgentConfig::parse(&format!("{channel}{llm}[[preset]]\nname = \"p\"\nllm = \"nope\"\n"));
        let shown = format!("{:#}", orphan.unwrap_err());
        assert!(shown.contains("[[preset]] \"p\"") && shown.contains("\"nope\""), "{shown}");
        let bad_url = AgentConfig::parse(&format!("{channel}[[llm]]\nname = \"x\"\nurl = \"localhost:1\"\n"));
        assert!(format!("{:#}", bad_url.unwrap_err()).contains("[[llm]] \"x\": url"));
        let lone_preset = AgentConfig::parse(&format!("{channel}{}", preset.replace("qwen", "q"))).unwrap_err();
        assert!(format!("{lone_preset:#}").contains("[[preset]]"), "{lone_preset:#}");
    }
}
