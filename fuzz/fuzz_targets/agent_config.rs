//! Protects the agent's config file parser (`herd agent --config`,
//! `crates/herd/src/commands/agent/config.rs`, compiled in here from its
//! source): TOML with the token and the supervised servers, each checked by
//! `herd_runner::ServerSpec::validate` before anything starts.
//!
//! Properties, for any text:
//! - nothing panics;
//! - a loaded config has unique server names, each spec valid;
//! - an error never quotes the value of a `token = "..."` line (the error
//!   says where, never what).

#![no_main]

#[allow(dead_code, unreachable_pub)]
#[path = "../../crates/herd/src/commands/agent/config.rs"]
mod config;

use libfuzzer_sys::fuzz_target;
use std::io::Write as _;

/// The value of the first `token = "..."` line, if it is long enough to be
/// told apart and appears only once in the text.
fn token_value(text: &str) -> Option<&str> {
    let line = text.lines().find(|l| l.trim_start().starts_with("token"))?;
    let (key, value) = line.split_once('=')?;
    if key.trim() != "token" {
        return None;
    }
    let value = value.trim().trim_start_matches('"');
    let value = value.split('"').next()?.trim();
    (value.len() >= 8 && text.matches(value).count() == 1).then_some(value)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut file = tempfile::NamedTempFile::new().expect("a temp file");
    file.write_all(data).expect("write the config");
    match config::AgentConfig::load(file.path()) {
        Ok(config) => {
            let mut names = std::collections::HashSet::new();
            for spec in &config.servers {
                assert!(spec.validate().is_ok(), "an invalid server spec loaded: {spec:?}");
                assert!(names.insert(spec.name.clone()), "a server name loaded twice: {}", spec.name);
            }
        }
        Err(err) => {
            let shown = format!("{err:#}");
            if let Some(token) = token_value(text) {
                assert!(!shown.contains(token), "the error quotes the token {token:?}: {shown}");
            }
        }
    }
});
