//! Audit: one record per request that reached a tool, resource, prompt,
//! completion or LLM.
//!
//! - [`AuditRecord`] is the record, plain data; its JSON form (one object
//!   per line for a SIEM) uses the OpenTelemetry MCP and GenAI attribute
//!   names where one exists (`mcp.method.name`, `gen_ai.tool.name`, ...).
//! - [`AuditWriter`] is how a node writes them: an answer may leave only
//!   after its record is committed, and concurrent callers share commits
//!   (group commit), so durability costs one transaction per batch, not per
//!   request.
//! - [`Store::query_audit`] reads them back with an [`AuditFilter`] (its
//!   `after_id` cursor serves `--follow`), [`Store::prune_audit`] applies
//!   retention.
//!
//! Text fields are cut to a fixed size when written (error text to
//! [`ERROR_CAP`], the argument payload to [`ARGS_CAP`]), so no client can
//! make a row arbitrarily large.

mod json;
mod sql;
mod sqlite_writer;
mod writer;

#[cfg(test)]
mod tests;

pub use sql::{AUDIT_DEFAULT_LIMIT, AUDIT_MAX_LIMIT, AuditFilter};
pub use writer::{AuditConfig, AuditStats, AuditWriter};

use crate::{StoreError, Timestamp, check};
use aws_lc_rs::digest;
use std::fmt;
use std::str::FromStr;

/// Longest error text kept, in bytes.
pub const ERROR_CAP: usize = 1024;
/// Longest argument payload kept, in bytes.
pub const ARGS_CAP: usize = 16 * 1024;

/// One audited request. Optional fields are `None` when they do not apply
/// (no session on a stateless request, no LLM fields on a tool call).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Store-assigned, increasing id; `None` until written.
    pub id: Option<i64>,
    /// When the request arrived.
    pub time: Timestamp,
    /// The herd user who made it.
    pub user: Option<String>,
    /// The public id of the token they used.
    pub token_id: Option<String>,
    /// The OAuth subject, for a principal from an identity provider.
    pub oauth_subject: Option<String>,
    /// `clientInfo.name` of the MCP client.
    pub client_name: Option<String>,
    /// `clientInfo.version` of the MCP client.
    pub client_version: Option<String>,
    /// The client's network address.
    pub client_address: Option<String>,
    /// The MCP session id.
    pub session: Option<String>,
    /// The JSON-RPC method (`tools/call`), or the LLM API route.
    pub method: String,
    /// The tool, prompt or resource URI the request named.
    pub target: Option<String>,
    /// The hosts it went to.
    pub hosts: Vec<String>,
    /// How it reached them.
    pub path: Option<AuditPath>,
    /// How long it took.
    pub duration_ms: u64,
    /// How it ended.
    pub outcome: Outcome,
    /// What went wrong, cut to [`ERROR_CAP`] bytes.
    pub error: Option<String>,
    /// Lowercase hex SHA-256 of the arguments as received.
    pub args_sha256: Option<String>,
    /// Size of the arguments in bytes.
    pub args_size: Option<u64>,
    /// The arguments themselves (only when payloads are kept), cut to
    /// [`ARGS_CAP`] bytes.
    pub args: Option<String>,
    /// LLM: the model asked for.
    pub model: Option<String>,
    /// LLM: the provider that served it.
    pub provider: Option<String>,
    /// LLM: the pool member that served it.
    pub member: Option<String>,
    /// LLM: prompt tokens.
    pub prompt_tokens: Option<u64>,
    /// LLM: completion tokens.
    pub completion_tokens: Option<u64>,
    /// LLM: time to first token.
    pub ttft_ms: Option<u64>,
}

impl AuditRecord {
    /// A record of `method` at `time` with `outcome`, every other field empty.
    pub fn new(time: Timestamp, method: impl Into<String>, outcome: Outcome) -> Self {
        Self {
            id: None,
            time,
            user: None,
            token_id: None,
            oauth_subject: None,
            client_name: None,
            client_version: None,
            client_address: None,
            session: None,
            method: method.into(),
            target: None,
            hosts: Vec::new(),
            path: None,
            duration_ms: 0,
            outcome,
            error: None,
            args_sha256: None,
            args_size: None,
            args: None,
            model: None,
            provider: None,
            member: None,
            prompt_tokens: None,
            completion_tokens: None,
            ttft_ms: None,
        }
    }

    /// Names `principal` as who made the request: a herd user by name and
    /// token id, an OAuth principal by subject; the anonymous admin (a
    /// server without authentication) by nothing.
    pub fn attribute_to(&mut self, principal: &herd_auth::Principal) {
        match principal.identity() {
            herd_auth::Identity::User { name, token_id, .. } => {
                self.user = Some(name.clone());
                self.token_id = Some(token_id.to_string());
            }
            herd_auth::Identity::OAuth { subject, .. } => self.oauth_subject = Some(subject.clone()),
            herd_auth::Identity::Anonymous => {}
        }
    }

    /// Sets the digest and size of `raw` (the arguments as received) and,
    /// when `keep_payload`, the arguments themselves.
    pub fn set_args(&mut self, raw: &[u8], keep_payload: bool) {
        let sum = digest::digest(&digest::SHA256, raw);
        self.args_sha256 = Some(hex::encode(sum.as_ref()));
        self.args_size = Some(raw.len() as u64);
        // Only the bytes that can survive the cap are decoded (a few more, so
        // the cut is marked).
        self.args = keep_payload.then(|| {
            check::truncate(&String::from_utf8_lossy(&raw[..raw.len().min(ARGS_CAP + 4)]), ARGS_CAP).into_owned()
        });
    }
}

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Answered with a result.
    Ok,
    /// A tool result with `isError: true`.
    ToolError,
    /// A JSON-RPC error.
    RpcError,
    /// Refused by policy.
    Denied,
    /// Cancelled by the client.
    Cancelled,
    /// Ran out of time.
    Timeout,
}

/// How a request reached its host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditPath {
    /// The host's agent over HTTP.
    Agent,
    /// The SSH fallback.
    Ssh,
    /// The agent's outbound channel.
    Channel,
    /// This node itself.
    Local,
}

/// Text forms of the two enums above, shared by the database, JSON and
/// command lines.
macro_rules! text_enum {
    ($ty:ident, $field:literal, $($variant:ident = $text:literal),+) => {
        impl $ty {
            /// Every value.
            pub const ALL: &[$ty] = &[$($ty::$variant),+];

            /// The text form.
            pub const fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $text),+ }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $ty {
            type Err = StoreError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s).ok_or_else(|| {
                    let all: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                    StoreError::invalid($field, format!("{s:?}: use one of {}", all.join(", ")))
                })
            }
        }
    };
}

text_enum!(
    Outcome,
    "outcome",
    Ok = "ok",
    ToolError = "tool_error",
    RpcError = "rpc_error",
    Denied = "denied",
    Cancelled = "cancelled",
    Timeout = "timeout"
);
text_enum!(AuditPath, "path", Agent = "agent", Ssh = "ssh", Channel = "channel", Local = "local");
