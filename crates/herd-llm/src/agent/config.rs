//! What an agent's config says about its LLMs: `[[llm]]` (a local
//! OpenAI-compatible server) and `[[preset]]` (a named system prompt and
//! parameters over one of them or a pool), and the checks made before
//! anything is served.

use crate::wire::Visibility;
use serde::Deserialize;
use std::collections::BTreeSet;
use std::time::Duration;

/// How long a wake may take by default.
pub const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(120);
/// Requests a provider takes at once by default.
pub const DEFAULT_MAX_CONCURRENCY: u32 = 4;
/// The longest name of a provider, pool or preset.
const MAX_NAME: usize = 128;

/// One `[[llm]]`: a local OpenAI-compatible server published as a model.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmConfig {
    /// The model id clients ask for.
    pub name: String,
    /// The server's OpenAI-compatible base URL (`http://127.0.0.1:11434/v1`).
    pub url: String,
    /// The server's own model id (default: `name`).
    #[serde(default)]
    pub model: Option<String>,
    /// The variable holding the key sent upstream as a bearer token.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// The pool it is a member of.
    #[serde(default)]
    pub pool: Option<String>,
    /// Who may use it besides admins.
    #[serde(default)]
    pub visibility: Visibility,
    /// Requests it takes at once; more are refused as busy.
    #[serde(default = "default_max_concurrency")]
    pub max_concurrency: u32,
    /// How to wake it when it does not answer.
    #[serde(default)]
    pub wake: Option<Wake>,
}

fn default_max_concurrency() -> u32 {
    DEFAULT_MAX_CONCURRENCY
}

impl LlmConfig {
    /// `name` served by the server at `url`, everything else by default.
    pub fn new(name: impl Into<String>, url: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            url: url.into(),
            model: None,
            api_key_env: None,
            pool: None,
            visibility: Visibility::default(),
            max_concurrency: DEFAULT_MAX_CONCURRENCY,
            wake: None,
        }
    }

    /// The model id the server knows.
    pub fn upstream_model(&self) -> &str {
        self.model.as_deref().unwrap_or(&self.name)
    }
}

/// How a hibernating provider is woken: a command run once, or a URL
/// called once, then the provider polled until it answers or `max_wait`
/// passes.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "WakeTable")]
pub enum Wake {
    /// Runs `argv` (no shell), without the agent's secrets in its
    /// environment.
    Command {
        /// The program and its arguments.
        argv: Vec<String>,
        /// How long the command and the provider's answer may take.
        max_wait: Duration,
    },
    /// Calls `url` with `method`.
    Url {
        /// What to call.
        url: String,
        /// The HTTP method (`POST` by default).
        method: String,
        /// How long the call and the provider's answer may take.
        max_wait: Duration,
    },
}

impl Wake {
    /// How long a wake may take.
    pub fn max_wait(&self) -> Duration {
        match self {
            Self::Command { max_wait, .. } | Self::Url { max_wait, .. } => *max_wait,
        }
    }
}

/// `wake = { command = [...] | url = "...", method = "POST", max_wait = "120s" }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WakeTable {
    command: Option<Vec<String>>,
    url: Option<String>,
    method: Option<String>,
    max_wait: Option<String>,
}

impl TryFrom<WakeTable> for Wake {
    type Error = String;

    fn try_from(table: WakeTable) -> Result<Self, String> {
        let max_wait = table.max_wait.as_deref().map_or(Ok(DEFAULT_MAX_WAIT), parse_wait)?;
        match (table.command, table.url) {
            (Some(argv), None) if table.method.is_none() => Ok(Self::Command { argv, max_wait }),
            (Some(_), None) => Err("wake: method goes with url, not command".into()),
            (None, Some(url)) => {
                let method = table.method.unwrap_or_else(|| "POST".into()).to_ascii_uppercase();
                Ok(Self::Url { url, method, max_wait })
            }
            _ => Err("wake: give command or url (one of them)".into()),
        }
    }
}

/// `"120s"`, `"2m"`, `"1h"`, or a whole number of seconds.
fn parse_wait(text: &str) -> Result<Duration, String> {
    let bad = || format!("wake: max_wait = {text:?}: give a duration such as \"120s\" or \"5m\"");
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let n: u64 = t[..split].parse().map_err(|_| bad())?;
    let unit = match &t[split..] {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => return Err(bad()),
    };
    match n.checked_mul(unit) {
        Some(secs) if (1..=86_400).contains(&secs) => Ok(Duration::from_secs(secs)),
        _ => Err(bad()),
    }
}

/// One `[[preset]]`: a named system prompt and parameters pinned to an
/// `[[llm]]` or a pool.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresetConfig {
    /// The model id clients ask for.
    pub name: String,
    /// The `[[llm]]` or pool it runs on.
    pub llm: String,
    /// The system prompt put first.
    #[serde(default)]
    pub system: Option<String>,
    /// Request fields set over the client's.
    #[serde(default)]
    pub params: serde_json::Map<String, serde_json::Value>,
    /// Who may use it besides admins.
    #[serde(default)]
    pub visibility: Visibility,
}

/// A config entry that cannot be served, named by its table and name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("[[{table}]] {name:?}: {problem}")]
pub struct ConfigError {
    table: &'static str,
    name: String,
    problem: String,
}

impl ConfigError {
    pub(crate) fn new(table: &'static str, name: &str, problem: impl Into<String>) -> Self {
        Self { table, name: name.chars().take(MAX_NAME).collect(), problem: problem.into() }
    }
}

fn check_name(what: &str, name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > MAX_NAME || name.contains('/') || name.chars().any(char::is_control) {
        return Err(format!("{what} must be 1 to {MAX_NAME} characters, without '/'"));
    }
    Ok(())
}

fn check_http_url(what: &str, text: &str) -> Result<(), String> {
    match url::Url::parse(text) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(()),
        _ => Err(format!("{what} must be an http:// or https:// URL")),
    }
}

/// Checks `llms` and `presets` together: names, URLs, limits, wake
/// recipes, and that every preset runs on a declared llm or pool.
pub fn validate(llms: &[LlmConfig], presets: &[PresetConfig]) -> Result<(), ConfigError> {
    let mut names = BTreeSet::new();
    let mut pools = BTreeSet::new();
    for llm in llms {
        let fail = |problem: String| ConfigError::new("llm", &llm.name, problem);
        check_name("name", &llm.name).map_err(fail)?;
        check_http_url("url", &llm.url).map_err(fail)?;
        if llm.max_concurrency == 0 {
            return Err(fail("max_concurrency must be at least 1".into()));
        }
        check_name("model", llm.upstream_model()).map_err(|_| fail("model must be 1 to 128 characters".into()))?;
        if let Some(pool) = &llm.pool {
            check_name("pool", pool).map_err(fail)?;
            pools.insert(pool.as_str());
        }
        if llm.api_key_env.as_ref().is_some_and(|v| v.is_empty() || v.contains('=')) {
            return Err(fail("api_key_env must name a variable".into()));
        }
        match &llm.wake {
            Some(Wake::Command { argv, .. }) if argv.first().is_none_or(String::is_empty) => {
                return Err(fail("wake: command must name a program".into()));
            }
            Some(Wake::Url { url, method, .. }) => {
                check_http_url("wake: url", url).map_err(fail)?;
                if axum::http::Method::from_bytes(method.as_bytes()).is_err() {
                    return Err(fail(format!("wake: method {method:?} is not an HTTP method")));
                }
            }
            _ => {}
        }
        if !names.insert(llm.name.as_str()) {
            return Err(fail("declared twice".into()));
        }
    }
    if let Some(clash) = pools.iter().find(|p| names.contains(*p)) {
        return Err(ConfigError::new("llm", clash, "is the name of both an llm and a pool"));
    }
    let mut preset_names = BTreeSet::new();
    for preset in presets {
        let fail = |problem: String| ConfigError::new("preset", &preset.name, problem);
        check_name("name", &preset.name).map_err(fail)?;
        if names.contains(preset.name.as_str()) || pools.contains(preset.name.as_str()) {
            return Err(fail("is already the name of an llm or pool".into()));
        }
        if !names.contains(preset.llm.as_str()) && !pools.contains(preset.llm.as_str()) {
            return Err(fail(format!("llm {:?} is neither a declared llm nor a pool", preset.llm)));
        }
        if preset.params.contains_key("model") {
            return Err(fail("params may not set model".into()));
        }
        if !preset_names.insert(preset.name.as_str()) {
            return Err(fail("declared twice".into()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Tables {
        #[serde(default)]
        llm: Vec<LlmConfig>,
        #[serde(default)]
        preset: Vec<PresetConfig>,
    }

    fn parse(text: &str) -> Result<Tables, String> {
        let tables: Tables = toml::from_str(text).map_err(|e| e.message().to_owned())?;
        validate(&tables.llm, &tables.preset).map_err(|e| e.to_string())?;
        Ok(tables)
    }

    #[test]
    fn the_documented_tables_read_with_their_defaults() {
        let tables = parse(
            r#"
            [[llm]]
            name = "qwen3-8b"
            url = "http://127.0.0.1:11434/v1"
            model = "qwen3:8b"
            pool = "qwen3"
            wake = { command = ["wakeonlan", "aa:bb:cc:dd:ee:ff"], max_wait = "2m" }

            [[llm]]
            name = "small"
            url = "https://gpu.lan/v1"
            api_key_env = "SMALL_KEY"
            visibility = "public"
            max_concurrency = 1
            wake = { url = "http://gpu.lan:9000/wake" }

            [[preset]]
            name = "reviewer"
            llm = "qwen3"
            system = "You review code."
            params = { temperature = 0.2 }
            visibility = "public"
            "#,
        )
        .unwrap();
        let (big, small) = (&tables.llm[0], &tables.llm[1]);
        assert_eq!((big.upstream_model(), big.max_concurrency, big.visibility), ("qwen3:8b", 4, Visibility::Private));
        let argv = vec!["wakeonlan".to_owned(), "aa:bb:cc:dd:ee:ff".to_owned()];
        assert_eq!(big.wake, Some(Wake::Command { argv, max_wait: Duration::from_secs(120) }));
        assert_eq!(small.upstream_model(), "small");
        let url = "http://gpu.lan:9000/wake".to_owned();
        assert_eq!(small.wake, Some(Wake::Url { url, method: "POST".into(), max_wait: DEFAULT_MAX_WAIT }));
        assert_eq!(tables.preset[0].params["temperature"], 0.2);
    }

    #[test]
    fn bad_entries_are_named_by_their_table() {
        let llm = |extra: &str| format!("[[llm]]\nname = \"m\"\nurl = \"http://h/v1\"\n{extra}\n");
        let cases = [
            (llm("max_concurrency = 0"), "[[llm]] \"m\": max_concurrency"),
            (llm("urll = 1"), "urll"),
            (llm("wake = { command = [] }"), "must name a program"),
            (llm("wake = { command = [\"x\"], url = \"http://h\" }"), "command or url"),
            (llm("wake = { url = \"http://h\", max_wait = \"soon\" }"), "max_wait"),
            (llm("wake = { url = \"ftp://h\" }"), "wake: url"),
            (llm("[[llm]]\nname = \"m\"\nurl = \"http://h/v1\""), "declared twice"),
            ("[[llm]]\nname = \"a/b\"\nurl = \"http://h\"\n".into(), "without '/'"),
            ("[[llm]]\nname = \"\"\nurl = \"http://h\"\n".into(), "1 to 128"),
            ("[[llm]]\nname = \"m\"\nurl = \"file:///x\"\n".into(), "[[llm]] \"m\": url"),
            (llm("[[preset]]\nname = \"p\"\nllm = \"nope\""), "[[preset]] \"p\": llm \"nope\""),
            (llm("[[preset]]\nname = \"m\"\nllm = \"m\""), "already the name"),
            (llm("[[preset]]\nname = \"p\"\nllm = \"m\"\nparams = { model = \"x\" }"), "model"),
        ];
        for (text, expected) in cases {
            let err = parse(&text).err().unwrap_or_else(|| panic!("accepted: {text}"));
            assert!(err.contains(expected), "{text}\n=> {err}");
        }
    }
}
