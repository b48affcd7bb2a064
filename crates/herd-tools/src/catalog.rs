//! A [`Backend`](herd_proto::Backend) made of registered handlers.
//!
//! Tool sets describe each tool, resource, template and prompt with the
//! typed [`herd_proto::model`] shapes and attach an async handler. The
//! catalog serializes every definition once, answers list requests from that
//! cache, and routes calls by name or URI. Tools can be added and removed at
//! run time; each change sends `notifications/tools/list_changed`.
//!
//! Argument errors and failures inside a tool become `isError` results (the
//! model can read and correct them); an unknown tool, resource or prompt is a
//! JSON-RPC error, as the specification asks.

mod builder;
mod dispatch;
mod template;

pub use builder::CatalogBuilder;
pub use template::UriTemplate;

use herd_proto::model::{CallToolResult, Completion, GetPromptResult, ResourceContents, Tool};
use herd_proto::{BoxFuture, Context, ListKind, Notifier, RpcError};
use parking_lot::RwLock;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock, Weak};

/// Why a tool call failed.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// The arguments do not fit the tool; reported to the model as an
    /// `isError` result so it can correct itself.
    #[error("invalid arguments: {0}")]
    InvalidArguments(String),
    /// The tool ran and failed; reported as an `isError` result.
    #[error("{0}")]
    Failed(String),
    /// A protocol-level failure, answered as a JSON-RPC error.
    #[error(transparent)]
    Rpc(#[from] RpcError),
}

/// Result of a tool handler.
pub type ToolResult = Result<CallToolResult, ToolError>;

/// A tool handler: arguments and context in, result out.
pub type ToolHandler = Arc<dyn Fn(Map<String, Value>, Context) -> BoxFuture<'static, ToolResult> + Send + Sync>;

/// A resource reader: URI and context in, contents out.
pub type ResourceHandler =
    Arc<dyn Fn(String, Context) -> BoxFuture<'static, Result<Vec<ResourceContents>, RpcError>> + Send + Sync>;

/// A template reader: URI, the variables matched from it, and context in.
pub type TemplateHandler = Arc<
    dyn Fn(String, HashMap<String, String>, Context) -> BoxFuture<'static, Result<Vec<ResourceContents>, RpcError>>
        + Send
        + Sync,
>;

/// A prompt renderer: string arguments and context in.
pub type PromptHandler =
    Arc<dyn Fn(Map<String, Value>, Context) -> BoxFuture<'static, Result<GetPromptResult, RpcError>> + Send + Sync>;

/// A completer: the partial value and the other arguments already given.
pub type CompletionHandler = Arc<dyn Fn(&str, &Map<String, Value>) -> Completion + Send + Sync>;

/// What a completion request refers to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CompletionRef {
    /// `ref/prompt` by name.
    Prompt(String),
    /// `ref/resource` by URI (template).
    Resource(String),
}

struct ToolEntry {
    raw: Box<RawValue>,
    handler: ToolHandler,
}

struct ResourceEntry {
    raw: Box<RawValue>,
    handler: ResourceHandler,
}

struct TemplateEntry {
    raw: Box<RawValue>,
    template: UriTemplate,
    handler: TemplateHandler,
}

struct PromptEntry {
    raw: Box<RawValue>,
    handler: PromptHandler,
}

#[derive(Default)]
struct Tools {
    order: Vec<String>,
    by_name: HashMap<String, ToolEntry>,
}

/// An in-process backend built from handlers. Cheap to clone.
#[derive(Clone)]
pub struct Catalog {
    inner: Arc<Inner>,
}

/// A [`Catalog`] handle that does not keep it alive (for its own handlers).
#[derive(Clone)]
pub struct WeakCatalog(Weak<Inner>);

impl WeakCatalog {
    /// The catalog, unless it was dropped.
    pub fn upgrade(&self) -> Option<Catalog> {
        self.0.upgrade().map(|inner| Catalog { inner })
    }
}

struct Inner {
    tools: RwLock<Tools>,
    resources: Vec<(String, ResourceEntry)>,
    templates: Vec<TemplateEntry>,
    prompts: Vec<(String, PromptEntry)>,
    completions: HashMap<(CompletionRef, String), CompletionHandler>,
    capabilities: Map<String, Value>,
    notifier: OnceLock<Notifier>,
}

impl Catalog {
    /// Starts an empty catalog.
    pub fn builder() -> CatalogBuilder {
        CatalogBuilder::default()
    }

    /// Adds (or replaces) a tool at run time and tells clients.
    pub fn add_tool<F, Fut>(&self, tool: Tool, handler: F)
    where
        F: Fn(Map<String, Value>, Context) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = ToolResult> + Send + 'static,
    {
        let (name, entry) = builder::tool_entry(tool, handler);
        {
            let mut tools = self.inner.tools.write();
            if tools.by_name.insert(name.clone(), entry).is_none() {
                tools.order.push(name);
            }
        }
        self.notify_list_changed(ListKind::Tools);
    }

    /// Removes a tool at run time and tells clients; false if it was absent.
    pub fn remove_tool(&self, name: &str) -> bool {
        let removed = {
            let mut tools = self.inner.tools.write();
            let removed = tools.by_name.remove(name).is_some();
            tools.order.retain(|n| n != name);
            removed
        };
        if removed {
            self.notify_list_changed(ListKind::Tools);
        }
        removed
    }

    /// Tells subscribed clients that a resource changed.
    pub fn resource_updated(&self, uri: &str) {
        if let Some(n) = self.inner.notifier.get() {
            let params = serde_json::json!({ "uri": uri });
            if let Ok(raw) = serde_json::value::to_raw_value(&params) {
                n.send(herd_proto::Notification::new(herd_proto::method::RESOURCES_UPDATED, Some(raw)));
            }
        }
    }

    /// Sends `notifications/<list>/list_changed` (tool changes send it anyway).
    pub fn notify_list_changed(&self, kind: ListKind) {
        let method = match kind {
            ListKind::Tools => herd_proto::method::TOOLS_LIST_CHANGED,
            ListKind::Prompts => herd_proto::method::PROMPTS_LIST_CHANGED,
            ListKind::Resources | ListKind::ResourceTemplates => herd_proto::method::RESOURCES_LIST_CHANGED,
        };
        let Some(n) = self.inner.notifier.get() else { return };
        n.send_method(method);
    }

    /// A handle that does not keep the catalog alive.
    pub fn downgrade(&self) -> WeakCatalog {
        WeakCatalog(Arc::downgrade(&self.inner))
    }

    /// Names of the registered tools, in order.
    pub fn tool_names(&self) -> Vec<String> {
        self.inner.tools.read().order.clone()
    }
}

#[cfg(test)]
mod tests;
