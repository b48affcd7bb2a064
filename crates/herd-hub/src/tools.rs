//! The hub's own tools, as a [`Backend`].
//!
//! | tool | does |
//! |---|---|
//! | `remote_list_hosts` | every registered host with its agent's state (from cache, or probed with `force`) |
//! | `remote_shell`, `remote_shell_bg`, `remote_read_file`, `remote_write_file`, `remote_edit_file`, `remote_list_dir`, `remote_search_files` | the agent tool of the same name on the host named by `host` |
//! | `remote_shell_many` | one command on many hosts (by name and/or tag) in parallel, one result per host |
//! | `remote_list_tools` | every tool a host's agent offers (its supervised servers included) |
//! | `remote_call` | any tool of a host's agent, by name |
//!
//! The forwarding tools take their schemas from the agent's own tool
//! definitions with a `host` argument added, so the two never drift apart.
//! Results say which path served them (agent or ssh): a `host` and `via`
//! member in `structuredContent` and a closing line of text. Failures are
//! `isError` results naming the host and why each path failed.
//!
//! These tools return the agent's result objects as they came, plus those
//! notes; they do not go through the typed catalog engine, which would
//! drop what it does not model.
//!
//! Each tool decides what it reaches with the one policy (`herd_auth`
//! `policy::hub`): a forwarding tool is the agent tool on its host (with
//! the host's tags), `remote_call` the named tool with the annotation the
//! host's own listing gives it, `remote_list_hosts` shows only hosts the
//! caller may see, `remote_list_tools` only the tools it may call there,
//! and `remote_shell_many` skips (and names) hosts it may not use. A
//! denial is the `forbidden` error of `herd-guard`.

mod defs;
mod direct;
mod hosts;
mod many;

use crate::Fleet;
use crate::raw::{RawObject, to_raw};
use herd_proto::{Backend, BoxFuture, Context, ListKind, Request, RpcError};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};
use std::borrow::Cow;
use std::sync::{Arc, LazyLock};

/// The hub's tools over a [`Fleet`].
pub struct HubTools {
    fleet: Arc<Fleet>,
    definitions: Vec<Box<RawValue>>,
}

impl HubTools {
    /// The hub tools for `fleet`.
    pub fn new(fleet: Arc<Fleet>) -> Self {
        Self { fleet, definitions: defs::all() }
    }
}

impl Backend for HubTools {
    fn capabilities(&self) -> Map<String, Value> {
        let mut caps = Map::new();
        caps.insert("tools".into(), json!({ "listChanged": true }));
        caps
    }

    fn list(&self, kind: ListKind, _cx: Context) -> BoxFuture<'static, Result<Vec<Box<RawValue>>, RpcError>> {
        let list = if kind == ListKind::Tools { self.definitions.clone() } else { Vec::new() };
        Box::pin(std::future::ready(Ok(list)))
    }

    fn call(&self, req: Request, cx: Context) -> BoxFuture<'static, Result<Box<RawValue>, RpcError>> {
        let fleet = self.fleet.clone();
        Box::pin(async move {
            if req.method != herd_proto::method::TOOLS_CALL {
                return Err(RpcError::method_not_found(&req.method));
            }
            // The forwarding tools, the hot path, read only `host` and pass
            // the other arguments on as the bytes that came.
            if let Ok(Forwarded { name, arguments }) = req.params_as::<Forwarded<'_>>()
                && let Some(tool) = forwarded(&name)
                && let Some(arguments) = RawObject::parse(arguments).filter(|a| !a.has_duplicates())
            {
                return direct::forward_raw(&fleet, tool, arguments, &cx).await;
            }
            let Params { name, arguments } = req.params_as()?;
            // Each boxed: the future of this call is moved to the heap whole,
            // so one branch's large state would cost every call a copy.
            Ok(match name.as_str() {
                "remote_list_hosts" => to_raw(&Box::pin(hosts::call(&fleet, arguments, &cx)).await),
                "remote_shell_many" => to_raw(&Box::pin(many::call(&fleet, arguments, &cx)).await),
                "remote_list_tools" => to_raw(&Box::pin(direct::list_tools(&fleet, arguments, &cx)).await?),
                "remote_call" => Box::pin(direct::call_any(&fleet, arguments, &cx)).await?,
                other => match forwarded(other) {
                    Some(tool) => Box::pin(direct::forward(&fleet, tool, arguments, &cx)).await?,
                    None => return Err(RpcError::invalid_params(format!("unknown tool: {name}"))),
                },
            })
        })
    }
}

/// `tools/call` params, parsed.
#[derive(Deserialize)]
struct Params {
    name: String,
    #[serde(default)]
    arguments: Map<String, Value>,
}

/// `tools/call` params with the arguments left unparsed (an absent
/// `arguments` reads as `{}`; anything but an object takes the [`Params`]
/// path, which refuses it).
#[derive(Deserialize)]
struct Forwarded<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(borrow, default = "no_arguments")]
    arguments: &'a RawValue,
}

fn no_arguments() -> &'static RawValue {
    static EMPTY: LazyLock<Box<RawValue>> = LazyLock::new(|| to_raw(&Map::new()));
    &EMPTY
}

/// The agent tool a forwarding tool runs, if `name` is one.
fn forwarded(name: &str) -> Option<&'static str> {
    let tool = name.strip_prefix("remote_")?;
    defs::FORWARDED.iter().copied().find(|t| *t == tool)
}

/// An `isError` result with `text`.
fn error_result(text: impl Into<String>) -> Value {
    json!({ "content": [{ "type": "text", "text": text.into() }], "isError": true })
}

/// Reads the hub's own arguments out of a tool's argument object, leaving
/// the rest for the agent.
fn take<T: serde::de::DeserializeOwned>(arguments: &mut Map<String, Value>, key: &str) -> Result<Option<T>, Value> {
    match arguments.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => {
            serde_json::from_value(v).map(Some).map_err(|e| error_result(format!("invalid arguments: {key}: {e}")))
        }
    }
}

/// The `host` argument, required.
fn host_arg(arguments: &mut Map<String, Value>) -> Result<String, Value> {
    take::<String>(arguments, "host")?.ok_or_else(|| error_result("invalid arguments: missing field `host`"))
}

/// A fleet host as the policy sees it.
fn policy_host(host: &herd_fleet::Host) -> herd_auth::Host<'_> {
    herd_auth::Host { name: &host.name, tags: &host.tags }
}
