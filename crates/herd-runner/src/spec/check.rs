//! The rules a spec's fields must follow. Each rule returns the reason a
//! value is refused, naming the field.

use super::{ServerSpec, Source};

/// Longest server name: names prefix tool names, which clients cap at 64.
pub(crate) const MAX_NAME: usize = 32;

/// The longest `restart_delay`: restarts never wait longer than this anyway.
pub(crate) const MAX_RESTART_DELAY: f64 = 60.0;

/// The longest `call_timeout` (a day).
pub(crate) const MAX_CALL_TIMEOUT: f64 = 86_400.0;

pub(super) fn spec(s: &ServerSpec) -> Result<Source, String> {
    name(&s.name)?;
    for (key, value) in &s.env {
        env_key(key)?;
        no_nul("env value", value)?;
    }
    for arg in &s.args {
        no_nul("args", arg)?;
    }
    if let Some(bin) = &s.bin {
        word("bin", bin)?;
    }
    if let Some(delay) = s.restart_delay {
        seconds("restart_delay", delay, true, MAX_RESTART_DELAY)?;
    }
    if let Some(timeout) = s.call_timeout {
        seconds("call_timeout", timeout, false, MAX_CALL_TIMEOUT)?;
    }
    if let Some(command) = &s.command {
        program(command)?;
    }
    let sources = [s.npx.is_some(), s.uvx.is_some(), s.git.is_some(), s.path.is_some()];
    let given = sources.iter().filter(|b| **b).count();
    if given > 1 {
        return Err("give only one of npx, uvx, git, path".into());
    }
    if s.branch.is_some() && s.git.is_none() {
        return Err("branch needs git".into());
    }
    if s.bin.is_some() && s.npx.is_none() && s.uvx.is_none() {
        return Err("bin needs npx or uvx".into());
    }
    if (s.npx.is_some() || s.uvx.is_some()) && s.command.is_some() {
        return Err("command cannot be combined with npx or uvx (use bin)".into());
    }
    if let Some(package) = &s.npx {
        npm_package(package)?;
        return Ok(Source::Npm { package: package.clone(), bin: s.bin.clone() });
    }
    if let Some(package) = &s.uvx {
        pypi_package(package)?;
        return Ok(Source::Pypi { package: package.clone(), bin: s.bin.clone() });
    }
    if let Some(url) = &s.git {
        git_url(url)?;
        if let Some(branch) = &s.branch {
            git_branch(branch)?;
        }
        return Ok(Source::Git { url: url.clone(), branch: s.branch.clone(), command: s.command.clone() });
    }
    if let Some(path) = &s.path {
        if !path.is_absolute() {
            return Err(format!("path must be absolute: {}", path.display()));
        }
        return Ok(Source::Dir { path: path.clone(), command: s.command.clone() });
    }
    match &s.command {
        Some(program) => Ok(Source::Command { program: program.clone() }),
        None => Err("give one of npx, uvx, git, path or command".into()),
    }
}

/// `^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$`, without `__` (the separator of
/// offered tool names).
pub(crate) fn name(name: &str) -> Result<(), String> {
    let ok = (1..=MAX_NAME).contains(&name.len())
        && name.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
        && !name.contains("__");
    if ok {
        Ok(())
    } else {
        Err(format!("name must be 1-{MAX_NAME} letters, digits, '_' or '-', start with a letter or digit, no '__'"))
    }
}

/// A number of seconds that becomes a `Duration`: finite, at most `max`,
/// and more than 0 (or 0 itself when `zero_ok`). Anything else is refused
/// here, naming the field and the range, so no later conversion can fail.
pub(crate) fn seconds(field: &str, value: f64, zero_ok: bool, max: f64) -> Result<(), String> {
    let low_ok = if zero_ok { value >= 0.0 } else { value > 0.0 };
    if value.is_finite() && low_ok && value <= max {
        return Ok(());
    }
    let low = if zero_ok { "from 0" } else { "more than 0 and" };
    let up_to = if zero_ok { "to" } else { "at most" };
    Err(format!("{field} must be a number of seconds {low} {up_to} {max}, not {value}"))
}

fn env_key(key: &str) -> Result<(), String> {
    let ok = key.bytes().next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if ok { Ok(()) } else { Err(format!("env key {key:?} must match [A-Za-z_][A-Za-z0-9_]*")) }
}

fn no_nul(field: &str, value: &str) -> Result<(), String> {
    if value.contains('\0') { Err(format!("{field} must not contain NUL")) } else { Ok(()) }
}

/// A value that becomes one installer argument: printable ASCII from an
/// allowed set, and never a leading `-` (it would read as an option).
fn restricted(field: &str, value: &str, extra: &[u8]) -> Result<(), String> {
    if value.is_empty() || value.len() > 214 {
        return Err(format!("{field} must be 1-214 characters"));
    }
    if value.starts_with('-') {
        return Err(format!("{field} must not start with '-': {value:?}"));
    }
    match value.bytes().find(|b| !(b.is_ascii_alphanumeric() || extra.contains(b))) {
        Some(b) => Err(format!("{field} {value:?} contains {:?}, which is not allowed", b as char)),
        None => Ok(()),
    }
}

fn word(field: &str, value: &str) -> Result<(), String> {
    restricted(field, value, b"._-")?;
    if value.starts_with('.') { Err(format!("{field} must not start with '.'")) } else { Ok(()) }
}

/// npm names (`@scope/name`) with an optional version or range after `@`.
fn npm_package(spec: &str) -> Result<(), String> {
    restricted("npx", spec, b"@/._~^<>=*+-")?;
    let body = spec.strip_prefix('@').unwrap_or(spec);
    if body.starts_with(['.', '/', '@']) || spec.contains("..") {
        return Err(format!("npx {spec:?} is not a package name"));
    }
    Ok(())
}

/// PyPI requirements: a name, optional `[extras]`, optional version
/// constraints. No URLs, no paths, no markers.
fn pypi_package(spec: &str) -> Result<(), String> {
    restricted("uvx", spec, b"._-[],=<>!~*+")?;
    if spec.starts_with(['.', '[', '=', '<', '>', '!', '~']) {
        return Err(format!("uvx {spec:?} is not a package name"));
    }
    Ok(())
}

/// URLs git clones over its plain transports only: `ext::` and other
/// remote helpers run commands, and a leading `-` would be an option.
fn git_url(url: &str) -> Result<(), String> {
    let shown = herd_proto::redact_url(url);
    if url.starts_with('-') || url.contains("::") || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("git {shown:?} is not a plain repository URL"));
    }
    let scheme_ok = ["https://", "http://", "ssh://", "git://", "file:///"].iter().any(|s| url.starts_with(s));
    let scp_like = !url.contains("://") && url.split_once(':').is_some_and(|(host, _)| host.contains('@'));
    if scheme_ok || scp_like || url.starts_with('/') {
        Ok(())
    } else {
        Err(format!("git {shown:?}: use https://, ssh://, git://, file:///, user@host:path or an absolute path"))
    }
}

fn git_branch(branch: &str) -> Result<(), String> {
    restricted("branch", branch, b"._/-")?;
    if branch.contains("..") || branch.ends_with('/') || branch.ends_with(".lock") {
        return Err(format!("branch {branch:?} is not a valid ref name"));
    }
    Ok(())
}

/// A program: run directly, so any path works, but not an option-looking
/// or multi-line one.
fn program(command: &str) -> Result<(), String> {
    if command.is_empty() || command.starts_with('-') || command.chars().any(char::is_control) {
        return Err(format!("command {command:?} must be a program name or path"));
    }
    Ok(())
}
