//! Every running server's tools, resources and prompts as one backend.
//!
//! A server's tool `t` is offered as `server__t` (prompts the same way), so
//! two servers never clash and a client sees where a tool comes from;
//! resource URIs stay as they are. Lists are asked of each running server
//! once and kept until it says they changed or it restarts, so a listing
//! does not wait on a busy child; a server that does not answer within the
//! list timeout is left out of that listing, not waited for.

use crate::Runner;
use crate::supervisor::Link;
use herd_proto::{Backend, BoxFuture, Context, ListKind, Notification, Notifier, Request, RpcError, code, method};
use herd_upstream::routes::{self, Route, Routes, Table, client_safe, entry_key, renamed};
use parking_lot::Mutex;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// Between a server's name and its own name for a tool or prompt.
pub(crate) const SEPARATOR: &str = "__";

/// A server's list, shared between the cache and listings.
type List = Arc<Vec<Box<RawValue>>>;

/// What the runner knows of its servers' lists.
#[derive(Default)]
pub(crate) struct Lists {
    routes: Routes,
    cache: Mutex<HashMap<(String, ListKind), List>>,
}

impl Lists {
    /// Forgets a server's lists (it changed, restarted or left), so the
    /// next listing asks it again. Its routes stay until that listing
    /// replaces them: a call racing the change still finds the server, and
    /// a server that left answers "no such server" itself.
    pub(crate) fn forget(&self, server: &str) {
        self.cache.lock().retain(|(name, _), _| name != server);
    }
}

/// The name a server's tool or prompt is offered under: `server__name`,
/// with characters clients refuse replaced by `_`, and cut (with a hash of
/// the whole, to stay unique) to 64 characters.
pub(crate) fn offered(server: &str, name: &str) -> String {
    let mut out: String = format!("{server}{SEPARATOR}{name}")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' })
        .collect();
    if out.len() > 64 {
        let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
        out.truncate(55);
        out.push_str(&format!("_{:08x}", hash as u32));
    }
    out
}

/// The backend over the runner's servers.
pub(crate) struct Servers {
    runner: Runner,
}

impl Servers {
    pub(crate) fn new(runner: Runner) -> Self {
        Self { runner }
    }
}

fn offers(link: &Link, kind: ListKind) -> bool {
    let key = match kind {
        ListKind::Tools => "tools",
        ListKind::Prompts => "prompts",
        ListKind::Resources | ListKind::ResourceTemplates => "resources",
    };
    link.capabilities.contains_key(key)
}

/// One running server's list, from the cache or asked now.
async fn list_of(runner: &Runner, name: &str, link: &Link, kind: ListKind) -> Option<List> {
    let lists = &runner.inner.lists;
    let key = (name.to_owned(), kind);
    if let Some(hit) = lists.cache.lock().get(&key) {
        return Some(hit.clone());
    }
    let asked = tokio::time::timeout(runner.inner.config.list_timeout, link.relay.list(kind, Context::detached()));
    match asked.await {
        Ok(Ok(list)) => {
            let list = Arc::new(list);
            lists.cache.lock().insert(key, list.clone());
            Some(list)
        }
        Ok(Err(err)) => {
            tracing::warn!(server = name, list = kind.method(), %err, "a server failed to list");
            None
        }
        Err(_) => {
            tracing::warn!(server = name, list = kind.method(), "a server did not list in time; left out");
            None
        }
    }
}

async fn merged_list(runner: Runner, kind: ListKind) -> Vec<Box<RawValue>> {
    let running: Vec<(String, Arc<Link>)> = {
        let servers = runner.inner.servers.read();
        servers.iter().filter_map(|(n, s)| s.link.load_full().map(|l| (n.clone(), l))).collect()
    };
    let running: Vec<_> = running.into_iter().filter(|(_, link)| offers(link, kind)).collect();
    let lists =
        futures_util::future::join_all(running.iter().map(|(name, link)| list_of(&runner, name, link, kind))).await;
    let mut table = Table::default();
    let mut out = Vec::new();
    for ((server, _), list) in running.iter().zip(lists) {
        for entry in list.iter().flat_map(|l| l.iter()) {
            let Some(key) = entry_key(entry, kind) else { continue };
            let (merged, original, entry) = match kind {
                ListKind::Tools | ListKind::Prompts => {
                    let name = offered(server, &key);
                    let Some(entry) = renamed(entry.clone(), &key, &name) else { continue };
                    (name, Some(key), entry)
                }
                ListKind::ResourceTemplates => {
                    table.add_template(&key, server);
                    (key, None, entry.clone())
                }
                ListKind::Resources => (key, None, entry.clone()),
            };
            debug_assert!(kind == ListKind::Resources || kind == ListKind::ResourceTemplates || client_safe(&merged));
            if table.insert(merged.clone(), Route { source: server.clone(), original }) {
                out.push(entry);
            } else {
                tracing::warn!(server, name = merged, "not offered: another server has the same name");
            }
        }
    }
    runner.inner.lists.routes.set(kind, table);
    out
}

async fn call(runner: Runner, req: Request, cx: Context) -> Result<Box<RawValue>, RpcError> {
    let (kind, key) = routes::target(&req)?;
    let mut route = runner.inner.lists.routes.find(kind, &key);
    if route.is_none() {
        merged_list(runner.clone(), kind).await;
        if kind == ListKind::Resources {
            merged_list(runner.clone(), ListKind::ResourceTemplates).await;
        }
        route = runner.inner.lists.routes.find(kind, &key);
    }
    let Some(Route { source, original }) = route else { return Err(routes::not_found(&req, &key)) };
    let server = runner.server(&source).ok_or_else(|| routes::not_found(&req, &key))?;
    let Some(link) = server.link.load_full() else {
        let status = server.status();
        let why = status.error.map(|e| format!(": {e}")).unwrap_or_default();
        let message = format!("server {source} is {}{why}", status.state.as_str());
        return Err(RpcError::new(code::UPSTREAM_UNAVAILABLE, message));
    };
    let req = match original {
        Some(original) if original != key => routes::rename(req, &original)?,
        _ => req,
    };
    link.relay.call(req, cx).await
}

impl Backend for Servers {
    fn capabilities(&self) -> Map<String, Value> {
        let caps = json!({
            "tools": { "listChanged": true },
            "resources": { "subscribe": true, "listChanged": true },
            "prompts": { "listChanged": true },
            "completions": {}
        });
        caps.as_object().cloned().unwrap_or_default()
    }

    fn list(&self, kind: ListKind, _cx: Context) -> BoxFuture<'static, Result<Vec<Box<RawValue>>, RpcError>> {
        let runner = self.runner.clone();
        Box::pin(async move { Ok(merged_list(runner, kind).await) })
    }

    fn call(&self, req: Request, cx: Context) -> BoxFuture<'static, Result<Box<RawValue>, RpcError>> {
        Box::pin(call(self.runner.clone(), req, cx))
    }

    fn notify(&self, notification: &Notification) {
        if notification.method != method::ROOTS_LIST_CHANGED {
            return;
        }
        for server in self.runner.inner.servers.read().values() {
            if let Some(link) = server.link.load_full() {
                let notification = notification.clone();
                tokio::spawn(async move { herd_upstream::Upstream::notify(&*link.upstream, notification).await });
            }
        }
    }

    fn attach(&self, notifier: Notifier) {
        let _ = self.runner.inner.notifier.set(notifier);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offered_names_are_client_safe_and_distinct() {
        assert_eq!(offered("time", "get_current_time"), "time__get_current_time");
        assert_eq!(offered("fs", "read.file v2"), "fs__read_file_v2");
        let long_a = offered("server", &"a".repeat(80));
        let long_b = offered("server", &format!("{}b", "a".repeat(79)));
        assert!(client_safe(&long_a) && client_safe(&long_b));
        assert_ne!(long_a, long_b);
    }
}
