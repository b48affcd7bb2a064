//! What a supervised server is: where it comes from, how it runs, and how
//! hard to try keeping it alive.
//!
//! A spec arrives from the agent's config (`[[servers]]`) or from a client
//! (the `servers_load` tool), so every field is untrusted. Validation is
//! strict where a value becomes an argument of an installer (package names,
//! git URLs, branches: no leading `-`, no whitespace, no shell or git
//! transport tricks) and plain elsewhere: a `command`'s `args` and `env`
//! values are handed to the program as they are, never to a shell.

mod check;
#[cfg(test)]
mod tests;

pub(crate) use check::seconds;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// A server to supervise, as declared.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ServerSpec {
    /// Its name on this agent; its tools are offered as `name__tool`.
    pub name: String,
    /// An npm package run like `npx` would (e.g. `@scope/pkg@1.2.3`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub npx: Option<String>,
    /// A PyPI package run like `uvx` would (e.g. `mcp-server-time==0.6.2`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uvx: Option<String>,
    /// A git repository to clone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<String>,
    /// The branch or tag of `git` (default: the remote's default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// A local directory holding the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// The program to run: alone, or inside the `git`/`path` directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Which executable of an `npx`/`uvx` package (default: the one named
    /// like the package).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bin: Option<String>,
    /// Arguments, passed as they are.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Extra environment, passed as it is. Values are never shown.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Start with the agent (config) or at once (tool). Default true.
    #[serde(default = "yes")]
    pub autostart: bool,
    /// When to start it again after it exits.
    #[serde(default)]
    pub restart: Restart,
    /// Restarts in a row before giving up (state `crashed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_restarts: Option<u32>,
    /// Seconds before the first restart; doubles each time, up to a
    /// minute (default 1; 0 to 60).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_delay: Option<f64>,
    /// Seconds one call may take (default: the agent's setting; more than
    /// 0, at most 86 400).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_timeout: Option<f64>,
}

fn yes() -> bool {
    true
}

/// When a server that exited is started again.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Restart {
    /// After it exits for any reason but a stop (default).
    #[default]
    OnFailure,
    /// Never: an exit ends in `crashed`.
    Never,
}

/// Where a server comes from, once validated.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// `npx`: an npm package.
    Npm {
        /// The package spec.
        package: String,
        /// Which of its executables.
        bin: Option<String>,
    },
    /// `uvx`: a PyPI package.
    Pypi {
        /// The requirement.
        package: String,
        /// Which of its executables.
        bin: Option<String>,
    },
    /// A git checkout, run with `command` or as its manifest says.
    Git {
        /// The repository.
        url: String,
        /// Branch or tag.
        branch: Option<String>,
        /// The program inside the checkout.
        command: Option<String>,
    },
    /// A local directory, run with `command` or as its manifest says.
    Dir {
        /// The directory.
        path: PathBuf,
        /// The program inside it.
        command: Option<String>,
    },
    /// A plain program.
    Command {
        /// The program.
        program: String,
    },
}

impl Source {
    /// A short description for listings and the install stamp; a git URL's
    /// credentials are hidden.
    pub fn describe(&self) -> String {
        match self {
            Self::Npm { package, .. } => format!("npx {package}"),
            Self::Pypi { package, .. } => format!("uvx {package}"),
            Self::Git { url, branch: Some(b), .. } => format!("git {}#{b}", herd_proto::redact_url(url)),
            Self::Git { url, .. } => format!("git {}", herd_proto::redact_url(url)),
            Self::Dir { path, .. } => format!("path {}", path.display()),
            Self::Command { program } => format!("command {program}"),
        }
    }
}

/// A spec that cannot be used, and why.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("server {name:?}: {reason}")]
pub struct SpecError {
    /// The server's name as given.
    pub name: String,
    /// What is wrong.
    pub reason: String,
}

impl ServerSpec {
    /// Checks every field and says where the server comes from.
    pub fn validate(&self) -> Result<Source, SpecError> {
        check::spec(self).map_err(|reason| SpecError { name: self.name.clone(), reason })
    }

    /// Restarts allowed in a row.
    pub fn max_restarts(&self) -> u32 {
        self.max_restarts.unwrap_or(5)
    }

    /// The delay before restart number `n` (0-based): doubling, capped at a
    /// minute.
    pub fn restart_delay(&self, n: u32) -> Duration {
        let first = self.restart_delay.filter(|s| s.is_finite() && *s >= 0.0).unwrap_or(1.0);
        let secs = (first * 2f64.powi(n.min(16) as i32)).min(check::MAX_RESTART_DELAY);
        Duration::try_from_secs_f64(secs).unwrap_or(Duration::from_secs(1))
    }

    /// How long one call may take, when the spec says (validation keeps it
    /// within a day; a value that is no duration counts as unset).
    pub fn call_timeout(&self) -> Option<Duration> {
        self.call_timeout.and_then(|s| Duration::try_from_secs_f64(s).ok()).filter(|d| !d.is_zero())
    }

    /// Keys of `env` (values may be secrets and are never shown).
    pub fn env_keys(&self) -> Vec<&str> {
        self.env.keys().map(String::as_str).collect()
    }
}
