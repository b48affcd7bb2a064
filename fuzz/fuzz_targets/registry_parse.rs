//! Protects the hosts registry parser (`herd_fleet::Registry::parse_with`),
//! both formats (TOML `[[hosts]]` and the seed hub's whitespace lines),
//! which the hub reads at start and on every reload.
//!
//! Properties, for any text:
//! - nothing panics;
//! - an error names a line of the text (1 ..= lines + 1);
//! - a loaded registry holds only hosts that pass the rules: valid unique
//!   names, `http(s)://` URLs, ssh destinations that cannot be read as an
//!   option, valid tags, and an agent URL or an ssh destination;
//! - a token that came from the environment (`token_env`) never shows in
//!   the registry's `Debug` output nor in an error.

#![no_main]

use herd_fleet::{Format, Registry, RegistryError};
use libfuzzer_sys::fuzz_target;
use std::collections::HashSet;

/// What every `token_env` variable holds.
const SECRET: &str = "tok-9f8e7d6c5b4a";

fn valid_name(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let env = |_: &str| Some(SECRET.to_owned());
    let leaked = |shown: &str| !text.contains(SECRET) && shown.contains(SECRET);
    let _ = Format::detect(text);
    match Registry::parse_with(text, "fuzz", &env) {
        Err(err) => {
            let shown = err.to_string();
            assert!(!leaked(&shown), "an error shows the token: {shown}");
            if let RegistryError::Invalid { line, .. } = err {
                let lines = text.matches('\n').count() + 1;
                assert!((1..=lines + 1).contains(&line), "error on line {line} of {lines}: {shown}");
            }
        }
        Ok(registry) => {
            let shown = format!("{registry:?}");
            assert!(!leaked(&shown), "Debug shows the token: {shown}");
            let mut names = HashSet::new();
            for host in registry.hosts() {
                assert!(valid_name(&host.name), "invalid name loaded: {host:?}");
                assert!(names.insert(host.name.clone()), "duplicate name loaded: {host:?}");
                assert!(host.url.is_some() || host.ssh.is_some(), "host with no path: {host:?}");
                if let Some(url) = &host.url {
                    assert!(url.starts_with("http://") || url.starts_with("https://"), "bad url loaded: {host:?}");
                    assert!(!url.chars().any(char::is_whitespace), "url with spaces loaded: {host:?}");
                }
                if let Some(ssh) = &host.ssh {
                    assert!(!ssh.is_empty() && !ssh.starts_with('-'), "unsafe ssh destination loaded: {host:?}");
                }
                assert!(host.tags.iter().all(|t| valid_name(t)), "invalid tag loaded: {host:?}");
                assert!(registry.get(&host.name) == Some(host), "lookup disagrees: {host:?}");
            }
            assert!(registry.health().validate().is_ok(), "invalid health settings loaded");
        }
    }
});
