//! JSON-RPC messages, parsed only as far as routing needs.
//!
//! A [`Message`] knows its kind (request, notification, response), its id and
//! method, and holds `params`, `result` and `error` as raw JSON. Any other
//! top-level member is kept in [`Extra`] and written back out unchanged, so a
//! message relayed by herd differs from the original only in what herd
//! deliberately changed (usually the id).

use crate::{RequestId, RpcError};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::fmt;
use std::fmt::Write as _;
use thiserror::Error;

/// Top-level members herd does not interpret, in arrival order.
pub type Extra = Vec<(Box<str>, Box<RawValue>)>;

/// A request: has an id and a method.
#[derive(Debug, Clone)]
pub struct Request {
    /// The sender's id.
    pub id: RequestId,
    /// The method name.
    pub method: String,
    /// The params, verbatim.
    pub params: Option<Box<RawValue>>,
    /// Unknown top-level members.
    pub extra: Extra,
}

/// A notification: a method and no id.
#[derive(Debug, Clone)]
pub struct Notification {
    /// The method name.
    pub method: String,
    /// The params, verbatim.
    pub params: Option<Box<RawValue>>,
    /// Unknown top-level members.
    pub extra: Extra,
}

/// What a response carries.
#[derive(Debug, Clone)]
pub enum ResponseBody {
    /// A `result`, verbatim.
    Result(Box<RawValue>),
    /// An `error`, verbatim.
    Error(Box<RawValue>),
}

/// A response to an earlier request.
#[derive(Debug, Clone)]
pub struct Response {
    /// The id of the request this answers.
    pub id: RequestId,
    /// Result or error.
    pub body: ResponseBody,
    /// Unknown top-level members.
    pub extra: Extra,
}

/// Any JSON-RPC message.
#[derive(Debug, Clone)]
pub enum Message {
    /// A request.
    Request(Request),
    /// A notification.
    Notification(Notification),
    /// A response.
    Response(Response),
}

/// Why bytes could not be turned into a [`Message`].
#[derive(Debug, Error, Clone, PartialEq)]
pub enum ParseError {
    /// Not valid JSON at all (JSON-RPC -32700).
    #[error("parse error: {0}")]
    Json(String),
    /// Valid JSON but not a valid JSON-RPC message (-32600). Carries the id
    /// when one could be read, so the error can be addressed to it.
    #[error("invalid request: {reason}")]
    Invalid {
        /// What is wrong.
        reason: String,
        /// The id, if the message had a usable one.
        id: Option<RequestId>,
    },
    /// A JSON array: a batch, which MCP since 2025-06-18 does not allow.
    #[error("invalid request: JSON-RPC batches are not supported")]
    Batch,
    /// A batch with no message in it (JSON-RPC 2.0 section 6).
    #[error("invalid request: a batch must hold at least one message")]
    EmptyBatch,
}

impl ParseError {
    /// The JSON-RPC error to answer with.
    pub fn to_rpc_error(&self) -> RpcError {
        match self {
            Self::Json(_) => RpcError::parse_error(self.to_string()),
            Self::Invalid { .. } | Self::Batch | Self::EmptyBatch => RpcError::invalid_request(self.to_string()),
        }
    }

    /// The id to address the error to, if known.
    pub fn id(&self) -> Option<&RequestId> {
        match self {
            Self::Invalid { id, .. } => id.as_ref(),
            _ => None,
        }
    }
}

// === impl Message ===

impl Message {
    /// Parses one message from bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
        if first == Some(&b'[') {
            // Still require valid JSON so garbage gets -32700, not "batch".
            return match serde_json::from_slice::<de::IgnoredAny>(bytes) {
                Ok(_) => Err(ParseError::Batch),
                Err(e) => Err(ParseError::Json(e.to_string())),
            };
        }
        let fields: Fields = match serde_json::from_slice(bytes) {
            Ok(f) => f,
            Err(e) if e.is_data() => {
                return Err(ParseError::Invalid { reason: e.to_string(), id: None });
            }
            Err(e) => return Err(ParseError::Json(e.to_string())),
        };
        fields.classify()
    }

    /// Whether `bytes` hold a batch (a JSON array), judged by the first
    /// character that is not whitespace.
    pub fn is_batch(bytes: &[u8]) -> bool {
        bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[')
    }

    /// Parses a batch (MCP 2025-03-26 only): each member on its own, so one
    /// bad member is answered with its own error while the others run. The
    /// whole batch fails only when it is not a JSON array of at least one
    /// value.
    pub fn parse_batch(bytes: &[u8]) -> Result<Vec<Result<Self, ParseError>>, ParseError> {
        let members: Vec<Box<RawValue>> = match serde_json::from_slice(bytes) {
            Ok(members) => members,
            Err(e) if e.is_data() => return Err(ParseError::Invalid { reason: e.to_string(), id: None }),
            Err(e) => return Err(ParseError::Json(e.to_string())),
        };
        if members.is_empty() {
            return Err(ParseError::EmptyBatch);
        }
        Ok(members.iter().map(|m| Self::parse(m.get().as_bytes())).collect())
    }

    /// Serializes the message as compact JSON.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(128);
        match self {
            Self::Request(r) => {
                write_head(&mut out, Some(&r.id));
                write_method(&mut out, &r.method, r.params.as_deref());
                write_extra(&mut out, &r.extra);
            }
            Self::Notification(n) => {
                write_head(&mut out, None);
                write_method(&mut out, &n.method, n.params.as_deref());
                write_extra(&mut out, &n.extra);
            }
            Self::Response(r) => {
                write_head(&mut out, Some(&r.id));
                match &r.body {
                    ResponseBody::Result(v) => write_member(&mut out, "result", v.get()),
                    ResponseBody::Error(v) => write_member(&mut out, "error", v.get()),
                }
                write_extra(&mut out, &r.extra);
            }
        }
        out.push('}');
        out
    }
}

impl Request {
    /// Builds a request with no extra members.
    pub fn new(id: RequestId, method: impl Into<String>, params: Option<Box<RawValue>>) -> Self {
        Self { id, method: method.into(), params, extra: Vec::new() }
    }

    /// Deserializes the params into `T` (absent params read as `{}`).
    pub fn params_as<'a, T: Deserialize<'a>>(&'a self) -> Result<T, RpcError> {
        params_as(self.params.as_deref())
    }
}

impl Notification {
    /// Builds a notification with no extra members.
    pub fn new(method: impl Into<String>, params: Option<Box<RawValue>>) -> Self {
        Self { method: method.into(), params, extra: Vec::new() }
    }

    /// Deserializes the params into `T` (absent params read as `{}`).
    pub fn params_as<'a, T: Deserialize<'a>>(&'a self) -> Result<T, RpcError> {
        params_as(self.params.as_deref())
    }
}

impl Response {
    /// A success response.
    pub fn result(id: RequestId, result: Box<RawValue>) -> Self {
        Self { id, body: ResponseBody::Result(result), extra: Vec::new() }
    }

    /// An error response.
    pub fn error(id: RequestId, error: &RpcError) -> Self {
        let raw = serde_json::value::to_raw_value(error).expect("an RpcError serializes");
        Self { id, body: ResponseBody::Error(raw), extra: Vec::new() }
    }

    /// The response as `Ok(result)` or `Err(error)`; a malformed error object
    /// becomes an internal error.
    pub fn into_result(self) -> Result<Box<RawValue>, RpcError> {
        match self.body {
            ResponseBody::Result(r) => Ok(r),
            ResponseBody::Error(e) => Err(serde_json::from_str(e.get())
                .unwrap_or_else(|_| RpcError::internal(format!("malformed error: {}", e.get())))),
        }
    }
}

/// Serializes an error response without building a [`Response`] first; `id`
/// `None` writes `"id":null`, as JSON-RPC requires when the id is unknown.
pub fn error_json(id: Option<&RequestId>, error: &RpcError) -> String {
    let err = serde_json::to_string(error).expect("an RpcError serializes");
    let id = id.map_or("null", RequestId::as_json);
    format!(r#"{{"jsonrpc":"2.0","id":{id},"error":{err}}}"#)
}

/// Serializes a result response from its parts.
pub fn result_json(id: &RequestId, result: &RawValue) -> String {
    let id = id.as_json();
    let result = result.get();
    let mut out = String::with_capacity(32 + id.len() + result.len());
    let _ = write!(out, r#"{{"jsonrpc":"2.0","id":{id},"result":{result}}}"#);
    out
}

fn params_as<'a, T: Deserialize<'a>>(params: Option<&'a RawValue>) -> Result<T, RpcError> {
    let text = params.map_or("{}", RawValue::get);
    serde_json::from_str(text).map_err(|e| RpcError::invalid_params(format!("invalid params: {e}")))
}

fn write_head(out: &mut String, id: Option<&RequestId>) {
    out.push_str(r#"{"jsonrpc":"2.0""#);
    if let Some(id) = id {
        write_member(out, "id", id.as_json());
    }
}

fn write_method(out: &mut String, method: &str, params: Option<&RawValue>) {
    let quoted = serde_json::to_string(method).expect("a string serializes");
    write_member(out, "method", &quoted);
    if let Some(p) = params {
        write_member(out, "params", p.get());
    }
}

fn write_extra(out: &mut String, extra: &Extra) {
    for (key, value) in extra {
        let quoted = serde_json::to_string(&**key).expect("a string serializes");
        out.push(',');
        out.push_str(&quoted);
        out.push(':');
        out.push_str(value.get());
    }
}

fn write_member(out: &mut String, key: &str, raw: &str) {
    out.push_str(",\"");
    out.push_str(key);
    out.push_str("\":");
    out.push_str(raw);
}

// === Fields: the untyped first pass ===

#[derive(Default)]
struct Fields {
    jsonrpc: Option<Box<RawValue>>,
    id: Option<Box<RawValue>>,
    method: Option<Box<RawValue>>,
    params: Option<Box<RawValue>>,
    result: Option<Box<RawValue>>,
    error: Option<Box<RawValue>>,
    extra: Extra,
}

impl Fields {
    fn classify(self) -> Result<Message, ParseError> {
        let id = match self.id {
            None => None,
            Some(raw) if raw.get() == "null" => None,
            Some(raw) => match RequestId::from_raw(raw) {
                Some(id) => Some(id),
                None => return Err(invalid("id must be a string or a number", None)),
            },
        };
        if self.jsonrpc.as_deref().map(RawValue::get) != Some(r#""2.0""#) {
            return Err(invalid(r#"jsonrpc must be "2.0""#, id));
        }
        if let Some(method) = self.method {
            let Ok(method) = serde_json::from_str::<String>(method.get()) else {
                return Err(invalid("method must be a string", id));
            };
            if self.result.is_some() || self.error.is_some() {
                return Err(invalid("a request carries no result or error", id));
            }
            if let Some(p) = &self.params
                && !p.get().starts_with('{')
            {
                return Err(invalid("params must be an object", id));
            }
            return Ok(match id {
                Some(id) => Message::Request(Request { id, method, params: self.params, extra: self.extra }),
                None => Message::Notification(Notification { method, params: self.params, extra: self.extra }),
            });
        }
        let Some(id) = id else {
            return Err(invalid("message has neither method nor id", None));
        };
        let body = match (self.result, self.error) {
            (Some(r), None) => ResponseBody::Result(r),
            (None, Some(e)) => ResponseBody::Error(e),
            _ => return Err(invalid("a response carries exactly one of result and error", Some(id))),
        };
        Ok(Message::Response(Response { id, body, extra: self.extra }))
    }
}

fn invalid(reason: &str, id: Option<RequestId>) -> ParseError {
    ParseError::Invalid { reason: reason.to_owned(), id }
}

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(FieldsVisitor)
    }
}

struct FieldsVisitor;

impl<'de> Visitor<'de> for FieldsVisitor {
    type Value = Fields;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON-RPC message object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields, A::Error> {
        let mut f = Fields::default();
        while let Some(crate::MemberName(key)) = map.next_key()? {
            let value: Box<RawValue> = map.next_value()?;
            let slot = match &*key {
                "jsonrpc" => &mut f.jsonrpc,
                "id" => &mut f.id,
                "method" => &mut f.method,
                "params" => &mut f.params,
                "result" => &mut f.result,
                "error" => &mut f.error,
                _ => {
                    f.extra.push((key.into_owned().into_boxed_str(), value));
                    continue;
                }
            };
            if slot.is_some() {
                return Err(de::Error::custom(format!("duplicate member {key:?}")));
            }
            *slot = Some(value);
        }
        Ok(f)
    }
}

#[cfg(test)]
mod tests;
