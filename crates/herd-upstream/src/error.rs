//! Why a call to an upstream server failed, and how that reads for the
//! client that asked.

use herd_proto::{RpcError, code};

/// A failed exchange with an upstream MCP server.
#[derive(Debug, Clone, thiserror::Error)]
pub enum UpstreamError {
    /// No connection could be made.
    #[error("cannot connect to {target}: {reason}")]
    Connect {
        /// The upstream.
        target: String,
        /// The cause.
        reason: String,
    },
    /// The connection broke once the request may have been sent.
    #[error("lost the connection to {target}: {reason}")]
    Lost {
        /// The upstream.
        target: String,
        /// The cause.
        reason: String,
    },
    /// No answer within the time allowed.
    #[error("{target} did not answer within {seconds:.1}s")]
    Timeout {
        /// The upstream.
        target: String,
        /// The limit.
        seconds: f64,
    },
    /// The upstream refused the token.
    #[error("{target} refused the credentials (HTTP {status})")]
    Unauthorized {
        /// The upstream.
        target: String,
        /// 401 or 403.
        status: u16,
    },
    /// An unexpected HTTP status.
    #[error("{target} answered HTTP {status}: {body}")]
    Http {
        /// The upstream.
        target: String,
        /// The status.
        status: u16,
        /// The start of the body.
        body: String,
    },
    /// The upstream broke the protocol (bad JSON, no response, ...).
    #[error("{target}: {reason}")]
    Protocol {
        /// The upstream.
        target: String,
        /// What went wrong.
        reason: String,
    },
    /// The connection is closed for good.
    #[error("{target} is closed")]
    Closed {
        /// The upstream.
        target: String,
    },
}

impl UpstreamError {
    /// Whether the upstream could not be reached at all (a fallback path may
    /// then be tried).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Self::Connect { .. } | Self::Lost { .. } | Self::Timeout { .. } | Self::Closed { .. })
    }

    /// The JSON-RPC error a client sees. A failure to connect carries
    /// `data.stage = "connect"`: the request certainly never reached the
    /// upstream, so another path may run it without risk of running it twice.
    pub fn to_rpc_error(&self) -> RpcError {
        let code = match self {
            Self::Connect { .. }
            | Self::Lost { .. }
            | Self::Timeout { .. }
            | Self::Closed { .. }
            | Self::Unauthorized { .. } => code::UPSTREAM_UNAVAILABLE,
            Self::Http { .. } | Self::Protocol { .. } => code::INTERNAL_ERROR,
        };
        let error = RpcError::new(code, self.to_string());
        match self {
            Self::Connect { target, .. } => {
                error.with_data(serde_json::json!({ "upstream": target, "stage": "connect" }))
            }
            _ => error,
        }
    }

    /// Whether `error` (from [`UpstreamError::to_rpc_error`]) says the
    /// request never left: see there.
    pub fn never_sent(error: &RpcError) -> bool {
        error.code == code::UPSTREAM_UNAVAILABLE
            && error.data.as_ref().and_then(|d| d.get("stage")).and_then(|s| s.as_str()) == Some("connect")
    }
}
