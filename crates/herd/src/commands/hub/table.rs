//! One optional table of the hub's config file (`[channels]`, `[llm]`):
//! the file read, a whitespace registry taken for a file without tables,
//! the table's keys checked by its own type, and durations given in
//! seconds bounded.

use anyhow::{Context as _, bail};
use serde::de::DeserializeOwned;
use std::path::Path;
use std::time::Duration;

/// The settings `build` makes of table `name` of the config at `path`
/// (`None` when it has none); an error names the table and the file.
pub(super) fn load<T: DeserializeOwned, C>(
    path: &Path,
    name: &str,
    build: impl FnOnce(Option<T>) -> anyhow::Result<C>,
) -> anyhow::Result<C> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse(&text, name).and_then(build).with_context(|| format!("[{name}] in {}", path.display()))
}

/// Table `name` of the config `text`, if it has one.
pub(super) fn parse<T: DeserializeOwned>(text: &str, name: &str) -> anyhow::Result<Option<T>> {
    if herd_fleet::Format::detect(text) == herd_fleet::Format::Plain {
        return Ok(None);
    }
    let mut file: toml::Table = toml::from_str(text).map_err(|e| anyhow::anyhow!("{}", e.message().trim()))?;
    let Some(table) = file.remove(name) else { return Ok(None) };
    table.try_into().map(Some).map_err(|e: toml::de::Error| anyhow::anyhow!("{}", e.message().trim()))
}

/// `value` seconds as a duration (`default` when not given), between
/// 0.01 and `max` seconds; `name` is the key, for the error.
pub(super) fn seconds(name: &str, value: Option<f64>, default: Duration, max: f64) -> anyhow::Result<Duration> {
    match value {
        None => Ok(default),
        Some(s) if s.is_finite() && (0.01..=max).contains(&s) => Ok(Duration::from_secs_f64(s)),
        Some(s) => bail!("{name} = {s}: give seconds between 0.01 and {max}"),
    }
}
