//! JSON-RPC errors and the codes MCP uses.
//!
//! Every failure that reaches a client as a JSON-RPC error is an [`RpcError`].
//! Transports decide the HTTP status; this type only carries the JSON-RPC
//! part.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// JSON-RPC and MCP error codes.
pub mod code {
    /// Invalid JSON was received.
    pub const PARSE_ERROR: i32 = -32700;
    /// The JSON sent is not a valid request object.
    pub const INVALID_REQUEST: i32 = -32600;
    /// The method does not exist or is not available.
    pub const METHOD_NOT_FOUND: i32 = -32601;
    /// Invalid method parameters.
    pub const INVALID_PARAMS: i32 = -32602;
    /// Internal error.
    pub const INTERNAL_ERROR: i32 = -32603;
    /// MCP: the resource does not exist.
    pub const RESOURCE_NOT_FOUND: i32 = -32002;
    /// The request was cancelled before it completed.
    pub const REQUEST_CANCELLED: i32 = -32800;
    /// A server-side timeout or an unreachable upstream.
    pub const UPSTREAM_UNAVAILABLE: i32 = -32001;
    /// herd: the caller's role or grant does not allow the request. The
    /// message and `data.missing` name the missing permission (the policy's
    /// `Missing`), e.g. `{"missing": "no grant for host gpu1"}`. Every
    /// denial is this error, tools included: a denied tool is one the
    /// caller's `tools/list` does not show, like an unknown one.
    pub const FORBIDDEN: i32 = -32003;
    /// 2026-07-28: an HTTP header disagrees with the body (or is missing).
    pub const HEADER_MISMATCH: i32 = -32020;
    /// 2026-07-28: the request needs a client capability it did not declare.
    pub const MISSING_CLIENT_CAPABILITY: i32 = -32021;
    /// 2026-07-28: the requested protocol revision is not spoken here.
    pub const UNSUPPORTED_PROTOCOL_VERSION: i32 = -32022;
}

/// A JSON-RPC error object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RpcError {
    /// The error code.
    pub code: i32,
    /// A short, human-readable description.
    pub message: String,
    /// Extra detail for the client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl RpcError {
    /// An error with a code and message.
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), data: None }
    }

    /// Attaches `data`.
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    /// -32700.
    pub fn parse_error(message: impl Into<String>) -> Self {
        Self::new(code::PARSE_ERROR, message)
    }

    /// -32600.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(code::INVALID_REQUEST, message)
    }

    /// -32601 for `method`.
    pub fn method_not_found(method: &str) -> Self {
        Self::new(code::METHOD_NOT_FOUND, format!("method not found: {method}"))
    }

    /// -32602.
    pub fn invalid_params(message: impl Into<String>) -> Self {
        Self::new(code::INVALID_PARAMS, message)
    }

    /// -32603.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(code::INTERNAL_ERROR, message)
    }

    /// -32800.
    pub fn cancelled() -> Self {
        Self::new(code::REQUEST_CANCELLED, "request cancelled")
    }
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for RpcError {}
