//! Lists merged across backends, paginated, and the routing tables they
//! yield: which backend owns which tool, prompt and resource.
//!
//! With one backend there is nothing to merge or route, and every lookup
//! answers "backend 0" without listing anything. With several, the first
//! backend to list a name owns it; the table is rebuilt lazily after a
//! backend says its list changed, and when a name is not in it (so an
//! unknown name costs one listing).

use crate::Shared;
use futures_util::future::join_all;
use herd_proto::{Context, ListKind, Request, RpcError, method};
use parking_lot::RwLock;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::collections::HashMap;
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Deserialize)]
pub(crate) struct UriOnly {
    pub(crate) uri: String,
}

/// Who owns what, per list kind; `None` until first needed.
///
/// Each kind has a generation, bumped by every invalidation: a listing
/// that started before a backend's list changed must not store its
/// (stale) table after the change, or the new names would stay unknown.
#[derive(Default)]
pub(crate) struct Routes {
    tables: [RwLock<Option<Arc<Table>>>; 4],
    generations: [AtomicU64; 4],
    /// The arguments each tool mirrors into `Mcp-Param-*` headers (the
    /// stateless revision); `None` until first needed, forgotten with the
    /// tools table.
    pub(crate) mirrors: RwLock<Option<Arc<crate::stateless::Mirrors>>>,
}

#[derive(Default)]
struct Table {
    exact: HashMap<String, usize>,
    /// Literal prefixes of resource templates, for URIs no list names.
    prefixes: Vec<(String, usize)>,
}

impl Table {
    /// The backend of the longest template prefix `uri` starts with.
    fn by_prefix(&self, uri: &str) -> Option<usize> {
        let hit = self.prefixes.iter().filter(|(p, _)| uri.starts_with(p.as_str())).max_by_key(|(p, _)| p.len());
        hit.map(|(_, i)| *i)
    }
}

/// The backend owning `key` (a tool or prompt name, a resource URI).
pub(crate) async fn owner(shared: &Arc<Shared>, kind: ListKind, key: Option<&str>) -> Option<usize> {
    if shared.backends.len() == 1 {
        return Some(0);
    }
    let key = key?;
    if let Some(Some(found)) = lookup(shared, kind, key) {
        return Some(found);
    }
    // Not in the table (or no table): list again. A name missing from a
    // table may be new: `list_changed` travels asynchronously, so a tool
    // that just appeared can be called before the table is invalidated.
    // Answer from the listing just made, even if a list change meanwhile
    // kept it from being stored.
    if let Some(&i) = refresh(shared, kind).await.exact.get(key) {
        return Some(i);
    }
    if kind == ListKind::Resources {
        return refresh(shared, ListKind::ResourceTemplates).await.by_prefix(key);
    }
    None
}

/// `None`: the table is not built yet.
fn lookup(shared: &Shared, kind: ListKind, key: &str) -> Option<Option<usize>> {
    let table = shared.routes.tables[kind.index()].read();
    let table = table.as_ref()?;
    if let Some(&i) = table.exact.get(key) {
        return Some(Some(i));
    }
    if kind == ListKind::Resources {
        let templates = shared.routes.tables[ListKind::ResourceTemplates.index()].read();
        return templates.as_ref().map(|t| t.by_prefix(key));
    }
    Some(None)
}

async fn refresh(shared: &Arc<Shared>, kind: ListKind) -> Arc<Table> {
    merged(shared, kind, Context::detached()).await.map(|(_, table)| table).unwrap_or_default()
}

/// Forgets a routing table when a backend says the list changed.
pub(crate) fn invalidate(shared: &Shared, notification_method: &str) {
    let kinds: &[ListKind] = match notification_method {
        method::TOOLS_LIST_CHANGED => &[ListKind::Tools],
        method::PROMPTS_LIST_CHANGED => &[ListKind::Prompts],
        method::RESOURCES_LIST_CHANGED => &[ListKind::Resources, ListKind::ResourceTemplates],
        _ => &[],
    };
    for kind in kinds {
        let mut table = shared.routes.tables[kind.index()].write();
        shared.routes.generations[kind.index()].fetch_add(1, Ordering::AcqRel);
        *table = None;
        if *kind == ListKind::Tools {
            *shared.routes.mirrors.write() = None;
        }
    }
}

/// How many times the tools list was said to change: a listing made across
/// a change must not be kept.
pub(crate) fn tools_generation(shared: &Shared) -> u64 {
    shared.routes.generations[ListKind::Tools.index()].load(Ordering::Acquire)
}

/// Every backend's tools as `cx`'s principal sees them, first owner of a
/// name wins.
pub(crate) async fn tools(shared: &Arc<Shared>, cx: Context) -> Result<Vec<Box<RawValue>>, RpcError> {
    merged(shared, ListKind::Tools, cx).await.map(|(entries, _)| entries)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Keyed {
    name: Option<String>,
    uri: Option<String>,
    uri_template: Option<String>,
}

fn key_of(kind: ListKind, entry: &RawValue) -> Option<String> {
    let k: Keyed = serde_json::from_str(entry.get()).ok()?;
    match kind {
        ListKind::Tools | ListKind::Prompts => k.name,
        ListKind::Resources => k.uri,
        ListKind::ResourceTemplates => k.uri_template,
    }
}

/// Every backend's entries, first owner of a key wins; rebuilds the table.
async fn merged(
    shared: &Arc<Shared>,
    kind: ListKind,
    cx: Context,
) -> Result<(Vec<Box<RawValue>>, Arc<Table>), RpcError> {
    if shared.backends.len() == 1 {
        return Ok((shared.backends[0].list(kind, cx).await?, Arc::default()));
    }
    let generation = shared.routes.generations[kind.index()].load(Ordering::Acquire);
    let lists = join_all(shared.backends.iter().map(|b| b.list(kind, cx.clone()))).await;
    let mut entries = Vec::new();
    let mut table = Table::default();
    let mut seen = HashSet::new();
    for (i, list) in lists.into_iter().enumerate() {
        let list = match list {
            Ok(list) => list,
            Err(err) => {
                tracing::warn!(backend = i, list = kind.method(), %err, "a backend failed to list; leaving it out");
                continue;
            }
        };
        for entry in list {
            let Some(key) = key_of(kind, &entry) else { continue };
            if !seen.insert(key.clone()) {
                tracing::debug!(backend = i, key, "name already taken by an earlier backend");
                continue;
            }
            if kind == ListKind::ResourceTemplates {
                let prefix = key.split('{').next().unwrap_or_default().to_owned();
                table.prefixes.push((prefix, i));
            }
            table.exact.insert(key, i);
            entries.push(entry);
        }
    }
    let table = Arc::new(table);
    let mut slot = shared.routes.tables[kind.index()].write();
    if shared.routes.generations[kind.index()].load(Ordering::Acquire) == generation {
        *slot = Some(table.clone());
    }
    Ok((entries, table))
}

/// Answers a list request: merged entries, one page at a time.
pub(crate) async fn list(
    shared: &Arc<Shared>,
    kind: ListKind,
    req: &Request,
    cx: Context,
) -> Result<Box<RawValue>, RpcError> {
    #[derive(Deserialize)]
    struct Params {
        cursor: Option<String>,
    }
    let params: Params = req.params_as()?;
    let start = match params.cursor.as_deref() {
        None => 0,
        Some(c) => c.parse::<usize>().map_err(|_| RpcError::invalid_params(format!("invalid cursor: {c}")))?,
    };
    let (entries, _) = merged(shared, kind, cx).await?;
    if start > entries.len() {
        return Err(RpcError::invalid_params("cursor is past the end of the list"));
    }
    let end = start.saturating_add(shared.config.page_size.max(1)).min(entries.len());
    let mut out = String::with_capacity(64 + entries[start..end].iter().map(|e| e.get().len() + 1).sum::<usize>());
    out.push_str("{\"");
    out.push_str(kind.key());
    out.push_str("\":[");
    for (i, entry) in entries[start..end].iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(entry.get());
    }
    out.push(']');
    if end < entries.len() {
        out.push_str(",\"nextCursor\":\"");
        out.push_str(&end.to_string());
        out.push('"');
    }
    out.push('}');
    RawValue::from_string(out).map_err(|e| RpcError::internal(e.to_string()))
}
