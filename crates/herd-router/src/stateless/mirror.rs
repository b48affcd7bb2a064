//! `Mcp-Param-{Name}` headers (2026-07-28 over HTTP): tool arguments a
//! client mirrors into headers so that proxies can route on them without
//! reading the body.
//!
//! A tool designates such an argument with `x-mcp-header` in the schema of
//! one of its properties (reached from the root through `properties` only,
//! and typed string, integer or boolean). Before a `tools/call` runs, each
//! designated argument and its header must agree, or the request is refused
//! with `-32020` (HTTP 400), for a proxy and herd must never act on two
//! different values:
//!
//! - an argument present (and not `null`) needs its header;
//! - a header needs its argument, and must equal it once decoded: values
//!   may come Base64-encoded as `=?base64?...?=` (strict alphabet and
//!   padding, UTF-8), integers compare as numbers, booleans as `true` and
//!   `false`;
//! - a header sent twice, or holding bytes a header value may not carry,
//!   is refused.
//!
//! `Mcp-Param-*` headers no tool designates are ignored, as the revision
//! asks. Which arguments a tool designates comes from the tools listing,
//! kept until a backend says its tools changed (a tool missing from it is
//! listed again once). A refusal names the header, so it is only given when
//! the caller may see the tool; otherwise the call goes on to be refused
//! like any hidden tool.
//!
//! The same kept listing says which tools may run as tasks
//! (`execution.taskSupport`, read by [`task_support`]).

use crate::{Shared, lists};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use herd_proto::model::TaskSupport;
use herd_proto::{Context, Principal, Request, RequestMeta, RpcError, code};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

/// The header-name prefix of mirrored arguments, lowercase.
pub const PARAM_HEADER_PREFIX: &str = "mcp-param-";

/// The `Mcp-Param-*` headers of a request: the part after the prefix
/// (lowercase) and the value with surrounding whitespace trimmed, `None`
/// when it holds bytes that are not visible ASCII, space or tab.
pub type ParamClaims = [(String, Option<String>)];

/// One argument a tool mirrors into a header.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Mirrored {
    /// The `properties` keys from the schema root to the argument.
    path: Vec<String>,
    /// The `x-mcp-header` value, as the tool spells it.
    header: String,
}

/// Every listed tool and the arguments it mirrors (often none), and
/// whether it may run as a task (`execution.taskSupport`).
#[derive(Debug, Default)]
pub(crate) struct Mirrors {
    tools: HashMap<String, Arc<[Mirrored]>>,
    tasks: HashMap<String, TaskSupport>,
}

impl Mirrors {
    fn from_listing(entries: &[Box<serde_json::value::RawValue>]) -> Self {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Listed {
            name: String,
            #[serde(default)]
            input_schema: Value,
            #[serde(default)]
            execution: Option<Execution>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Execution {
            #[serde(default)]
            task_support: Option<TaskSupport>,
        }
        let mut mirrors = Self::default();
        for tool in entries.iter().filter_map(|e| serde_json::from_str::<Listed>(e.get()).ok()) {
            let support = tool.execution.and_then(|e| e.task_support).unwrap_or_default();
            if support != TaskSupport::Forbidden {
                mirrors.tasks.insert(tool.name.clone(), support);
            }
            mirrors.tools.insert(tool.name, designated(&tool.input_schema).into());
        }
        mirrors
    }
}

/// The arguments `schema` designates, reached through `properties` only.
fn designated(schema: &Value) -> Vec<Mirrored> {
    fn walk(schema: &Value, path: &mut Vec<String>, out: &mut Vec<Mirrored>, depth: usize) {
        let Some(properties) = schema.get("properties").and_then(Value::as_object) else { return };
        for (key, property) in properties {
            path.push(key.clone());
            let header = property.get("x-mcp-header").and_then(Value::as_str).filter(|h| !h.is_empty());
            let primitive =
                matches!(property.get("type").and_then(Value::as_str), Some("string" | "integer" | "boolean"));
            if let Some(header) = header.filter(|_| primitive) {
                out.push(Mirrored { path: path.clone(), header: header.to_owned() });
            } else if depth < 16 {
                walk(property, path, out, depth + 1);
            }
            path.pop();
        }
    }
    let mut out = Vec::new();
    walk(schema, &mut Vec::new(), &mut out, 0);
    out
}

/// Decodes a header value that may be `=?base64?...?=`-encoded (the
/// revision's encoding for `Mcp-Name` and `Mcp-Param-*`).
pub(crate) fn decode(value: &str) -> Result<Cow<'_, str>, String> {
    let Some(encoded) = value.strip_prefix("=?base64?").and_then(|v| v.strip_suffix("?=")) else {
        return Ok(Cow::Borrowed(value));
    };
    let bytes = STANDARD.decode(encoded).map_err(|e| format!("is not valid Base64 ({e})"))?;
    String::from_utf8(bytes).map(Cow::Owned).map_err(|_| "does not decode to UTF-8 text".to_owned())
}

fn mismatch(why: String) -> RpcError {
    RpcError::new(code::HEADER_MISMATCH, why)
}

/// Checks the `Mcp-Param-*` headers of a `tools/call` (see the module docs).
pub(crate) async fn check(
    shared: &Arc<Shared>,
    req: &Request,
    claimed: &ParamClaims,
    principal: Option<&Principal>,
) -> Result<(), RpcError> {
    #[derive(Deserialize)]
    struct Named {
        name: Option<String>,
    }
    #[derive(Deserialize)]
    struct Arguments {
        #[serde(default)]
        arguments: Option<Map<String, Value>>,
    }
    // Most tools mirror nothing: their arguments are not even read.
    let Ok(Named { name: Some(name) }) = req.params_as::<Named>() else { return Ok(()) };
    let Some(mirrored) = designated_by(shared, &name).await else { return Ok(()) };
    let arguments = req.params_as::<Arguments>().ok().and_then(|a| a.arguments).unwrap_or_default();
    let verdict = mirrored.iter().try_for_each(|m| agree(m, &arguments, claimed));
    match verdict {
        Err(err) if !visible(shared, &name, principal).await => {
            tracing::debug!(tool = name, %err, "header check skipped for a tool the caller cannot see");
            Ok(())
        }
        verdict => verdict,
    }
}

/// Whether one designated argument and its header agree.
fn agree(m: &Mirrored, arguments: &Map<String, Value>, claimed: &ParamClaims) -> Result<(), RpcError> {
    let lower = m.header.to_ascii_lowercase();
    let mut sent = claimed.iter().filter(|(name, _)| *name == lower).map(|(_, value)| value);
    let header = format!("Mcp-Param-{}", m.header);
    let value = sent.next();
    if sent.next().is_some() {
        return Err(mismatch(format!("the {header} header is sent more than once")));
    }
    let mut body = Some(arguments).map(|a| a as &Map<String, Value>);
    let mut found = None;
    for (i, key) in m.path.iter().enumerate() {
        let Some(v) = body.and_then(|b| b.get(key)) else { break };
        if i + 1 == m.path.len() {
            found = Some(v).filter(|v| !v.is_null());
        }
        body = v.as_object();
    }
    let argument = m.path.join(".");
    match (value, found) {
        (None, None) => Ok(()),
        (None, Some(_)) => Err(mismatch(format!("the {header} header is required: arguments.{argument} is set"))),
        (Some(None), _) => Err(mismatch(format!("the {header} header holds characters a header value may not carry"))),
        (Some(Some(_)), None) => {
            Err(mismatch(format!("the {header} header names a value but arguments.{argument} is not set")))
        }
        (Some(Some(value)), Some(body)) => {
            let decoded = decode(value).map_err(|why| mismatch(format!("the {header} header {why}")))?;
            if same(&decoded, body) {
                Ok(())
            } else {
                Err(mismatch(format!("the {header} header {value:?} disagrees with arguments.{argument} {body}")))
            }
        }
    }
}

/// Whether a decoded header value stands for `body`.
fn same(header: &str, body: &Value) -> bool {
    match body {
        Value::String(s) => header == s,
        Value::Bool(b) => header == if *b { "true" } else { "false" },
        Value::Number(n) => header.parse::<f64>().ok().zip(n.as_f64()).is_some_and(|(h, b)| h == b),
        _ => false,
    }
}

/// The arguments tool `name` mirrors; `None` when it mirrors none or is
/// not listed even after listing again.
async fn designated_by(shared: &Arc<Shared>, name: &str) -> Option<Arc<[Mirrored]>> {
    let mirrors = listing_with(shared, name).await?;
    mirrors.tools.get(name).cloned().filter(|m| !m.is_empty())
}

/// Whether tool `name` may run as a task; a tool not listed even after
/// listing again may not.
pub(crate) async fn task_support(shared: &Arc<Shared>, name: &str) -> TaskSupport {
    let Some(mirrors) = listing_with(shared, name).await else { return TaskSupport::Forbidden };
    mirrors.tasks.get(name).copied().unwrap_or_default()
}

/// The kept tools listing, listed again when it does not name `name`.
async fn listing_with(shared: &Arc<Shared>, name: &str) -> Option<Arc<Mirrors>> {
    let cached = shared.routes.mirrors.read().clone();
    if let Some(mirrors) = cached.filter(|m| m.tools.contains_key(name)) {
        return Some(mirrors);
    }
    let generation = lists::tools_generation(shared);
    let entries = lists::tools(shared, Context::detached()).await.ok()?;
    let mirrors = Arc::new(Mirrors::from_listing(&entries));
    let mut slot = shared.routes.mirrors.write();
    if lists::tools_generation(shared) == generation {
        *slot = Some(mirrors.clone());
    }
    Some(mirrors)
}

/// Whether `principal` sees tool `name` listed.
async fn visible(shared: &Arc<Shared>, name: &str, principal: Option<&Principal>) -> bool {
    let Some(principal) = principal else { return true };
    let cx =
        Context::detached().with_meta(RequestMeta { principal: Some(principal.clone()), ..RequestMeta::default() });
    let Ok(entries) = lists::tools(shared, cx).await else { return false };
    Mirrors::from_listing(&entries).tools.contains_key(name)
}

#[cfg(test)]
mod tests;
