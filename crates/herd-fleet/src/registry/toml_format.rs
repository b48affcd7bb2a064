//! The TOML registry format: `[[hosts]]` tables and an optional `[health]`
//! table.
//!
//! ```toml
//! [health]            # all optional; durations in seconds
//! up_ttl = 30
//! down_min = 60
//! down_max = 900
//! budget = 3
//! connect_timeout = 1
//! max_in_flight = 256
//!
//! [[hosts]]
//! name = "boltzmann"
//! url = "http://boltzmann.lan:8080/mcp"
//! token_env = "BOLTZMANN_TOKEN"   # or: token = "..."
//! ssh = "boltzmann.lan"
//! tags = ["lab", "gpu"]
//! ```
//!
//! Unknown keys are errors, so a typo does not silently fall back to a
//! default. `token_env` is read when the file is loaded.

use super::{Draft, Host};
use crate::{HealthConfig, Secret};
use serde::Deserialize;
use std::time::Duration;
use toml::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    hosts: Vec<Spanned<Entry>>,
    health: Option<Spanned<HealthTable>>,
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

impl Seconds {
    fn get(self, key: &str) -> Result<Duration, String> {
        Duration::try_from_secs_f64(self.0)
            .map_err(|_| format!("health.{key} must be a non-negative number of seconds, not {}", self.0))
    }
}

/// The hosts and health settings in `text`, or the 1-based line and reason
/// of the first problem.
pub(super) fn parse(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Vec<Draft>, HealthConfig), (usize, String)> {
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
        let host = Host { name: entry.name, url: entry.url, token, ssh: entry.ssh, tags: entry.tags };
        drafts.push(Draft { host, line });
    }
    Ok((drafts, health))
}

fn health(table: HealthTable) -> Result<HealthConfig, String> {
    let mut config = HealthConfig::default();
    let fields = [
        ("up_ttl", table.up_ttl, &mut config.up_ttl),
        ("down_min", table.down_min, &mut config.down_min),
        ("down_max", table.down_max, &mut config.down_max),
        ("budget", table.budget, &mut config.budget),
        ("connect_timeout", table.connect_timeout, &mut config.connect_timeout),
    ];
    for (key, value, slot) in fields {
        if let Some(value) = value {
            *slot = value.get(key)?;
        }
    }
    if let Some(n) = table.max_in_flight {
        config.max_in_flight = n;
    }
    config.validate()?;
    Ok(config)
}
