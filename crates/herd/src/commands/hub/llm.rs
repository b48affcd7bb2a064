//! The `[llm]` table of the hub's config: how the hub relays requests to
//! the LLMs its agents publish (see herd-llm).
//!
//! ```toml
//! [llm]                         # all optional
//! queue_wait = 30               # seconds a request waits for a busy pool before 429
//! queue_max = 1024              # requests waiting at once; more get 429 at once
//! first_token_timeout = 300     # seconds until the first byte of an answer (a wake included)
//! stall_timeout = 120           # seconds between two events of a stream
//! refresh = 30                  # seconds between fetches of every agent's listing
//! ```

use super::table;
use herd_llm::RelayConfig;
use serde::Deserialize;
use std::path::Path;
use std::time::Duration;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    queue_wait: Option<f64>,
    queue_max: Option<usize>,
    first_token_timeout: Option<f64>,
    stall_timeout: Option<f64>,
    refresh: Option<f64>,
}

/// The relay settings of the config at `path` (defaults without an
/// `[llm]` table).
pub(crate) fn load(path: &Path) -> anyhow::Result<RelayConfig> {
    table::load(path, "llm", build)
}

#[cfg(test)]
fn parse(text: &str) -> anyhow::Result<RelayConfig> {
    build(table::parse(text, "llm")?)
}

/// The settings `table` sets, defaults for the rest.
fn build(table: Option<Table>) -> anyhow::Result<RelayConfig> {
    let Some(table) = table else { return Ok(RelayConfig::default()) };
    let seconds =
        |name: &str, value: Option<f64>, default: Duration| super::table::seconds(name, value, default, 86_400.0);
    let defaults = RelayConfig::default();
    let config = RelayConfig {
        queue_wait: seconds("queue_wait", table.queue_wait, defaults.queue_wait)?,
        queue_max: table.queue_max.unwrap_or(defaults.queue_max),
        first_token_timeout: seconds("first_token_timeout", table.first_token_timeout, defaults.first_token_timeout)?,
        stall_timeout: seconds("stall_timeout", table.stall_timeout, defaults.stall_timeout)?,
        refresh: seconds("refresh", table.refresh, defaults.refresh)?,
        ..defaults
    };
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_optional_and_checked() {
        assert_eq!(parse("[[hosts]]\nname = \"a\"\nssh = \"a\"\n").unwrap().queue_wait, Duration::from_secs(30));
        let set = parse("[llm]\nqueue_wait = 0.5\nstall_timeout = 10\nrefresh = 5\nqueue_max = 0\n").unwrap();
        assert_eq!(
            (set.queue_wait, set.stall_timeout, set.refresh, set.queue_max, set.first_token_timeout),
            (Duration::from_millis(500), Duration::from_secs(10), Duration::from_secs(5), 0, Duration::from_secs(300))
        );
        assert!(format!("{:#}", parse("[llm]\nrefresh = -1\n").unwrap_err()).contains("refresh"));
        assert!(parse("[llm]\nqueue_weight = 1\n").is_err());
        assert_eq!(parse("a - - -\n").unwrap().stall_timeout, Duration::from_secs(120));
    }
}
