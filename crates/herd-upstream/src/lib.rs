//! herd as an MCP client.
//!
//! The hub reaches agents, and an agent reaches its supervised servers, as
//! an MCP client. This crate holds both halves of that:
//!
//! - [`Upstream`]: one client connection to another MCP server. A request
//!   sent through it resolves with the server's response, while everything
//!   the server sends on the way (progress, log messages, server-to-client
//!   requests) arrives on a channel, and what it sends outside any request
//!   goes to a sink registered with [`Upstream::listen`]. [`HttpUpstream`]
//!   speaks Streamable HTTP; a stdio child is another implementation.
//! - [`Relay`]: a [`herd_proto::Backend`] over an upstream. It forwards
//!   requests without touching what it does not understand, gives each its
//!   own upstream id, swaps progress tokens both ways, hands server-to-client
//!   requests to the client that caused them and returns the answers, and
//!   tells the upstream when a call is cancelled.
//! - [`Tunnel`]: another way than dialling to get an HTTP exchange to an
//!   upstream, for agents that connect out to the hub.

mod error;
mod http;
mod relay;
pub mod routes;
mod sse;
mod tls;
mod tunnel;
mod upstream;

pub use error::UpstreamError;
pub use http::{HttpUpstream, HttpUpstreamConfig, with_causes};
pub use relay::{Relay, RelayConfig};
pub use tls::{CaError, TrustedCa, tls_failure};
pub use tunnel::{Tunnel, TunnelError, TunnelLink};
pub use upstream::{Call, Upstream};
