//! `remote_list_hosts`: the registry with each agent's health, from the
//! cache or freshly probed; only the hosts the caller may see.

use super::{error_result, policy_host, take};
use crate::Fleet;
use herd_auth::Action;
use herd_fleet::HostState;
use herd_proto::Context;
use serde_json::{Map, Value, json};
use std::fmt::Write as _;
use tokio::time::Instant;

pub(super) async fn call(fleet: &Fleet, mut arguments: Map<String, Value>, cx: &Context) -> Value {
    let force = match take::<bool>(&mut arguments, "force") {
        Ok(f) => f.unwrap_or(false),
        Err(e) => return e,
    };
    if let Some(extra) = arguments.keys().next() {
        return error_result(format!("invalid arguments: unknown field `{extra}`"));
    }
    // Without `force` the cache answers at once: the hub's background
    // rounds keep it fresh, and `checked_s_ago` says how fresh.
    let states = if force { fleet.health().probe_all(true).await } else { fleet.health().snapshot() };
    let registry = fleet.registry();
    let now = Instant::now();
    let mut hosts = Vec::with_capacity(registry.len());
    let mut text = String::new();
    let visible = registry.hosts().iter().filter(|h| herd_guard::may(cx, &Action::SeeHost(policy_host(h))));
    for host in visible {
        let state = states.get(&host.name).cloned().unwrap_or(HostState::Unknown);
        let mut entry = json!({ "name": host.name, "tags": host.tags });
        if let Some(url) = host.url.as_ref().filter(|_| host.channel.is_none()) {
            entry["url"] = json!(herd_proto::redact_url(url));
        }
        if let Some(ssh) = &host.ssh {
            entry["ssh"] = json!(ssh);
        }
        let label = match &state {
            HostState::Unknown => "unknown",
            HostState::Up { since, tool_count, .. } => {
                entry["up_for_s"] = json!(round(now.saturating_duration_since(*since).as_secs_f64()));
                if let Some(n) = tool_count {
                    entry["tools"] = json!(n);
                }
                "up"
            }
            HostState::Down { streak, error, .. } => {
                entry["failures"] = json!(streak);
                entry["error"] = json!(error);
                "down"
            }
        };
        entry["state"] = json!(label);
        if let Some(checked) = state.checked() {
            entry["checked_s_ago"] = json!(round(now.saturating_duration_since(checked).as_secs_f64()));
        }
        let paths = match (host.by_channel, &host.url, &host.ssh) {
            (true, _, Some(_)) => "channel+ssh",
            (true, _, None) => "channel",
            (false, Some(_), Some(_)) => "agent+ssh",
            (false, Some(_), None) => "agent",
            _ => "ssh",
        };
        entry["path"] = json!(paths);
        let _ = write!(text, "{:<20} {:<8} {:<10}", host.name, label, paths);
        if !host.tags.is_empty() {
            let _ = write!(text, " [{}]", host.tags.join(","));
        }
        if let Some(error) = state.error() {
            let _ = write!(text, " {error}");
        }
        text.push('\n');
        hosts.push(entry);
    }
    if hosts.is_empty() {
        text.push_str("no hosts registered\n");
    }
    json!({ "content": [{ "type": "text", "text": text }], "structuredContent": { "hosts": hosts } })
}

fn round(seconds: f64) -> f64 {
    (seconds * 10.0).round() / 10.0
}
