//! Many upstreams behind one backend: which upstream answers for a name or
//! URI, and the renaming that makes their names client-safe and unique.
//!
//! The hub exposes chosen agents' tools under prefixed names, and an agent
//! offers every supervised server's tools as `server__tool`. Both learn the
//! routes from the lists they merge, keep them in [`Routes`], and turn a
//! request for a merged name back into the upstream's own with [`rename`].
//! Entries stay raw: only `name`, `uri` and `uriTemplate` are read, and a
//! renamed entry keeps every other member byte for byte.

use herd_proto::{ListKind, Request, RpcError, code, method};
use parking_lot::RwLock;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::collections::{BTreeMap, HashMap};

/// Who answers for a merged name: the upstream (`source`) and its own name
/// when the merged one differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The upstream, e.g. a host or a server name.
    pub source: String,
    /// The upstream's own name, when renamed.
    pub original: Option<String>,
}

/// The routes learned from one list.
#[derive(Default)]
pub struct Table {
    /// Merged name or URI -> route.
    exact: HashMap<String, Route>,
    /// Literal prefixes of resource templates -> source.
    prefixes: Vec<(String, String)>,
}

impl Table {
    /// Records that `key` goes to `route`; false (and nothing recorded)
    /// when an earlier upstream took the key.
    pub fn insert(&mut self, key: String, route: Route) -> bool {
        if self.exact.contains_key(&key) {
            return false;
        }
        self.exact.insert(key, route);
        true
    }

    /// Records a resource template of `source`, so URIs under its literal
    /// prefix find it.
    pub fn add_template(&mut self, template: &str, source: &str) {
        let prefix = template.split('{').next().unwrap_or_default().to_owned();
        self.prefixes.push((prefix, source.to_owned()));
    }
}

/// The routes of every list kind.
#[derive(Default)]
pub struct Routes {
    tables: [RwLock<Table>; 4],
}

impl Routes {
    /// Replaces the routes of one list kind.
    pub fn set(&self, kind: ListKind, table: Table) {
        *self.tables[kind.index()].write() = table;
    }

    /// Forgets every route (lists will be asked again).
    pub fn clear(&self) {
        for table in &self.tables {
            *table.write() = Table::default();
        }
    }

    /// Forgets the routes of one source.
    pub fn forget(&self, source: &str) {
        for table in &self.tables {
            let mut table = table.write();
            table.exact.retain(|_, route| route.source != source);
            table.prefixes.retain(|(_, s)| s != source);
        }
    }

    /// The route for `key`; a resource URI no list named goes to the source
    /// whose template prefix matches longest.
    pub fn find(&self, kind: ListKind, key: &str) -> Option<Route> {
        if let Some(route) = self.tables[kind.index()].read().exact.get(key) {
            return Some(route.clone());
        }
        if kind != ListKind::Resources {
            return None;
        }
        let templates = self.tables[ListKind::ResourceTemplates.index()].read();
        let hit = templates.prefixes.iter().filter(|(p, _)| key.starts_with(p.as_str())).max_by_key(|(p, _)| p.len());
        hit.map(|(_, source)| Route { source: source.clone(), original: None })
    }
}

/// Whether clients accept `name` as a tool or prompt name
/// (`^[a-zA-Z0-9_-]{1,64}$`).
pub fn client_safe(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
}

/// The member of a list entry that names it: `name` for tools and
/// prompts, `uri` for resources, `uriTemplate` for templates.
pub fn entry_key(entry: &RawValue, kind: ListKind) -> Option<String> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Keys {
        name: Option<String>,
        uri: Option<String>,
        uri_template: Option<String>,
    }
    let keys: Keys = serde_json::from_str(entry.get()).ok()?;
    match kind {
        ListKind::Tools | ListKind::Prompts => keys.name,
        ListKind::Resources => keys.uri,
        ListKind::ResourceTemplates => keys.uri_template,
    }
}

type Members = BTreeMap<String, Box<RawValue>>;

/// `entry` with its `name` replaced; unchanged when no rename is needed.
pub fn renamed(entry: Box<RawValue>, from: &str, to: &str) -> Option<Box<RawValue>> {
    if from == to {
        return Some(entry);
    }
    let mut members: Members = serde_json::from_str(entry.get()).ok()?;
    members.insert("name".into(), serde_json::value::to_raw_value(to).ok()?);
    serde_json::value::to_raw_value(&members).ok()
}

/// The list kind and key a request is routed by.
pub fn target(req: &Request) -> Result<(ListKind, String), RpcError> {
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

/// `req` with the merged name replaced by the upstream's own `original`.
pub fn rename(mut req: Request, original: &str) -> Result<Request, RpcError> {
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

/// The error for a name or URI no upstream offers.
pub fn not_found(req: &Request, key: &str) -> RpcError {
    match req.method.as_str() {
        method::TOOLS_CALL => RpcError::invalid_params(format!("unknown tool: {key}")),
        method::PROMPTS_GET => RpcError::invalid_params(format!("unknown prompt: {key}")),
        _ => RpcError::new(code::RESOURCE_NOT_FOUND, format!("resource not found: {key}"))
            .with_data(serde_json::json!({ "uri": key })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(source: &str) -> Route {
        Route { source: source.into(), original: None }
    }

    #[test]
    fn first_source_keeps_a_name_and_templates_match_longest_prefix() {
        let mut tools = Table::default();
        assert!(tools.insert("t".into(), route("a")));
        assert!(!tools.insert("t".into(), route("b")));
        let mut templates = Table::default();
        templates.add_template("file:///{path}", "a");
        templates.add_template("file:///etc/{name}", "b");
        let routes = Routes::default();
        routes.set(ListKind::Tools, tools);
        routes.set(ListKind::ResourceTemplates, templates);
        assert_eq!(routes.find(ListKind::Tools, "t"), Some(route("a")));
        assert_eq!(routes.find(ListKind::Resources, "file:///etc/hosts"), Some(route("b")));
        assert_eq!(routes.find(ListKind::Resources, "file:///tmp/x"), Some(route("a")));
        routes.forget("a");
        assert_eq!(routes.find(ListKind::Tools, "t"), None);
        assert_eq!(routes.find(ListKind::Resources, "file:///tmp/x"), None);
    }

    #[test]
    fn renaming_keeps_unknown_members() {
        let entry = RawValue::from_string(r#"{"name":"echo","x-vendor":1e400}"#.into()).unwrap();
        let out = renamed(entry, "echo", "srv__echo").unwrap();
        assert!(out.get().contains(r#""name":"srv__echo""#), "{}", out.get());
        assert!(out.get().contains("1e400"), "{}", out.get());
        assert!(client_safe("srv__echo") && !client_safe("a.b") && !client_safe(&"x".repeat(65)));
    }
}
