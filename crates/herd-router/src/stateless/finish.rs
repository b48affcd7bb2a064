//! The shape of answers on the stateless revision: `server/discover`,
//! `resultType` on every result, caching hints where the revision wants
//! them, and error codes that changed.
//!
//! Backends answer the same way for every revision; the differences are
//! applied here, to the top level of the result only (members below it
//! stay untouched text).

use crate::Shared;
use herd_proto::{ProtocolVersion, RpcError, code, method};
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Value, json};
use std::fmt;

/// `_meta` key of results: who answered.
const SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";

/// Results a client may cache, and so must carry `ttlMs` and `cacheScope`.
const CACHEABLE: [&str; 6] = [
    method::SERVER_DISCOVER,
    method::TOOLS_LIST,
    method::PROMPTS_LIST,
    method::RESOURCES_LIST,
    method::RESOURCE_TEMPLATES_LIST,
    method::RESOURCES_READ,
];

/// The `server/discover` result: every revision herd speaks (the session
/// ones through `initialize`), what it serves (and the tasks extension,
/// which the router serves for every backend), and who it is.
pub(super) fn discover(shared: &Shared) -> Result<Box<RawValue>, RpcError> {
    let supported: Vec<&str> = ProtocolVersion::SUPPORTED.iter().map(|v| v.as_str()).collect();
    let mut capabilities = shared.capabilities.clone();
    capabilities["extensions"][herd_proto::model::TASKS_EXTENSION] = json!({});
    let mut result = json!({
        "supportedVersions": supported,
        "capabilities": capabilities,
        "_meta": { SERVER_INFO: shared.config.server_info },
    });
    if let Some(instructions) = &shared.config.instructions {
        result["instructions"] = Value::String(instructions.clone());
    }
    serde_json::value::to_raw_value(&result).map_err(|e| RpcError::internal(e.to_string()))
}

/// `result` with the members the revision requires added where missing:
/// `resultType` (`complete` unless the handler said otherwise) and, for
/// cacheable methods, `ttlMs` 0 and `cacheScope` `private` (answers may
/// depend on who asks).
pub(super) fn result(method: &str, result: &RawValue) -> Result<Box<RawValue>, RpcError> {
    let mut members = top_level(result)?;
    let has = |members: &[(String, Box<RawValue>)], key: &str| members.iter().any(|(k, _)| k == key);
    let mut add = |key: &str, value: &str| -> Result<(), RpcError> {
        if !has(&members, key) {
            let raw = RawValue::from_string(value.to_owned()).map_err(|e| RpcError::internal(e.to_string()))?;
            members.insert(0, (key.to_owned(), raw));
        }
        Ok(())
    };
    if CACHEABLE.contains(&method) {
        add("cacheScope", "\"private\"")?;
        add("ttlMs", "0")?;
    }
    add("resultType", "\"complete\"")?;
    let mut text = String::with_capacity(result.get().len() + 64);
    text.push('{');
    for (i, (key, value)) in members.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        text.push_str(&serde_json::to_string(key).map_err(|e| RpcError::internal(e.to_string()))?);
        text.push(':');
        text.push_str(value.get());
    }
    text.push('}');
    RawValue::from_string(text).map_err(|e| RpcError::internal(e.to_string()))
}

/// Error codes as the revision has them: a missing resource is `-32602`
/// (the session revisions' `-32002` is retired), with the URI kept in
/// `data.uri`.
pub(super) fn error(mut err: RpcError) -> RpcError {
    if err.code == code::RESOURCE_NOT_FOUND {
        err.code = code::INVALID_PARAMS;
    }
    err
}

/// The members of a JSON object, in order, values unparsed.
fn top_level(result: &RawValue) -> Result<Vec<(String, Box<RawValue>)>, RpcError> {
    struct Members;
    impl<'de> Visitor<'de> for Members {
        type Value = Vec<(String, Box<RawValue>)>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut members = Vec::with_capacity(map.size_hint().unwrap_or(4));
            while let Some(entry) = map.next_entry::<String, Box<RawValue>>()? {
                members.push(entry);
            }
            Ok(members)
        }
    }
    let mut de = serde_json::Deserializer::from_str(result.get());
    de.deserialize_map(Members).map_err(|e| RpcError::internal(format!("a result that is not an object: {e}")))
}
