//! The outbound channel: how a host that cannot be dialled joins the fleet.
//!
//! A workstation behind NAT or a firewall has no address the hub can reach.
//! Its agent therefore opens one connection to the hub itself: an HTTP/1.1
//! `GET /api/v1/channel` with `Upgrade: herd-channel`, its bearer token,
//! the host name it joins as and a session id it keeps in `$HERD_HOME`.
//! The hub answers `101 Switching Protocols`, and the roles reverse on the
//! upgraded connection: the agent serves HTTP/2 on it (its ordinary MCP
//! endpoint, the same service it would serve on a port) and the hub is the
//! HTTP/2 client. Every hub request is one HTTP/2 stream, so calls are
//! multiplexed with flow control per stream, and a slow stream never holds
//! up another; HTTP/2 PINGs from both ends are the heartbeat.
//!
//! Because the channel carries plain HTTP requests, it is not tied to MCP:
//! the hub reaches the agent's MCP endpoint through it as through any
//! `herd_upstream::Tunnel`, and any other request the hub wants to make of
//! the agent can travel the same way.
//!
//! - [`agent`]: dials the hub, upgrades, serves the agent over the
//!   connection, and reconnects with backoff when it ends.
//! - [`hub`]: the upgrade endpoint, the table of connected agents by host
//!   name, and the tunnel to each of them.

pub mod agent;
pub mod hub;
mod session;

pub use agent::{AgentChannel, AgentChannelConfig};
pub use hub::{BodyError, ChannelBody, ChannelHost, Channels, ChannelsConfig, Remote, RemoteHost};
pub use session::session_id;

/// The path of the upgrade endpoint on the hub.
pub const CHANNEL_PATH: &str = "/api/v1/channel";
/// The protocol named in the `Upgrade` header.
pub const PROTOCOL: &str = "herd-channel";
/// The request header naming the host the agent joins as.
pub const HOST_HEADER: &str = "herd-host";
/// The request header carrying the agent's session id.
pub const SESSION_HEADER: &str = "herd-channel-session";
