//! Assembling a [`Catalog`].

use super::{
    Catalog, CompletionHandler, CompletionRef, Inner, PromptEntry, ResourceEntry, TemplateEntry, ToolEntry, ToolResult,
    Tools, UriTemplate,
};
use herd_proto::model::{
    Completion, GetPromptResult, Prompt, Resource, ResourceContents, ResourceTemplate, TaskSupport, Tool,
};
use herd_proto::{Context, RpcError};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, OnceLock};

/// Collects definitions and handlers; [`CatalogBuilder::build`] freezes
/// everything but the tool set.
#[derive(Default)]
pub struct CatalogBuilder {
    tools: Tools,
    resources: Vec<(String, ResourceEntry)>,
    templates: Vec<TemplateEntry>,
    prompts: Vec<(String, PromptEntry)>,
    completions: HashMap<(CompletionRef, String), CompletionHandler>,
    subscribe: bool,
    logging: bool,
    prompts_list_changed: bool,
}

impl CatalogBuilder {
    /// Registers a tool.
    pub fn tool<F, Fut>(&mut self, tool: Tool, handler: F) -> &mut Self
    where
        F: Fn(Map<String, Value>, Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ToolResult> + Send + 'static,
    {
        let (name, entry) = tool_entry(tool, handler);
        if self.tools.by_name.insert(name.clone(), entry).is_none() {
            self.tools.order.push(name);
        }
        self
    }

    /// Registers a tool that may run as a task: its listing carries
    /// `execution.taskSupport`, and the router answers a call that outlasts
    /// a moment with a task the client polls (see `herd_router`).
    pub fn task_tool<F, Fut>(&mut self, tool: Tool, support: TaskSupport, handler: F) -> &mut Self
    where
        F: Fn(Map<String, Value>, Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ToolResult> + Send + 'static,
    {
        let (name, mut entry) = tool_entry(tool, handler);
        entry.raw = with_execution(&entry.raw, support);
        if self.tools.by_name.insert(name.clone(), entry).is_none() {
            self.tools.order.push(name);
        }
        self
    }

    /// Registers a fixed resource.
    pub fn resource<F, Fut>(&mut self, resource: Resource, handler: F) -> &mut Self
    where
        F: Fn(String, Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<ResourceContents>, RpcError>> + Send + 'static,
    {
        let uri = resource.uri.clone();
        let raw = to_raw(&resource);
        let handler = Arc::new(move |u, cx| Box::pin(handler(u, cx)) as _);
        self.resources.push((uri, ResourceEntry { raw, handler }));
        self
    }

    /// Registers a resource template (RFC 6570 simple `{var}` expressions).
    pub fn template<F, Fut>(&mut self, template: ResourceTemplate, handler: F) -> &mut Self
    where
        F: Fn(String, HashMap<String, String>, Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<ResourceContents>, RpcError>> + Send + 'static,
    {
        let parsed = UriTemplate::parse(&template.uri_template);
        let raw = to_raw(&template);
        let handler = Arc::new(move |u, vars, cx| Box::pin(handler(u, vars, cx)) as _);
        self.templates.push(TemplateEntry { raw, template: parsed, handler });
        self
    }

    /// Registers a prompt.
    pub fn prompt<F, Fut>(&mut self, prompt: Prompt, handler: F) -> &mut Self
    where
        F: Fn(Map<String, Value>, Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<GetPromptResult, RpcError>> + Send + 'static,
    {
        let name = prompt.name.clone();
        let raw = to_raw(&prompt);
        let handler = Arc::new(move |args, cx| Box::pin(handler(args, cx)) as _);
        self.prompts.push((name, PromptEntry { raw, handler }));
        self
    }

    /// Registers completions for one argument of a prompt or template.
    pub fn completion<F>(&mut self, target: CompletionRef, argument: &str, handler: F) -> &mut Self
    where
        F: Fn(&str, &Map<String, Value>) -> Completion + Send + Sync + 'static,
    {
        self.completions.insert((target, argument.to_owned()), Arc::new(handler));
        self
    }

    /// Declares that resources support `resources/subscribe`.
    pub fn subscribable(&mut self) -> &mut Self {
        self.subscribe = true;
        self
    }

    /// Declares `prompts.listChanged`: the owner announces changes with
    /// [`Catalog::notify_list_changed`].
    pub fn prompts_list_changed(&mut self) -> &mut Self {
        self.prompts_list_changed = true;
        self
    }

    /// Declares the `logging` capability (tools send log messages).
    pub fn logging(&mut self) -> &mut Self {
        self.logging = true;
        self
    }

    /// Freezes the catalog.
    pub fn build(&mut self) -> Catalog {
        let b = std::mem::take(self);
        let mut caps = Map::new();
        caps.insert("tools".into(), json!({ "listChanged": true }));
        if !b.resources.is_empty() || !b.templates.is_empty() {
            caps.insert("resources".into(), json!({ "subscribe": b.subscribe, "listChanged": false }));
        }
        if !b.prompts.is_empty() {
            caps.insert("prompts".into(), json!({ "listChanged": b.prompts_list_changed }));
        }
        if !b.completions.is_empty() {
            caps.insert("completions".into(), json!({}));
        }
        if b.logging {
            caps.insert("logging".into(), json!({}));
        }
        Catalog {
            inner: Arc::new(Inner {
                tools: parking_lot::RwLock::new(b.tools),
                resources: b.resources,
                templates: b.templates,
                prompts: b.prompts,
                completions: b.completions,
                capabilities: caps,
                notifier: OnceLock::new(),
            }),
        }
    }
}

pub(super) fn tool_entry<F, Fut>(tool: Tool, handler: F) -> (String, ToolEntry)
where
    F: Fn(Map<String, Value>, Context) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ToolResult> + Send + 'static,
{
    let name = tool.name.clone();
    let raw = to_raw(&tool);
    let handler = Arc::new(move |args, cx| Box::pin(handler(args, cx)) as _);
    (name, ToolEntry { raw, handler })
}

/// A tool listing with `execution` set to `support`.
fn with_execution(raw: &RawValue, support: TaskSupport) -> Box<RawValue> {
    let mut listing: Map<String, Value> = serde_json::from_str(raw.get()).expect("a tool serializes to an object");
    listing.insert("execution".into(), support.execution());
    to_raw(&listing)
}

fn to_raw<T: Serialize>(value: &T) -> Box<RawValue> {
    serde_json::value::to_raw_value(value).expect("model types serialize")
}
