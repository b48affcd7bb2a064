//! The rules every host must pass, whichever format it was written in.
//!
//! Names and tags end up in tool arguments and log lines, URLs are dialled
//! and ssh destinations are handed to `ssh`: each is checked once, here, so
//! nothing later has to wonder (an ssh destination starting with `-` would
//! be read as an option). An agent's token is a shell on its host, so it
//! crosses a network in plaintext only where the host says so.

use super::Host;

/// Whether `s` matches `^[a-zA-Z0-9_.-]{1,64}$`.
pub(super) fn valid_name(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

pub(super) fn host(host: &Host) -> Result<(), String> {
    let name = &host.name;
    if !valid_name(name) {
        return Err(format!("invalid host name {name:?}: use 1 to 64 of a-z A-Z 0-9 _ . -"));
    }
    if let Some(url) = &host.url {
        let rest = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://"));
        if rest.is_none_or(|r| r.is_empty() || r.starts_with('/')) || url.chars().any(char::is_whitespace) {
            let url = herd_proto::redact_url(url);
            return Err(format!("host {name:?}: url {url:?} is not an http:// or https:// URL"));
        }
        plaintext(host, url)?;
    }
    if let Some(ssh) = &host.ssh
        && (ssh.is_empty() || ssh.starts_with('-') || ssh.chars().any(|c| c.is_whitespace() || c.is_control()))
    {
        return Err(format!("host {name:?}: ssh destination {ssh:?} is empty, has spaces or starts with '-'"));
    }
    if host.token.as_ref().is_some_and(|t| t.expose().is_empty()) {
        return Err(format!("host {name:?}: token is empty"));
    }
    if host.by_channel && host.url.is_some() {
        return Err(format!("host {name:?}: channel = true and a url: an agent that connects out has no url"));
    }
    if host.url.is_none() && host.ssh.is_none() && !host.by_channel {
        return Err(format!("host {name:?} has neither an agent url, a channel nor an ssh destination"));
    }
    if let Some(tag) = host.tags.iter().find(|t| !valid_name(t)) {
        return Err(format!("host {name:?}: invalid tag {tag:?}: use 1 to 64 of a-z A-Z 0-9 _ . -"));
    }
    Ok(())
}

/// Refuses an `http://` URL to a host that is not loopback, unless the
/// host says `insecure_http = true`; and a `ca` on an `http://` URL, which
/// would protect nothing.
fn plaintext(host: &Host, url: &str) -> Result<(), String> {
    let name = &host.name;
    if !url.starts_with("http://") {
        return Ok(());
    }
    if host.ca.is_some() {
        return Err(format!("host {name:?}: ca is set but the url is http://; use https:// to have it checked"));
    }
    if host.insecure_http || is_loopback(url) {
        return Ok(());
    }
    let shown = herd_proto::redact_url(url);
    let https = shown.replacen("http://", "https://", 1);
    Err(format!(
        "host {name:?}: url {shown:?} would send the agent token and every command in plaintext over the network \
         (an agent token is a shell on that host); use {https:?} (serve the agent with --tls-cert/--tls-key), \
         or set insecure_http = true on this host if the network is trusted"
    ))
}

/// Whether `url` names this machine: `localhost`, 127.0.0.0/8 or ::1.
fn is_loopback(url: &str) -> bool {
    match url::Url::parse(url).ok().and_then(|u| u.host().map(|h| h.to_owned())) {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}
