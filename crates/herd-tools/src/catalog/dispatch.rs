//! The [`Backend`] side of a [`Catalog`]: listing and routing by name or URI.

use super::{Catalog, CompletionRef, ToolError};
use herd_proto::model::{CallToolResult, Completion};
use herd_proto::{Backend, BoxFuture, Context, ListKind, Notifier, Request, RpcError, code, method};
use serde::Deserialize;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

type CallFuture = BoxFuture<'static, Result<Box<RawValue>, RpcError>>;

impl Backend for Catalog {
    fn capabilities(&self) -> Map<String, Value> {
        self.inner.capabilities.clone()
    }

    fn list(&self, kind: ListKind, _cx: Context) -> BoxFuture<'static, Result<Vec<Box<RawValue>>, RpcError>> {
        let inner = &self.inner;
        let entries: Vec<Box<RawValue>> = match kind {
            ListKind::Tools => {
                let tools = inner.tools.read();
                tools.order.iter().filter_map(|n| tools.by_name.get(n)).map(|t| t.raw.clone()).collect()
            }
            ListKind::Resources => inner.resources.iter().map(|(_, r)| r.raw.clone()).collect(),
            ListKind::ResourceTemplates => inner.templates.iter().map(|t| t.raw.clone()).collect(),
            ListKind::Prompts => inner.prompts.iter().map(|(_, p)| p.raw.clone()).collect(),
        };
        Box::pin(async move { Ok(entries) })
    }

    fn call(&self, req: Request, cx: Context) -> CallFuture {
        match req.method.as_str() {
            method::TOOLS_CALL => self.call_tool(&req, cx),
            method::RESOURCES_READ => self.read_resource(&req, cx),
            method::RESOURCES_SUBSCRIBE | method::RESOURCES_UNSUBSCRIBE => ready(Ok::<_, RpcError>(json!({}))),
            method::PROMPTS_GET => self.get_prompt(&req, cx),
            method::COMPLETION_COMPLETE => ready(self.complete(&req)),
            other => ready::<Value>(Err(RpcError::method_not_found(other))),
        }
    }

    fn attach(&self, notifier: Notifier) {
        let _ = self.inner.notifier.set(notifier);
    }
}

#[derive(Deserialize)]
struct CallParams {
    name: String,
    #[serde(default)]
    arguments: Option<Map<String, Value>>,
}

#[derive(Deserialize)]
struct UriParams {
    uri: String,
}

#[derive(Deserialize)]
struct PromptParams {
    name: String,
    #[serde(default)]
    arguments: Option<Map<String, Value>>,
}

#[derive(Deserialize)]
struct CompleteParams {
    #[serde(rename = "ref")]
    target: RefParam,
    argument: ArgumentParam,
    #[serde(default)]
    context: Option<CompleteContext>,
}

#[derive(Deserialize)]
struct RefParam {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    uri: Option<String>,
}

#[derive(Deserialize)]
struct ArgumentParam {
    name: String,
    value: String,
}

#[derive(Deserialize)]
struct CompleteContext {
    #[serde(default)]
    arguments: Map<String, Value>,
}

impl Catalog {
    fn call_tool(&self, req: &Request, cx: Context) -> CallFuture {
        let params: CallParams = match req.params_as() {
            Ok(p) => p,
            Err(e) => return ready::<Value>(Err(e)),
        };
        let handler = self.inner.tools.read().by_name.get(&params.name).map(|t| t.handler.clone());
        let Some(handler) = handler else {
            return ready::<Value>(Err(RpcError::invalid_params(format!("unknown tool: {}", params.name))));
        };
        let fut = handler(params.arguments.unwrap_or_default(), cx);
        Box::pin(async move {
            let result = match fut.await {
                Ok(result) => result,
                Err(ToolError::Rpc(e)) => return Err(e),
                Err(e) => CallToolResult::error(e.to_string()),
            };
            to_raw(&result)
        })
    }

    fn read_resource(&self, req: &Request, cx: Context) -> CallFuture {
        let params: UriParams = match req.params_as() {
            Ok(p) => p,
            Err(e) => return ready::<Value>(Err(e)),
        };
        let fut = if let Some((_, r)) = self.inner.resources.iter().find(|(u, _)| *u == params.uri) {
            (r.handler)(params.uri, cx)
        } else if let Some((t, vars)) =
            self.inner.templates.iter().find_map(|t| t.template.matches(&params.uri).map(|v| (t, v)))
        {
            (t.handler)(params.uri, vars, cx)
        } else {
            let err = RpcError::new(code::RESOURCE_NOT_FOUND, format!("resource not found: {}", params.uri))
                .with_data(json!({ "uri": params.uri }));
            return ready::<Value>(Err(err));
        };
        Box::pin(async move { to_raw(&json!({ "contents": fut.await? })) })
    }

    fn get_prompt(&self, req: &Request, cx: Context) -> CallFuture {
        let params: PromptParams = match req.params_as() {
            Ok(p) => p,
            Err(e) => return ready::<Value>(Err(e)),
        };
        let Some((_, p)) = self.inner.prompts.iter().find(|(n, _)| *n == params.name) else {
            return ready::<Value>(Err(RpcError::invalid_params(format!("unknown prompt: {}", params.name))));
        };
        let fut = (p.handler)(params.arguments.unwrap_or_default(), cx);
        Box::pin(async move { to_raw(&fut.await?) })
    }

    fn complete(&self, req: &Request) -> Result<Value, RpcError> {
        let params: CompleteParams = req.params_as()?;
        let target = match (params.target.kind.as_str(), params.target.name, params.target.uri) {
            ("ref/prompt", Some(name), _) => CompletionRef::Prompt(name),
            ("ref/resource", _, Some(uri)) => CompletionRef::Resource(uri),
            (kind, _, _) => return Err(RpcError::invalid_params(format!("unsupported completion ref: {kind}"))),
        };
        let context = params.context.map(|c| c.arguments).unwrap_or_default();
        let completion = match self.inner.completions.get(&(target, params.argument.name)) {
            Some(handler) => handler(&params.argument.value, &context),
            None => Completion::default(),
        };
        Ok(json!({ "completion": completion }))
    }
}

fn ready<T: Serialize + Send + 'static>(value: Result<T, RpcError>) -> CallFuture {
    let out = value.and_then(|v| to_raw(&v));
    Box::pin(async move { out })
}

fn to_raw<T: Serialize>(value: &T) -> Result<Box<RawValue>, RpcError> {
    serde_json::value::to_raw_value(value).map_err(|e| RpcError::internal(e.to_string()))
}
