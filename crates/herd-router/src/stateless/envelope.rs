//! What a stateless request says about itself, checked before it runs:
//! the `_meta` keys that replace `initialize`, and the transport's claims
//! about the body (HTTP headers), which must agree with it.

use super::mirror::ParamClaims;
use herd_proto::{LogLevel, ProtocolVersion, Request, RpcError, code, method};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

/// `_meta` key: the revision of this request.
pub(crate) const PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
/// `_meta` key: the client's capabilities for this request.
pub(crate) const CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
/// `_meta` key: the least severe log level the client wants for this request.
pub(crate) const LOG_LEVEL: &str = "io.modelcontextprotocol/logLevel";

/// What the transport's envelope claims about the body: on HTTP the
/// `MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name` and `Mcp-Param-*`
/// headers (values trimmed; `Mcp-Name` may come Base64-encoded). Each
/// claim made must match the body; with `required`, the method claim must
/// be made, and the name claim whenever the body names something.
#[derive(Debug, Clone, Copy, Default)]
pub struct Claims<'a> {
    /// The claimed revision.
    pub version: Option<&'a str>,
    /// The claimed method.
    pub method: Option<&'a str>,
    /// The claimed target: the tool or prompt name, the resource URI, the
    /// task id.
    pub name: Option<&'a str>,
    /// The `Mcp-Param-*` headers (see [`ParamClaims`]).
    pub params: &'a ParamClaims,
    /// Whether the method and name claims are mandatory (HTTP), and the
    /// `Mcp-Param-*` headers checked.
    pub required: bool,
    /// Who sends the request, as the transport authenticated it.
    pub principal: Option<&'a herd_proto::Principal>,
    /// The client's address, when the transport has one.
    pub address: Option<std::net::IpAddr>,
}

/// The checked `_meta` of one request.
#[derive(Debug, Clone)]
pub(crate) struct Envelope {
    pub(crate) capabilities: Value,
    pub(crate) log_level: Option<LogLevel>,
    pub(crate) progress_token: Option<Box<RawValue>>,
}

#[derive(Deserialize)]
struct Params {
    #[serde(rename = "_meta")]
    meta: Option<Map<String, Value>>,
    name: Option<Value>,
    uri: Option<Value>,
    #[serde(rename = "taskId")]
    task_id: Option<Value>,
}

impl Envelope {
    /// Checks `req`'s `_meta` and `claims`, in the order the revision
    /// prescribes: a malformed `_meta` (`-32602`), claims that disagree with
    /// the body (`-32020`, the version compared before its support is
    /// judged), an unsupported revision (`-32022`).
    pub(crate) fn check(req: &Request, claims: &Claims<'_>) -> Result<Self, RpcError> {
        let params: Params = req.params_as()?;
        let meta = params.meta.ok_or_else(|| RpcError::invalid_params("params._meta is required"))?;
        let version = match meta.get(PROTOCOL_VERSION) {
            Some(Value::String(v)) => v.as_str(),
            _ => return Err(RpcError::invalid_params(format!("params._meta[\"{PROTOCOL_VERSION}\"] is required"))),
        };
        let capabilities = match meta.get(CLIENT_CAPABILITIES) {
            Some(caps @ Value::Object(_)) => caps.clone(),
            _ => return Err(RpcError::invalid_params(format!("params._meta[\"{CLIENT_CAPABILITIES}\"] is required"))),
        };
        if let Some(claimed) = claims.version
            && claimed != version
        {
            return Err(mismatch(format!("MCP-Protocol-Version {claimed:?} disagrees with _meta {version:?}")));
        }
        if ProtocolVersion::parse_supported(version).is_none_or(|v| !v.is_stateless()) {
            let supported = [ProtocolVersion::V2026_07_28.as_str()];
            let why = format!("protocol revision {version:?} is not served without a session");
            return Err(RpcError::new(code::UNSUPPORTED_PROTOCOL_VERSION, why)
                .with_data(json!({ "supported": supported, "requested": version })));
        }
        check_method(req, claims)?;
        let target = target(&req.method, &params.name, &params.uri, &params.task_id);
        check_name(target, claims)?;
        let log_level =
            match meta.get(LOG_LEVEL) {
                None => None,
                Some(level) => Some(serde_json::from_value(level.clone()).map_err(|_| {
                    RpcError::invalid_params(format!("params._meta[\"{LOG_LEVEL}\"] is not a log level"))
                })?),
            };
        let progress_token = meta.get("progressToken").and_then(|t| serde_json::value::to_raw_value(t).ok());
        Ok(Self { capabilities, log_level, progress_token })
    }
}

fn mismatch(why: String) -> RpcError {
    RpcError::new(code::HEADER_MISMATCH, why)
}

fn check_method(req: &Request, claims: &Claims<'_>) -> Result<(), RpcError> {
    match claims.method {
        Some(claimed) if claimed != req.method => {
            Err(mismatch(format!("Mcp-Method {claimed:?} disagrees with the body's method {:?}", req.method)))
        }
        None if claims.required => Err(mismatch("the Mcp-Method header is required".into())),
        _ => Ok(()),
    }
}

/// The member of the params the name claim stands for, if the method has
/// one and the body sets it.
fn target<'a>(
    method: &str,
    name: &'a Option<Value>,
    uri: &'a Option<Value>,
    task: &'a Option<Value>,
) -> Option<&'a str> {
    let member = match method {
        method::TOOLS_CALL | method::PROMPTS_GET => name,
        method::RESOURCES_READ => uri,
        "tasks/get" | "tasks/update" | "tasks/cancel" => task,
        _ => return None,
    };
    member.as_ref().and_then(Value::as_str)
}

fn check_name(target: Option<&str>, claims: &Claims<'_>) -> Result<(), RpcError> {
    let claimed = match claims.name.map(super::mirror::decode).transpose() {
        Ok(claimed) => claimed,
        Err(why) => return Err(mismatch(format!("the Mcp-Name header {why}"))),
    };
    match (claimed.as_deref(), target) {
        (Some(claimed), Some(body)) if claimed != body => {
            Err(mismatch(format!("Mcp-Name {claimed:?} disagrees with the body's {body:?}")))
        }
        (None, Some(body)) if claims.required => Err(mismatch(format!("the Mcp-Name header is required ({body:?})"))),
        _ => Ok(()),
    }
}
