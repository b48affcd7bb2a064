//! [`Guarded`]: a backend whose lists and calls ask the policy.

use crate::annotations::{Annotations, Hint, tool_of};
use crate::{Audit, check, may};
use herd_auth::{Action, Host, HubTool, Tool};
use herd_proto::{Backend, BoxFuture, Context, ListKind, Notification, Notifier, Request, RpcError, method};
use herd_store::AuditPath;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::sync::Arc;

#[cfg(test)]
mod tests;

/// What a guarded backend's entries are, for the policy.
#[derive(Clone)]
pub enum Scope {
    /// The tools, resources, prompts and completions of one host (an
    /// agent's host tools, its `servers_*` tools, its supervised servers):
    /// a tool is [`Action::CallTool`] on this host with the annotation of
    /// its listing, resources [`Action::ReadResource`], prompts
    /// [`Action::GetPrompt`], completions [`Action::Complete`]; any other
    /// method needs [`Action::SeeHost`].
    Host {
        /// The host's name, as grants name it.
        name: String,
        /// Its tags, for `@tag` grants.
        tags: Vec<String>,
    },
    /// The hub's own tools: each is listed and first decided as
    /// [`Action::HubTool`]; the backend decides the host(s) a call reaches.
    HubTools,
    /// A backend that decides every entry itself (the hub's exposure); the
    /// guard only audits, asking the [`Locate`] which host a request went to.
    Delegated(Option<Arc<dyn Locate>>),
}

/// Which host a request to a [`Scope::Delegated`] backend went to, for
/// its audit record.
pub trait Locate: Send + Sync {
    /// The host `req` was routed to, if known.
    fn host_of(&self, req: &Request) -> Option<String>;
}

/// A backend with the policy applied to its lists and calls, and its calls
/// audited. Cheap to clone.
#[derive(Clone)]
pub struct Guarded(Arc<Shared>);

struct Shared {
    inner: Arc<dyn Backend>,
    scope: Scope,
    audit: Option<Audit>,
    annotations: Arc<Annotations>,
}

impl Guarded {
    /// Guards `inner` as `scope`; audits its calls when `audit` is given.
    pub fn new(inner: Arc<dyn Backend>, scope: Scope, audit: Option<Audit>) -> Self {
        Self(Arc::new(Shared { inner, scope, audit, annotations: Arc::default() }))
    }
}

// === impl Shared ===

impl Shared {
    /// The host of a [`Scope::Host`].
    fn host(&self) -> Option<Host<'_>> {
        match &self.scope {
            Scope::Host { name, tags } => Some(Host { name, tags }),
            Scope::HubTools | Scope::Delegated(_) => None,
        }
    }

    /// Keeps the entries of a full list the request's principal may act on.
    fn filter(&self, kind: ListKind, entries: &mut Vec<Box<RawValue>>, cx: &Context) {
        match (&self.scope, self.host(), kind) {
            (Scope::HubTools, _, ListKind::Tools) => entries.retain(|entry| {
                let Some((name, _)) = tool_of(entry) else { return false };
                HubTool::named(&name).is_some_and(|hub| may(cx, &Action::HubTool(hub)))
            }),
            (_, Some(host), ListKind::Tools) => entries.retain(|entry| {
                let Some((name, read_only)) = tool_of(entry) else { return false };
                may(cx, &Action::CallTool { host, tool: Tool { name: &name, read_only } })
            }),
            (_, Some(host), ListKind::Prompts) => {
                if !may(cx, &Action::GetPrompt(host)) {
                    entries.clear();
                }
            }
            (_, Some(host), ListKind::Resources | ListKind::ResourceTemplates) => {
                if !may(cx, &Action::ReadResource(host)) {
                    entries.clear();
                }
            }
            (Scope::HubTools | Scope::Delegated(_), _, _) | (Scope::Host { .. }, None, _) => {}
        }
    }

    /// Whether the request's principal may make `req`: the same question
    /// its lists asked of the entry `req` names.
    async fn decide(&self, req: &Request, cx: &Context) -> Result<(), RpcError> {
        match (&self.scope, self.host()) {
            (Scope::HubTools, _) if req.method == method::TOOLS_CALL => match HubTool::named(&tool_name(req)?) {
                Some(hub) => check(cx, &Action::HubTool(hub)),
                // Not a hub tool: the backend says it is unknown.
                None => Ok(()),
            },
            (_, Some(host)) => {
                let action = match req.method.as_str() {
                    method::TOOLS_CALL => {
                        let name = tool_name(req)?;
                        let read_only = self.read_only(&name).await;
                        return check(cx, &Action::CallTool { host, tool: Tool { name: &name, read_only } });
                    }
                    method::RESOURCES_READ | method::RESOURCES_SUBSCRIBE | method::RESOURCES_UNSUBSCRIBE => {
                        Action::ReadResource(host)
                    }
                    method::PROMPTS_GET => Action::GetPrompt(host),
                    method::COMPLETION_COMPLETE => Action::Complete(host),
                    _ => Action::SeeHost(host),
                };
                check(cx, &action)
            }
            (Scope::HubTools | Scope::Delegated(_), _) | (Scope::Host { .. }, None) => Ok(()),
        }
    }

    /// The `readOnlyHint` of tool `name` in the backend's listing, listing
    /// again when the hints are stale.
    async fn read_only(&self, name: &str) -> Option<bool> {
        match self.annotations.hint(name) {
            Hint::Known(hint) => return hint,
            Hint::Unknown => return None,
            Hint::Stale => {}
        }
        match self.inner.list(ListKind::Tools, Context::detached()).await {
            Ok(entries) => self.annotations.learn(&entries),
            Err(err) => tracing::warn!(%err, "listing tools to read their annotations failed"),
        }
        match self.annotations.hint(name) {
            Hint::Known(hint) => hint,
            Hint::Unknown | Hint::Stale => None,
        }
    }

    async fn call(self: Arc<Self>, req: Request, cx: Context) -> Result<Box<RawValue>, RpcError> {
        let pending = self.audit.as_ref().and_then(|a| a.begin(&req, &cx));
        let allowed = self.decide(&req, &cx).await;
        let Some(mut pending) = pending else {
            allowed?;
            return self.inner.call(req, cx).await;
        };
        let located = match &self.scope {
            Scope::Host { name, .. } => Some((vec![name.clone()], Some(AuditPath::Local))),
            // Where the result names no host (a denial, a bad argument).
            Scope::HubTools => host_argument(&req).map(|host| (vec![host], None)),
            Scope::Delegated(_) => None,
        };
        let locate = match &self.scope {
            Scope::Delegated(Some(locate)) => Some((locate.clone(), req.clone())),
            _ => None,
        };
        let result = match allowed {
            Ok(()) => self.inner.call(req, cx).await,
            Err(denied) => Err(denied),
        };
        let located = located.or_else(|| {
            let (locate, req) = locate?;
            locate.host_of(&req).map(|host| (vec![host], Some(AuditPath::Agent)))
        });
        if let Some((hosts, path)) = located {
            pending.at(hosts, path);
        }
        match pending.finish(&result).await {
            Ok(()) => result,
            Err(e) => {
                tracing::error!(error = %e, "audit record not written; the answer is withheld");
                Err(RpcError::internal(format!("the request ran but its audit record could not be written: {e}")))
            }
        }
    }
}

/// `params.name` of a `tools/call`.
fn tool_name(req: &Request) -> Result<String, RpcError> {
    #[derive(Deserialize)]
    struct Params {
        name: String,
    }
    Ok(req.params_as::<Params>()?.name)
}

/// `params.arguments.host` of a hub tool call, when it is a string.
fn host_argument(req: &Request) -> Option<String> {
    #[derive(Deserialize)]
    struct Params {
        arguments: Option<Arguments>,
    }
    #[derive(Deserialize)]
    struct Arguments {
        host: Option<Value>,
    }
    let params: Params = req.params_as().ok()?;
    params.arguments?.host?.as_str().map(str::to_owned)
}

// === impl Guarded ===

impl Backend for Guarded {
    fn capabilities(&self) -> Map<String, Value> {
        self.0.inner.capabilities()
    }

    fn list(&self, kind: ListKind, cx: Context) -> BoxFuture<'static, Result<Vec<Box<RawValue>>, RpcError>> {
        let listing = self.0.inner.list(kind, cx.clone());
        let shared = self.0.clone();
        Box::pin(async move {
            let mut entries = listing.await?;
            if kind == ListKind::Tools && matches!(shared.scope, Scope::Host { .. }) {
                shared.annotations.learn(&entries);
            }
            if cx.meta().principal.is_some() {
                shared.filter(kind, &mut entries, &cx);
            }
            Ok(entries)
        })
    }

    fn call(&self, req: Request, cx: Context) -> BoxFuture<'static, Result<Box<RawValue>, RpcError>> {
        if cx.meta().principal.is_none() {
            return self.0.inner.call(req, cx);
        }
        Box::pin(self.0.clone().call(req, cx))
    }

    fn notify(&self, notification: &Notification) {
        self.0.inner.notify(notification);
    }

    fn attach(&self, notifier: Notifier) {
        // Forget the hints when the backend's tools change, then pass the
        // notification on.
        let (ours, mut changes) = Notifier::channel();
        self.0.inner.attach(ours);
        let annotations = Arc::downgrade(&self.0.annotations);
        tokio::spawn(async move {
            while let Some(notification) = changes.recv().await {
                if notification.method == method::TOOLS_LIST_CHANGED
                    && let Some(annotations) = annotations.upgrade()
                {
                    annotations.forget();
                }
                notifier.send(notification);
            }
        });
    }
}
