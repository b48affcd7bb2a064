//! The hosts registry: which hosts exist and how each one is reached.
//!
//! Two file formats are read: TOML (`[[hosts]]` tables, plus optional
//! `[health]` settings) and, for migration, the seed hub's whitespace
//! format (`name ssh_host lmcp_url token`). The format is told from the
//! content; both end in the same checks (valid and unique names, usable
//! URLs and ssh targets, no plaintext agent beyond loopback unless the host
//! allows it), and every error names the file and line.

mod check;
mod plain;
mod toml_format;

#[cfg(test)]
mod tests;

use crate::{HealthConfig, Secret};
use herd_upstream::{TrustedCa, TunnelLink};
use std::collections::HashMap;
use std::path::Path;

/// One host of the fleet. `Debug` shows its URL without credentials and
/// never its token.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Host {
    /// Unique name, `^[a-zA-Z0-9_.-]{1,64}$`.
    pub name: String,
    /// The agent's MCP endpoint (`http://` or `https://`), if it has one.
    pub url: Option<String>,
    /// Bearer token the agent expects.
    pub token: Option<Secret>,
    /// ssh destination for the fallback path, if any.
    pub ssh: Option<String>,
    /// Free-form labels used to select groups of hosts.
    pub tags: Vec<String>,
    /// Which of the agent's tools, resources and prompts the hub offers
    /// first-class, if any.
    pub expose: Option<Exposure>,
    /// For an `https://` agent: the CA its certificate is checked against
    /// (the host's `ca`, else the file's `[tls] ca`), else the system's roots.
    pub ca: Option<TrustedCa>,
    /// Allows an `http://` URL to a host that is not loopback: the token
    /// and everything the agent runs cross the network in plaintext.
    pub insecure_http: bool,
    /// Its agent connects out to the hub (`channel = true`): it has no
    /// url, and is reached once its channel is open.
    pub by_channel: bool,
    /// The connection the host's agent opened to the hub, when it joined
    /// that way: every request to the agent goes through it, never to `url`.
    pub channel: Option<TunnelLink>,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("name", &self.name)
            .field("url", &self.url.as_deref().map(herd_proto::redact_url))
            .field("token", &self.token)
            .field("ssh", &self.ssh)
            .field("tags", &self.tags)
            .field("expose", &self.expose)
            .field("ca", &self.ca)
            .field("insecure_http", &self.insecure_http)
            .field("by_channel", &self.by_channel)
            .field("channel", &self.channel.is_some())
            .finish()
    }
}

/// What a hub offers of one host's agent under its own names, beside the
/// `remote_*` tools.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exposure {
    /// Tool names to expose; `*` exposes every tool.
    pub tools: Vec<String>,
    /// Put before each exposed tool and prompt name (`^[a-zA-Z0-9_-]{0,32}$`).
    pub prefix: String,
    /// Whether the agent's resources and templates are offered too.
    pub resources: bool,
    /// Whether the agent's prompts are offered too.
    pub prompts: bool,
}

impl Default for Exposure {
    fn default() -> Self {
        Self { tools: vec!["*".into()], prefix: String::new(), resources: true, prompts: true }
    }
}

impl Exposure {
    /// Whether tool `name` (as the agent calls it) is exposed.
    pub fn exposes_tool(&self, name: &str) -> bool {
        self.tools.iter().any(|t| t == "*" || t == name)
    }
}

/// How the hub reaches hosts over ssh, from the file's `[ssh]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshSettings {
    /// An ssh client configuration passed to ssh as `-F`.
    pub config_file: Option<std::path::PathBuf>,
    /// Limit for establishing a connection (5 s).
    pub connect_timeout: std::time::Duration,
    /// Hard wall-clock cap of one call beyond the tool's own timeout (30 s).
    pub call_timeout: std::time::Duration,
    /// Interval of keepalive probes on an open connection (5 s).
    pub keepalive: std::time::Duration,
}

impl Default for SshSettings {
    fn default() -> Self {
        use std::time::Duration;
        Self {
            config_file: None,
            connect_timeout: Duration::from_secs(5),
            call_timeout: Duration::from_secs(30),
            keepalive: Duration::from_secs(5),
        }
    }
}

/// Which file format a registry is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `[[hosts]]` tables.
    Toml,
    /// The seed hub's `name ssh_host lmcp_url token` lines.
    Plain,
}

impl Format {
    /// Tells the format from the first line that is neither blank nor a
    /// comment: TOML starts with a `[table]` or a `key = value`; a plain
    /// line never has a bare key before its first `=` (tokens may contain
    /// `=`, but only after a space-separated name).
    pub fn detect(text: &str) -> Format {
        let first = text.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with('#'));
        let Some(line) = first else { return Format::Toml };
        if line.starts_with('[') {
            return Format::Toml;
        }
        match line.split_once('=') {
            Some((key, _)) => {
                let key = key.trim();
                let bare =
                    !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
                if bare || key.starts_with('"') { Format::Toml } else { Format::Plain }
            }
            None => Format::Plain,
        }
    }
}

/// Why a registry could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// The file could not be read.
    #[error("cannot read {path}: {reason}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        reason: String,
    },
    /// Something in the file is wrong.
    #[error("{origin}:{line}: {message}")]
    Invalid {
        /// The file (or another name for the text).
        origin: String,
        /// 1-based line of the offending entry.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// The hosts of the fleet, in file order, plus the health settings the
/// file gave (defaults otherwise).
#[derive(Debug, Clone, Default)]
pub struct Registry {
    hosts: Vec<Host>,
    index: HashMap<String, (usize, usize)>,
    health: HealthConfig,
    ssh: SshSettings,
}

/// A host as read, before the checks; `line` is where it was defined.
#[derive(Debug)]
pub(crate) struct Draft {
    pub(crate) host: Host,
    pub(crate) line: usize,
}

impl Registry {
    /// Reads the registry at `path`; `token_env` variables come from this
    /// process's environment.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, RegistryError> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| RegistryError::Read { path: shown.clone(), reason: e.to_string() })?;
        Self::parse(&text, &shown)
    }

    /// Parses `text` (named `origin` in errors), reading `token_env`
    /// variables from this process's environment.
    pub fn parse(text: &str, origin: &str) -> Result<Self, RegistryError> {
        Self::parse_with(text, origin, &|name| std::env::var(name).ok())
    }

    /// Parses `text` (named `origin` in errors), looking `token_env`
    /// variables up with `env`.
    pub fn parse_with(text: &str, origin: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Self, RegistryError> {
        let invalid =
            |line: usize, message: String| RegistryError::Invalid { origin: origin.to_owned(), line, message };
        let (drafts, health, ssh) = match Format::detect(text) {
            Format::Toml => toml_format::parse(text, env).map_err(|(line, m)| invalid(line, m))?,
            Format::Plain => {
                let drafts = plain::parse(text).map_err(|(line, m)| invalid(line, m))?;
                (drafts, HealthConfig::default(), SshSettings::default())
            }
        };
        let mut registry = Registry { health, ssh, ..Registry::default() };
        for draft in drafts {
            registry.add(draft).map_err(|(line, m)| invalid(line, m))?;
        }
        Ok(registry)
    }

    fn add(&mut self, draft: Draft) -> Result<(), (usize, String)> {
        let Draft { host, line } = draft;
        check::host(&host).map_err(|m| (line, m))?;
        if let Some((_, first)) = self.index.get(&host.name) {
            return Err((line, format!("duplicate host name {:?} (first defined on line {first})", host.name)));
        }
        self.index.insert(host.name.clone(), (self.hosts.len(), line));
        self.hosts.push(host);
        Ok(())
    }

    /// This registry plus `hosts` (checked like the file's; a name already
    /// taken is an error).
    pub fn with_hosts(mut self, hosts: impl IntoIterator<Item = Host>) -> Result<Self, RegistryError> {
        for host in hosts {
            let name = host.name.clone();
            self.add(Draft { host, line: 0 }).map_err(|(_, message)| RegistryError::Invalid {
                origin: format!("host {name}"),
                line: 0,
                message,
            })?;
        }
        Ok(self)
    }

    /// This registry plus the hosts whose agents joined over a channel
    /// (name and the tunnel to it): a host of that name already here is
    /// reached through its channel from now on, keeping its tags, ssh and
    /// exposure; any other joins with only its name. A host the file
    /// reaches by its agent's URL keeps that path: a channel claiming its
    /// name is left out, so nobody who may connect a channel can draw
    /// another agent's calls to a machine of their own. Names that are not
    /// valid host names are left out too.
    pub fn with_channels(mut self, channels: impl IntoIterator<Item = (String, TunnelLink)>) -> Self {
        for (name, link) in channels {
            if let Some((i, _)) = self.index.get(&name) {
                if let Some(host) = self.hosts.get_mut(*i)
                    && host.url.is_none()
                {
                    host.by_channel = true;
                    host.channel = Some(link);
                }
                continue;
            }
            if !check::valid_name(&name) {
                continue;
            }
            self.index.insert(name.clone(), (self.hosts.len(), 0));
            self.hosts.push(Host { name, by_channel: true, channel: Some(link), ..Host::default() });
        }
        self
    }

    /// All hosts, in file order.
    pub fn hosts(&self) -> &[Host] {
        &self.hosts
    }

    /// The host called `name`.
    pub fn get(&self, name: &str) -> Option<&Host> {
        self.index.get(name).and_then(|(i, _)| self.hosts.get(*i))
    }

    /// Hosts that carry `tag`.
    pub fn tagged<'a>(&'a self, tag: &'a str) -> impl Iterator<Item = &'a Host> + 'a {
        self.hosts.iter().filter(move |h| h.tags.iter().any(|t| t == tag))
    }

    /// How many hosts there are.
    pub fn len(&self) -> usize {
        self.hosts.len()
    }

    /// Whether there are no hosts.
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty()
    }

    /// The health settings from the file's `[health]` table (or defaults).
    pub fn health(&self) -> &HealthConfig {
        &self.health
    }

    /// The ssh settings from the file's `[ssh]` table (or defaults).
    pub fn ssh(&self) -> &SshSettings {
        &self.ssh
    }
}
