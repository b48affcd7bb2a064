//! First-class exposure: chosen tools, resources and prompts of chosen
//! hosts' agents offered to clients under their own names, beside the
//! `remote_*` tools.
//!
//! A host opts in with `expose` in the registry (which tools, a name
//! prefix, whether resources and prompts come too). Lists are asked of
//! every exposed host whose agent is UP, in parallel and within the probe
//! budget, so a dead host never slows a list; names are prefixed, checked
//! against `^[a-zA-Z0-9_-]{1,64}$` (clients reject others) and remembered,
//! so a call finds its host and original name again. Everything else in an
//! entry, and every request and result, passes through the relay as is.
//!
//! When an exposed host goes down or comes back, or the registry changes,
//! clients get `list_changed` for tools, prompts and resources; when an
//! exposed agent says its own lists or a resource changed, clients are told
//! too (see `listen`).
//!
//! Every entry is shown only to a caller who may act on it on its host
//! (with the host's tags), and every call is decided the same way: a tool
//! as the host's tool under its own name, with the annotation its listing
//! gave; resources, prompts and completions as reading that host. The
//! routing table always holds every entry, whoever listed.

mod listen;
mod routes;

use crate::Fleet;
use herd_auth::{Action, Tool};
use herd_fleet::Host;
use herd_proto::{Backend, BoxFuture, Context, ListKind, Notifier, Request, RpcError, method};
use herd_telemetry::McpSpan;
use herd_upstream::Relay;
use herd_upstream::routes::{self as merged, Route, Routes};
use parking_lot::Mutex;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, OnceLock, Weak};

/// The exposed part of the fleet, as one backend.
pub struct Exposed {
    inner: Arc<Inner>,
}

struct Inner {
    fleet: Arc<Fleet>,
    routes: Routes,
    notifier: OnceLock<Notifier>,
    /// Exposed hosts that were UP when clients were last told.
    announced: Mutex<BTreeSet<String>>,
    /// The agent sessions listened on, by host.
    listeners: Mutex<HashMap<String, listen::Listening>>,
    /// Exposed tool name → its `readOnlyHint`, from the last tools listing.
    hints: Mutex<HashMap<String, Option<bool>>>,
}

impl Exposed {
    /// The exposure of `fleet`'s hosts.
    pub fn new(fleet: Arc<Fleet>) -> Self {
        let inner = Inner {
            fleet,
            routes: Routes::default(),
            notifier: OnceLock::new(),
            announced: Mutex::default(),
            listeners: Mutex::default(),
            hints: Mutex::default(),
        };
        let exposed = Self { inner: Arc::new(inner) };
        *exposed.inner.announced.lock() = names(&exposed.inner.live());
        exposed
    }

    /// Tells clients that lists changed if the set of live exposed hosts
    /// did (after a registry reload, or a host going up or down), and
    /// listens to the agents of the live ones.
    pub fn check(&self) {
        self.inner.check();
    }
}

impl Inner {
    /// Exposed hosts whose agent is UP.
    fn live(&self) -> Vec<Host> {
        let registry = self.fleet.registry();
        let health = self.fleet.health();
        let live = |h: &&Host| h.expose.is_some() && health.state(&h.name).is_some_and(|s| s.is_up());
        registry.hosts().iter().filter(live).cloned().collect()
    }

    fn check(self: &Arc<Self>) {
        let live = self.live();
        self.listen_to(&live);
        let now = names(&live);
        let changed = {
            let mut announced = self.announced.lock();
            let changed = *announced != now;
            *announced = now;
            changed
        };
        if changed {
            self.routes.clear();
            if let Some(notifier) = self.notifier.get() {
                for m in [method::TOOLS_LIST_CHANGED, method::PROMPTS_LIST_CHANGED, method::RESOURCES_LIST_CHANGED] {
                    notifier.send_method(m);
                }
            }
        }
    }

    fn relay(&self, host: &Host, timeout: std::time::Duration) -> Result<Relay, RpcError> {
        self.fleet.relay(host, timeout).map_err(|why| {
            RpcError::new(herd_proto::code::UPSTREAM_UNAVAILABLE, format!("{}: agent: {why}", host.name))
        })
    }

    async fn list(self: Arc<Self>, kind: ListKind, cx: Context) -> Vec<Box<RawValue>> {
        let budget = self.fleet.health().config().budget;
        let hosts: Vec<Host> = self.live().into_iter().filter(|h| routes::offers(h, kind)).collect();
        let lists = futures_util::future::join_all(hosts.iter().map(|host| {
            let (cx, this) = (cx.clone(), &self);
            async move {
                let relay = this.relay(host, budget)?;
                relay.list(kind, cx).await
            }
        }))
        .await;
        let mut entries = Vec::new();
        let mut table = merged::Table::default();
        let mut hints = HashMap::new();
        for (host, list) in hosts.iter().zip(lists) {
            let list = match list {
                Ok(list) => list,
                Err(err) => {
                    tracing::warn!(host = host.name, list = kind.method(), %err, "exposed host failed to list");
                    continue;
                }
            };
            for (own, entry) in routes::adopt(host, kind, list, &mut table) {
                let mut hint = None;
                if kind == ListKind::Tools
                    && let Ok(value) = serde_json::from_str::<Value>(entry.get())
                    && let Some(tool) = Tool::from_listing(&value)
                {
                    hint = tool.read_only;
                    hints.insert(tool.name.to_owned(), hint);
                }
                if herd_guard::may(&cx, &action(kind, None, host, &own, hint)) {
                    entries.push(entry);
                }
            }
        }
        self.routes.set(kind, table);
        if kind == ListKind::Tools {
            *self.hints.lock() = hints;
        }
        entries
    }

    async fn call(self: Arc<Self>, req: Request, cx: Context) -> Result<Box<RawValue>, RpcError> {
        let (kind, key) = merged::target(&req)?;
        let mut route = self.routes.find(kind, &key);
        if route.is_none() {
            let _ = self.clone().list(kind, Context::detached()).await;
            if kind == ListKind::Resources {
                let _ = self.clone().list(ListKind::ResourceTemplates, Context::detached()).await;
            }
            route = self.routes.find(kind, &key);
        }
        let Some(Route { source: host_name, original }) = route else { return Err(merged::not_found(&req, &key)) };
        let host = self.fleet.host(&host_name).map_err(|e| RpcError::invalid_params(e.to_string()))?;
        let own = original.as_deref().unwrap_or(&key);
        let hint = self.hints.lock().get(&key).copied().flatten();
        herd_guard::check(&cx, &action(kind, Some(&req.method), &host, own, hint))?;
        let relay = self.relay(&host, self.fleet.config().call_timeout)?;
        let named = req.method == method::TOOLS_CALL || req.method == method::PROMPTS_GET;
        let span = crate::trace::call(&req.method, named.then_some(own), &host.name, "http");
        let req = match original {
            Some(original) if original != key => merged::rename(req, &original)?,
            _ => req,
        };
        let outcome = McpSpan::instrument(span.as_ref(), relay.call(req, cx)).await;
        match &outcome {
            Ok(result) => crate::trace::answered(span.as_ref(), result),
            Err(err) => crate::trace::failed(span.as_ref(), err),
        }
        outcome
    }
}

impl Backend for Exposed {
    fn capabilities(&self) -> Map<String, Value> {
        let caps = json!({
            "tools": { "listChanged": true },
            "resources": { "subscribe": true, "listChanged": true },
            "prompts": { "listChanged": true },
            "completions": {},
            "logging": {}
        });
        caps.as_object().cloned().unwrap_or_default()
    }

    fn list(&self, kind: ListKind, cx: Context) -> BoxFuture<'static, Result<Vec<Box<RawValue>>, RpcError>> {
        let inner = self.inner.clone();
        Box::pin(async move { Ok(inner.list(kind, cx).await) })
    }

    fn call(&self, req: Request, cx: Context) -> BoxFuture<'static, Result<Box<RawValue>, RpcError>> {
        Box::pin(self.inner.clone().call(req, cx))
    }

    fn notify(&self, notification: &herd_proto::Notification) {
        if notification.method != method::ROOTS_LIST_CHANGED {
            return;
        }
        for host in self.inner.live() {
            if let Some(upstream) = self.inner.fleet.prober().existing(&host) {
                let notification = notification.clone();
                tokio::spawn(async move { herd_upstream::Upstream::notify(&*upstream, notification).await });
            }
        }
    }

    fn attach(&self, notifier: Notifier) {
        if self.inner.notifier.set(notifier).is_err() {
            return;
        }
        self.inner.listen_to(&self.inner.live());
        let weak = Arc::downgrade(&self.inner);
        let flips = self.inner.fleet.health().flips();
        tokio::spawn(watch_flips(weak, flips));
    }
}

/// What acting on an exposed entry of `kind` (by `method`, when calling)
/// is on `host`: `own` is the entry's name there.
fn action<'a>(kind: ListKind, method: Option<&str>, host: &'a Host, own: &'a str, hint: Option<bool>) -> Action<'a> {
    let on = herd_auth::Host { name: &host.name, tags: &host.tags };
    match (method, kind) {
        (Some(method::COMPLETION_COMPLETE), _) => Action::Complete(on),
        (_, ListKind::Tools) => Action::CallTool { host: on, tool: Tool { name: own, read_only: hint } },
        (_, ListKind::Prompts) => Action::GetPrompt(on),
        (_, ListKind::Resources | ListKind::ResourceTemplates) => Action::ReadResource(on),
    }
}

impl herd_guard::Locate for Exposed {
    fn host_of(&self, req: &Request) -> Option<String> {
        let (kind, key) = merged::target(req).ok()?;
        self.inner.routes.find(kind, &key).map(|route| route.source)
    }
}

fn names(hosts: &[Host]) -> BTreeSet<String> {
    hosts.iter().map(|h| h.name.clone()).collect()
}

/// Re-checks the live set whenever some host's up-ness flips, until the
/// backend is gone.
async fn watch_flips(inner: Weak<Inner>, mut flips: tokio::sync::watch::Receiver<u64>) {
    while flips.changed().await.is_ok() {
        let Some(inner) = inner.upgrade() else { return };
        inner.check();
    }
}
