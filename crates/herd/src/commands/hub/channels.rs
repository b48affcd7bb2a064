//! The `[channels]` table of the hub's config: how the hub treats agents
//! that connect out to it.
//!
//! ```toml
//! [channels]            # all optional
//! heartbeat = 30        # seconds between PINGs to each agent
//! timeout = 60          # an unanswered PING closes the channel after this
//! max_per_principal = 64
//! max_total = 4096
//! ```

use super::table;
use anyhow::bail;
use herd_channel::ChannelsConfig;
use serde::Deserialize;
use std::path::Path;
use std::time::Duration;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    heartbeat: Option<f64>,
    timeout: Option<f64>,
    max_per_principal: Option<usize>,
    max_total: Option<usize>,
}

/// The channel settings of the config at `path` (defaults without a
/// `[channels]` table).
pub(crate) fn load(path: &Path) -> anyhow::Result<ChannelsConfig> {
    table::load(path, "channels", build)
}

#[cfg(test)]
fn parse(text: &str) -> anyhow::Result<ChannelsConfig> {
    build(table::parse(text, "channels")?)
}

/// The settings `table` sets, defaults for the rest.
fn build(table: Option<Table>) -> anyhow::Result<ChannelsConfig> {
    let Some(table) = table else { return Ok(ChannelsConfig::default()) };
    let seconds =
        |name: &str, value: Option<f64>, default: Duration| super::table::seconds(name, value, default, 3600.0);
    let defaults = ChannelsConfig::default();
    let config = ChannelsConfig {
        heartbeat: seconds("heartbeat", table.heartbeat, defaults.heartbeat)?,
        timeout: seconds("timeout", table.timeout, defaults.timeout)?,
        max_per_principal: table.max_per_principal.unwrap_or(defaults.max_per_principal),
        max_total: table.max_total.unwrap_or(defaults.max_total),
        ..defaults
    };
    if config.max_per_principal == 0 || config.max_total == 0 {
        bail!("max_per_principal and max_total must be at least 1");
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_optional_and_checked() {
        assert_eq!(parse("[[hosts]]\nname = \"a\"\nssh = \"a\"\n").unwrap().heartbeat, Duration::from_secs(30));
        let set = parse("[channels]\nheartbeat = 0.5\ntimeout = 1\nmax_total = 2\n").unwrap();
        assert_eq!(
            (set.heartbeat, set.timeout, set.max_total),
            (Duration::from_millis(500), Duration::from_secs(1), 2)
        );
        assert!(format!("{:#}", parse("[channels]\nheartbeat = 0\n").unwrap_err()).contains("heartbeat"));
        assert!(parse("[channels]\nheartbeet = 1\n").is_err());
        assert_eq!(parse("a - - -\n").unwrap().max_total, 4096);
    }
}
