//! Which host answers for an exposed name or URI, and the renaming that
//! makes a host's names client-safe and unique.

use herd_fleet::Host;
use herd_proto::{ListKind, Request, RpcError, code, method};
use parking_lot::RwLock;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::collections::{BTreeMap, HashMap};

/// A host's name (or URI) for something, and the host.
pub(super) type Route = (String, Option<String>);

/// The routes learned from one list.
#[derive(Default)]
pub(super) struct Table {
    /// Exposed name or URI -> (host, the host's own name when renamed).
    exact: HashMap<String, Route>,
    /// Literal prefixes of resource templates -> host.
    prefixes: Vec<(String, String)>,
}

/// The routes of every list kind.
#[derive(Default)]
pub(super) struct Routes {
    tables: [RwLock<Table>; 4],
}

impl Routes {
    pub(super) fn set(&self, kind: ListKind, table: Table) {
        *self.tables[kind.index()].write() = table;
    }

    pub(super) fn clear(&self) {
        for table in &self.tables {
            *table.write() = Table::default();
        }
    }

    /// The host (and original name) behind `key`; a resource URI no list
    /// named goes to the host whose template prefix matches longest.
    pub(super) fn find(&self, kind: ListKind, key: &str) -> Option<Route> {
        if let Some(route) = self.tables[kind.index()].read().exact.get(key) {
            return Some(route.clone());
        }
        if kind != ListKind::Resources {
            return None;
        }
        let templates = self.tables[ListKind::ResourceTemplates.index()].read();
        let hit = templates.prefixes.iter().filter(|(p, _)| key.starts_with(p.as_str())).max_by_key(|(p, _)| p.len());
        hit.map(|(_, host)| (host.clone(), None))
    }
}

/// Whether `host` exposes lists of `kind` at all.
pub(super) fn offers(host: &Host, kind: ListKind) -> bool {
    let Some(expose) = &host.expose else { return false };
    match kind {
        ListKind::Tools => true,
        ListKind::Prompts => expose.prompts,
        ListKind::Resources | ListKind::ResourceTemplates => expose.resources,
    }
}

fn client_safe(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
}

type Members = BTreeMap<String, Box<RawValue>>;

fn string_member(entry: &RawValue, key: &str) -> Option<String> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Keys {
        name: Option<String>,
        uri: Option<String>,
        uri_template: Option<String>,
    }
    let keys: Keys = serde_json::from_str(entry.get()).ok()?;
    match key {
        "name" => keys.name,
        "uri" => keys.uri,
        _ => keys.uri_template,
    }
}

/// The entries of `host`'s list that it exposes, renamed, recording their
/// routes in `table`. A name already taken by an earlier host is skipped.
pub(super) fn adopt(host: &Host, kind: ListKind, list: Vec<Box<RawValue>>, table: &mut Table) -> Vec<Box<RawValue>> {
    let Some(expose) = &host.expose else { return Vec::new() };
    let mut out = Vec::with_capacity(list.len());
    for entry in list {
        let adopted = match kind {
            ListKind::Tools | ListKind::Prompts => {
                let Some(name) = string_member(&entry, "name") else { continue };
                if kind == ListKind::Tools && !expose.exposes_tool(&name) {
                    continue;
                }
                let exposed = format!("{}{name}", expose.prefix);
                if !client_safe(&exposed) {
                    tracing::warn!(host = host.name, name = exposed, "not exposed: not a client-safe name");
                    continue;
                }
                let Some(entry) = renamed(entry, &name, &exposed) else { continue };
                (exposed, Some(name), entry)
            }
            ListKind::Resources => {
                let Some(uri) = string_member(&entry, "uri") else { continue };
                (uri, None, entry)
            }
            ListKind::ResourceTemplates => {
                let Some(template) = string_member(&entry, "uriTemplate") else { continue };
                let prefix = template.split('{').next().unwrap_or_default().to_owned();
                table.prefixes.push((prefix, host.name.clone()));
                (template, None, entry)
            }
        };
        let (key, original, entry) = adopted;
        if table.exact.contains_key(&key) {
            tracing::warn!(host = host.name, key, "not exposed: the name is taken by another host");
            continue;
        }
        table.exact.insert(key, (host.name.clone(), original));
        out.push(entry);
    }
    out
}

/// `entry` with its `name` replaced; unchanged when no rename is needed.
fn renamed(entry: Box<RawValue>, from: &str, to: &str) -> Option<Box<RawValue>> {
    if from == to {
        return Some(entry);
    }
    let mut members: Members = serde_json::from_str(entry.get()).ok()?;
    members.insert("name".into(), serde_json::value::to_raw_value(to).ok()?);
    serde_json::value::to_raw_value(&members).ok()
}

/// The list kind and key a request is routed by.
pub(super) fn target(req: &Request) -> Result<(ListKind, String), RpcError> {
    #[derive(Deserialize)]
    struct Params {
        name: Option<String>,
        uri: Option<String>,
        #[serde(rename = "ref")]
        target: Option<Ref>,
    }
    #[derive(Deserialize)]
    struct Ref {
        #[serde(rename = "type")]
        kind: String,
        name: Option<String>,
        uri: Option<String>,
    }
    let p: Params = req.params_as()?;
    let missing = |what: &str| RpcError::invalid_params(format!("{}: missing {what}", req.method));
    match req.method.as_str() {
        method::TOOLS_CALL => Ok((ListKind::Tools, p.name.ok_or_else(|| missing("name"))?)),
        method::PROMPTS_GET => Ok((ListKind::Prompts, p.name.ok_or_else(|| missing("name"))?)),
        method::RESOURCES_READ | method::RESOURCES_SUBSCRIBE | method::RESOURCES_UNSUBSCRIBE => {
            Ok((ListKind::Resources, p.uri.ok_or_else(|| missing("uri"))?))
        }
        method::COMPLETION_COMPLETE => {
            let r = p.target.ok_or_else(|| missing("ref"))?;
            match r.kind.as_str() {
                "ref/prompt" => Ok((ListKind::Prompts, r.name.ok_or_else(|| missing("ref.name"))?)),
                _ => Ok((ListKind::Resources, r.uri.ok_or_else(|| missing("ref.uri"))?)),
            }
        }
        other => Err(RpcError::method_not_found(other)),
    }
}

/// `req` with the exposed name replaced by the host's own `original`.
pub(super) fn rename(mut req: Request, original: &str) -> Result<Request, RpcError> {
    let bad = |e: serde_json::Error| RpcError::invalid_params(format!("params must be an object: {e}"));
    let raw = req.params.take().ok_or_else(|| RpcError::invalid_params("missing params"))?;
    let mut params: Members = serde_json::from_str(raw.get()).map_err(bad)?;
    let name = serde_json::value::to_raw_value(original).map_err(|e| RpcError::internal(e.to_string()))?;
    if req.method == method::COMPLETION_COMPLETE {
        let reference = params.get("ref").ok_or_else(|| RpcError::invalid_params("missing ref"))?;
        let mut reference: Members = serde_json::from_str(reference.get()).map_err(bad)?;
        reference.insert("name".into(), name);
        params.insert("ref".into(), serde_json::value::to_raw_value(&reference).map_err(bad)?);
    } else {
        params.insert("name".into(), name);
    }
    req.params = Some(serde_json::value::to_raw_value(&params).map_err(bad)?);
    Ok(req)
}

/// The error for a name or URI no exposed host offers.
pub(super) fn not_found(req: &Request, key: &str) -> RpcError {
    match req.method.as_str() {
        method::TOOLS_CALL => RpcError::invalid_params(format!("unknown tool: {key}")),
        method::PROMPTS_GET => RpcError::invalid_params(format!("unknown prompt: {key}")),
        _ => RpcError::new(code::RESOURCE_NOT_FOUND, format!("resource not found: {key}"))
            .with_data(serde_json::json!({ "uri": key })),
    }
}
