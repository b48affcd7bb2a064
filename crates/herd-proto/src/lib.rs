//! The MCP wire vocabulary shared by every part of herd.
//!
//! This crate knows what MCP messages look like and nothing about where they
//! travel: no sockets, no processes, no sessions. It gives the rest of herd
//!
//! - [`Message`]: a JSON-RPC message parsed only as far as routing needs
//!   (id, method, params, result, error) while every other field is kept
//!   verbatim, so a proxy can forward what it does not understand;
//! - [`RequestId`]: an id compared by its exact JSON text (`9.0` stays `9.0`);
//! - [`RpcError`] and the JSON-RPC/MCP error codes;
//! - [`ProtocolVersion`]: the revisions herd speaks and their negotiation;
//! - [`method`]: method names as constants;
//! - [`model`]: typed shapes of the objects herd itself produces (tools,
//!   contents, resources, prompts);
//! - [`Backend`] and [`Context`]: the contract between the router, which owns
//!   client sessions, and whatever answers requests (in-process tools, stdio
//!   children, remote agents).
//!
//! Input limits that must hold before any parsing ([`check_depth`]) live here
//! too, so every transport applies the same ones, as do the rule for tool
//! names a client may send ([`check_tool_name`]) and the one way every crate
//! shows a URL without its credentials ([`redact_url`]).

mod backend;
mod depth;
mod error;
mod id;
mod message;
pub mod method;
pub mod model;
mod name;
mod on_behalf;
mod redact;
mod tool_name;
mod version;

pub use backend::{
    Backend, BoxFuture, ClientFacts, Context, INPUT_KEY_META, ListKind, LogLevel, Notifier, Peer, RequestMeta,
};
pub use depth::{DepthError, check_depth};
pub use error::{RpcError, code};
pub use herd_auth::{Identity, Principal};
pub use id::RequestId;
pub use message::{Extra, Message, Notification, ParseError, Request, Response, ResponseBody, error_json, result_json};
pub use name::MemberName;
pub use on_behalf::{OnBehalfOf, PRINCIPAL_META};
pub use redact::{redact_url, redact_urls_in};
pub use tool_name::{MAX_TOOL_NAME, ToolNameError, check_tool_name};
pub use version::ProtocolVersion;
