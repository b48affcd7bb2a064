//! Which of a host's names the hub exposes, and under what name.
//!
//! The routing table itself is `herd_upstream::routes`, shared with the
//! agent's supervised servers; this module adds the hub's rules: a host
//! opts in per list kind, tools can be filtered, and names get the host's
//! prefix.

use herd_fleet::Host;
use herd_proto::ListKind;
use herd_upstream::routes::{Route, Table, client_safe, entry_key, renamed};
use serde_json::value::RawValue;

/// Whether `host` exposes lists of `kind` at all.
pub(super) fn offers(host: &Host, kind: ListKind) -> bool {
    let Some(expose) = &host.expose else { return false };
    match kind {
        ListKind::Tools => true,
        ListKind::Prompts => expose.prompts,
        ListKind::Resources | ListKind::ResourceTemplates => expose.resources,
    }
}

/// The entries of `host`'s list that it exposes, renamed, each with its
/// name on the host, recording their routes in `table`. A name already
/// taken by an earlier host is skipped.
pub(super) fn adopt(
    host: &Host,
    kind: ListKind,
    list: Vec<Box<RawValue>>,
    table: &mut Table,
) -> Vec<(String, Box<RawValue>)> {
    let Some(expose) = &host.expose else { return Vec::new() };
    let mut out = Vec::with_capacity(list.len());
    for entry in list {
        let Some(key) = entry_key(&entry, kind) else { continue };
        let own = key.clone();
        let (key, original, entry) = match kind {
            ListKind::Tools | ListKind::Prompts => {
                if kind == ListKind::Tools && !expose.exposes_tool(&key) {
                    continue;
                }
                let exposed = format!("{}{key}", expose.prefix);
                if !client_safe(&exposed) {
                    tracing::warn!(host = host.name, name = exposed, "not exposed: not a client-safe name");
                    continue;
                }
                let Some(entry) = renamed(entry, &key, &exposed) else { continue };
                (exposed, Some(key), entry)
            }
            ListKind::Resources => (key, None, entry),
            ListKind::ResourceTemplates => {
                table.add_template(&key, &host.name);
                (key, None, entry)
            }
        };
        if !table.insert(key.clone(), Route { source: host.name.clone(), original }) {
            tracing::warn!(host = host.name, key, "not exposed: the name is taken by another host");
            continue;
        }
        out.push((own, entry));
    }
    out
}
