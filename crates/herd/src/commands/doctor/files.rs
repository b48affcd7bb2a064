//! The checks that read files: the token, `hosts.toml`, `agent.toml`.

use super::Finding;
use crate::cli::ClientArgs;
use crate::commands::agent::AgentConfig;
use herd_fleet::Registry;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

/// The client token: given (`--token`, `HERD_TOKEN`) or the one `herd up`
/// stored; returned for the hub check.
pub(super) fn token(client: &ClientArgs, home: Option<&Path>, findings: &mut Vec<Finding>) -> Option<String> {
    if let Some(token) = client.token.clone().filter(|t| !t.is_empty()) {
        findings.push(Finding::ok("token", "given by --token or HERD_TOKEN"));
        return Some(token);
    }
    let Some(path) = home.map(|h| h.join("token")) else {
        findings.push(Finding::warn("token", "no HERD_TOKEN and no HERD_HOME", "set HERD_TOKEN to the hub's token"));
        return None;
    };
    if !path.exists() {
        findings.push(Finding::warn(
            "token",
            format!("HERD_TOKEN is not set and {} does not exist", path.display()),
            "set HERD_TOKEN to the hub's token, or run `herd up` once to make one",
        ));
        return None;
    }
    let finding = secret_file("token", &path)?;
    let usable = finding.status != super::Status::Fail;
    findings.push(finding);
    if !usable {
        return None;
    }
    std::fs::read_to_string(&path).ok().map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}

/// A file holding a secret, if it exists: readable, not empty, and private
/// to its owner (mode 0600 or narrower).
pub(super) fn secret_file(check: &str, path: &Path) -> Option<Finding> {
    let shown = path.display();
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => return Some(Finding::fail(check, format!("cannot read {shown}: {e}"), "check the file's owner")),
    };
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Some(Finding::fail(
            check,
            format!("{shown} is open to other users (mode {mode:o})"),
            format!("chmod 600 {shown}"),
        ));
    }
    match std::fs::read_to_string(path) {
        Ok(text) if text.trim().is_empty() => Some(Finding::fail(
            check,
            format!("{shown} is empty"),
            format!("remove {shown} (herd up makes a new one) or write the token into it"),
        )),
        Ok(_) => Some(Finding::ok(check, format!("{shown} (mode {mode:o})"))),
        Err(e) => Some(Finding::fail(check, format!("cannot read {shown}: {e}"), "check the file's owner")),
    }
}

/// The hosts registry (`--config`, else `$HERD_HOME/hosts.toml` when it
/// exists), loaded as the hub loads it.
pub(super) fn registry(explicit: Option<&Path>, home: Option<&Path>, findings: &mut Vec<Finding>) -> Option<Registry> {
    let path = existing(explicit, home, "hosts.toml")?;
    let shown = path.display();
    match Registry::load(&path) {
        Ok(registry) => {
            findings.push(Finding::ok("hosts.toml", format!("{shown}: {} host(s)", registry.len())));
            let mode = std::fs::metadata(&path).map(|m| m.permissions().mode() & 0o777).unwrap_or(0);
            if mode & 0o077 != 0 && registry.hosts().iter().any(|h| h.token.is_some()) {
                findings.push(Finding::warn(
                    "hosts.toml",
                    format!("{shown} holds tokens and is open to other users (mode {mode:o})"),
                    format!("chmod 600 {shown}"),
                ));
            }
            Some(registry)
        }
        Err(err) => {
            findings.push(Finding::fail("hosts.toml", err.to_string(), format!("correct {shown}")));
            None
        }
    }
}

/// The agent's config (`--agent-config`, else `$HERD_HOME/agent.toml` when
/// it exists), checked as the agent checks it.
pub(super) fn agent_config(explicit: Option<&Path>, home: Option<&Path>) -> Option<Finding> {
    let path = existing(explicit, home, "agent.toml")?;
    let shown = path.display();
    Some(match AgentConfig::load(&path) {
        Ok(config) => match config.token() {
            Ok(_) => Finding::ok("agent.toml", format!("{shown}: {} server(s)", config.servers.len())),
            Err(err) => Finding::warn(
                "agent.toml",
                format!("{err}"),
                "set that variable where the agent runs (its service environment)",
            ),
        },
        Err(err) => Finding::fail("agent.toml", format!("{err:#}"), format!("correct {shown}")),
    })
}

/// The file to check: the one named (even if missing: loading says so),
/// else `name` under the home when it exists.
fn existing(explicit: Option<&Path>, home: Option<&Path>, name: &str) -> Option<PathBuf> {
    match explicit {
        Some(path) => Some(path.to_owned()),
        None => home.map(|h| h.join(name)).filter(|p| p.exists()),
    }
}
