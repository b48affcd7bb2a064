//! The TOML registry format: `[[hosts]]` tables and an optional `[health]`
//! table.
//!
//! ```toml
//! [health]            # all optional; durations in seconds (or "500ms", "15m")
//! up_ttl = 30         # up_ttl, down_min, down_max: 0 to 86400; the others more than 0
//!                     # and at most 3600 (ssh.call_timeout: 86400)
//! down_min = 60
//! down_max = 900
//! budget = 3
//! connect_timeout = 1
//! max_in_flight = 1024
//!
//! [tls]               # optional: the CA that https:// agents' certificates
//! ca = "/etc/herd/ca.pem"   # are checked against (default: the system's roots)
//!
//! [[hosts]]
//! name = "boltzmann"
//! url = "https://boltzmann.lan:7801/mcp"
//! token_env = "BOLTZMANN_TOKEN"   # or: token = "..."
//! ssh = "boltzmann.lan"
//! tags = ["lab", "gpu"]
//! # optional: offer the agent's own tools (and resources, prompts) first-class
//! expose = { tools = ["*"], prefix = "boltzmann_", resources = true, prompts = true }
//! # optional: this host's own CA, instead of [tls] ca
//! ca = "/etc/herd/lab-ca.pem"
//!
//! [[hosts]]
//! name = "tesla"
//! url = "http://tesla.lan:7801/mcp"
//! insecure_http = true   # required for http:// beyond loopback
//!
//! [[hosts]]
//! name = "ws1"
//! channel = true         # its agent connects out to the hub (no url)
//! expose = {}
//!
//! [ssh]               # all optional
//! config = "/etc/herd/ssh_config"   # passed to ssh as -F
//! connect_timeout = 5
//! call_timeout = 30   # hard cap beyond a tool's own timeout
//! keepalive = 5
//!
//! [audit]             # the hub's, read by herd-admin: retention = "90d"
//!
//! [fleet_ca]          # the hub's (from `herd init hub`): cert = "...", key = "..."
//!
//! [channels]          # the hub's, for agents that connect out: heartbeat = 30
//!
//! [llm]               # the hub's LLM relay: queue_wait = 30, stall_timeout = 120
//! ```
//!
//! Unknown keys are errors, so a typo does not silently fall back to a
//! default. `token_env` and CA files are read when the file is loaded.

use super::{Draft, Host};
use crate::{Exposure, HealthConfig, Secret, SshSettings};
use herd_upstream::TrustedCa;
use serde::Deserialize;
use std::time::Duration;
use toml::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    hosts: Vec<Spanned<Entry>>,
    health: Option<Spanned<HealthTable>>,
    ssh: Option<Spanned<SshTable>>,
    tls: Option<Spanned<TlsTable>>,
    /// `[auth]` (`[auth.oauth]`) belongs to the hub, which reads it itself.
    #[serde(default, rename = "auth")]
    _auth: Option<toml::Value>,
    /// The hub's audit settings, read by herd-admin; not the registry's.
    #[serde(rename = "audit")]
    _audit: Option<toml::Table>,
    /// The fleet CA the hub signs agents' certificates with, read by the
    /// hub; not the registry's.
    #[serde(rename = "fleet_ca")]
    _fleet_ca: Option<toml::Table>,
    /// The hub's settings for agents' channels, read by the hub; not the
    /// registry's.
    #[serde(rename = "channels")]
    _channels: Option<toml::Table>,
    /// The hub's LLM relay settings, read by the hub; not the registry's.
    #[serde(rename = "llm")]
    _llm: Option<toml::Table>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsTable {
    ca: Option<std::path::PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SshTable {
    config: Option<std::path::PathBuf>,
    connect_timeout: Option<Seconds>,
    call_timeout: Option<Seconds>,
    keepalive: Option<Seconds>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExposeTable {
    tools: Option<Vec<String>>,
    prefix: Option<String>,
    resources: Option<bool>,
    prompts: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: String,
    url: Option<String>,
    token: Option<String>,
    token_env: Option<String>,
    ssh: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    expose: Option<ExposeTable>,
    ca: Option<std::path::PathBuf>,
    #[serde(default)]
    insecure_http: bool,
    #[serde(default)]
    channel: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HealthTable {
    up_ttl: Option<Seconds>,
    down_min: Option<Seconds>,
    down_max: Option<Seconds>,
    budget: Option<Seconds>,
    connect_timeout: Option<Seconds>,
    max_in_flight: Option<usize>,
}

/// A duration: a number of seconds (`30`, `1.5`) or a string with a unit
/// (`"500ms"`, `"30s"`, `"15m"`, `"1h"`).
#[derive(Clone, Copy)]
struct Seconds(f64);

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Seconds;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(r#"a number of seconds or a string like "500ms", "30s", "15m", "1h""#)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Seconds, E> {
                Ok(Seconds(v as f64))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Seconds, E> {
                Ok(Seconds(v as f64))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Seconds, E> {
                Ok(Seconds(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Seconds, E> {
                let split = v.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(v.len());
                let (number, unit) = v.split_at(split);
                let scale = match unit.trim() {
                    "ms" => 0.001,
                    "s" | "" => 1.0,
                    "m" => 60.0,
                    "h" => 3600.0,
                    _ => return Err(E::invalid_value(serde::de::Unexpected::Str(v), &self)),
                };
                let number: f64 = number.parse().map_err(|_| E::invalid_value(serde::de::Unexpected::Str(v), &self))?;
                Ok(Seconds(number * scale))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// The range a duration of the file must fall in.
#[derive(Clone, Copy)]
struct Range {
    /// 0 is allowed (else it must be more than 0).
    zero_ok: bool,
    /// The longest allowed.
    max: Duration,
}

/// A day: the longest cache lifetime or call cap the file may set.
const DAY: Range = Range { zero_ok: true, max: Duration::from_secs(86_400) };
/// More than 0, at most a day.
const POSITIVE_DAY: Range = Range { zero_ok: false, ..DAY };
/// More than 0, at most an hour: connect timeouts, intervals, budgets.
const POSITIVE_HOUR: Range = Range { zero_ok: false, max: Duration::from_secs(3600) };

impl Seconds {
    /// The duration, when it lies in `range`; else an error naming `key`
    /// and the range, so nothing later computes with an absurd duration.
    fn get(self, key: &str, range: Range) -> Result<Duration, String> {
        let max = range.max.as_secs();
        let (low_ok, low) =
            if range.zero_ok { (self.0 >= 0.0, "from 0 s to") } else { (self.0 > 0.0, "more than 0 s and at most") };
        match Duration::try_from_secs_f64(self.0) {
            Ok(d) if low_ok && d <= range.max => Ok(d),
            _ => Err(format!("{key} must be {low} {max} s, not {}", self.0)),
        }
    }
}

/// The hosts and health settings in `text`, or the 1-based line and reason
/// of the first problem.
pub(super) fn parse(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Vec<Draft>, HealthConfig, SshSettings), (usize, String)> {
    let line_of = |offset: usize| text.get(..offset).map_or(1, |s| s.matches('\n').count() + 1);
    let file: File = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(1, |s| line_of(s.start));
        (line, e.message().trim().to_owned())
    })?;
    let health = match file.health {
        None => HealthConfig::default(),
        Some(table) => {
            let line = line_of(table.span().start);
            health(table.into_inner()).map_err(|m| (line, m))?
        }
    };
    let ssh = match file.ssh {
        None => SshSettings::default(),
        Some(table) => {
            let line = line_of(table.span().start);
            ssh(table.into_inner()).map_err(|m| (line, m))?
        }
    };
    let fleet_ca = match file.tls {
        Some(table) => {
            let line = line_of(table.span().start);
            table.into_inner().ca.map(TrustedCa::load).transpose().map_err(|e| (line, format!("tls.ca: {e}")))?
        }
        None => None,
    };
    let mut drafts = Vec::with_capacity(file.hosts.len());
    for spanned in file.hosts {
        let line = line_of(spanned.span().start);
        let entry = spanned.into_inner();
        let token = match (entry.token, entry.token_env) {
            (Some(_), Some(_)) => {
                return Err((line, format!("host {:?}: set token or token_env, not both", entry.name)));
            }
            (Some(token), None) => Some(Secret::new(token)),
            (None, Some(var)) => match env(&var).filter(|v| !v.is_empty()) {
                Some(token) => Some(Secret::new(token)),
                None => {
                    let message = format!("host {:?}: environment variable {var} (token_env) is not set", entry.name);
                    return Err((line, message));
                }
            },
            (None, None) => None,
        };
        let expose =
            entry.expose.map(exposure).transpose().map_err(|m| (line, format!("host {:?}: {m}", entry.name)))?;
        let ca = match entry.ca {
            Some(path) => Some(TrustedCa::load(path).map_err(|e| (line, format!("host {:?}: {e}", entry.name)))?),
            // The fleet's CA is for https:// agents; an http:// one has none.
            None => fleet_ca.clone().filter(|_| entry.url.as_deref().is_some_and(|u| u.starts_with("https://"))),
        };
        let host = Host {
            name: entry.name,
            url: entry.url,
            token,
            ssh: entry.ssh,
            tags: entry.tags,
            expose,
            ca,
            insecure_http: entry.insecure_http,
            by_channel: entry.channel,
            channel: None,
        };
        drafts.push(Draft { host, line });
    }
    Ok((drafts, health, ssh))
}

fn exposure(table: ExposeTable) -> Result<Exposure, String> {
    let defaults = Exposure::default();
    let prefix = table.prefix.unwrap_or_default();
    let safe = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
    if prefix.len() > 32 || !safe(&prefix) {
        return Err(format!("expose.prefix {prefix:?} must be at most 32 of a-z A-Z 0-9 _ -"));
    }
    Ok(Exposure {
        tools: table.tools.unwrap_or(defaults.tools),
        prefix,
        resources: table.resources.unwrap_or(defaults.resources),
        prompts: table.prompts.unwrap_or(defaults.prompts),
    })
}

fn ssh(table: SshTable) -> Result<SshSettings, String> {
    let mut settings = SshSettings { config_file: table.config, ..SshSettings::default() };
    let fields = [
        ("ssh.connect_timeout", table.connect_timeout, POSITIVE_HOUR, &mut settings.connect_timeout),
        ("ssh.call_timeout", table.call_timeout, POSITIVE_DAY, &mut settings.call_timeout),
        ("ssh.keepalive", table.keepalive, POSITIVE_HOUR, &mut settings.keepalive),
    ];
    for (key, value, range, slot) in fields {
        if let Some(value) = value {
            *slot = value.get(key, range)?;
        }
    }
    Ok(settings)
}

fn health(table: HealthTable) -> Result<HealthConfig, String> {
    let mut config = HealthConfig::default();
    let fields = [
        ("health.up_ttl", table.up_ttl, DAY, &mut config.up_ttl),
        ("health.down_min", table.down_min, DAY, &mut config.down_min),
        ("health.down_max", table.down_max, DAY, &mut config.down_max),
        ("health.budget", table.budget, POSITIVE_HOUR, &mut config.budget),
        ("health.connect_timeout", table.connect_timeout, POSITIVE_HOUR, &mut config.connect_timeout),
    ];
    for (key, value, range, slot) in fields {
        if let Some(value) = value {
            *slot = value.get(key, range)?;
        }
    }
    if let Some(n) = table.max_in_flight {
        config.max_in_flight = n;
    }
    config.validate()?;
    Ok(config)
}
