//! The agent's config file (`herd agent --config FILE`): its token and the
//! stdio MCP servers it supervises.
//!
//! ```toml
//! name = "gpu1"                      # as grants name this host (default: the hostname)
//! hub = "https://hub.lan:7800"       # the hub it joined (written by `herd init agent`)
//! token_env = "HERD_AGENT_TOKEN"     # or token = "..."
//! servers_dir = "/var/lib/herd/servers"  # default: $HERD_HOME/servers
//!
//! [[servers]]
//! name = "time"
//! uvx = "mcp-server-time"
//!
//! [[servers]]
//! name = "everything"
//! npx = "@modelcontextprotocol/server-everything"
//! env = { LOG_LEVEL = "info" }
//! ```
//!
//! Every server is validated before any starts, so a bad entry stops the
//! agent with a message naming it instead of starting half the list.

use anyhow::{Context as _, bail};
use herd_runner::ServerSpec;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The parsed config.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AgentConfig {
    /// The host's name for the policy of calls made to this agent directly
    /// (`--hosts` grants); the name a hub's registry gives it may differ.
    name: Option<String>,
    /// The hub this agent joined (`herd init agent`), for the operator's
    /// reference; nothing connects to it yet.
    #[serde(rename = "hub")]
    _hub: Option<String>,
    token: Option<String>,
    token_env: Option<String>,
    /// Where servers are installed.
    pub(crate) servers_dir: Option<PathBuf>,
    /// The servers to supervise.
    #[serde(default)]
    pub(crate) servers: Vec<ServerSpec>,
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
            let line = e.span().map_or(1, |s| text.get(..s.start).map_or(1, |t| t.matches('\n').count() + 1));
            anyhow::anyhow!("line {line}: {}", e.message().trim())
        })?;
        if config.token.is_some() && config.token_env.is_some() {
            bail!("give token or token_env, not both");
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
        self.token_env.iter().cloned()
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
    fn a_broken_line_is_located_without_quoting_it() {
        let broken = AgentConfig::parse("servers_dir = \"/srv\"\ntoken = \"s3cr3t-t0ken\n").unwrap_err();
        let shown = format!("{broken:#}");
        assert!(shown.starts_with("line 2: "), "{shown}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
    }
}
