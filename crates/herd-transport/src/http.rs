//! The Streamable HTTP transport (MCP 2025-06-18 and 2025-11-25, and the
//! stateless 2026-07-28 on the same path, chosen per request: see
//! `stateless`).
//!
//! One path (default `/mcp`) answers:
//!
//! - `POST`: one JSON-RPC message. Requests are answered as
//!   `application/json` when the handler finishes without sending anything
//!   first; the moment it sends a notification or a server-to-client request,
//!   the answer becomes an SSE stream instead (when the client accepts one).
//!   Quick calls thus cost one JSON body, and long ones stream.
//! - `GET`: the session's standalone SSE stream, or with `Last-Event-ID` the
//!   resumption of any stream of the session.
//! - `DELETE`: ends the session.
//! - `OPTIONS`: CORS preflight.
//!
//! Every SSE event has an id (`<stream>-<seq>`); a stream's latest events
//! (bounded in number and bytes) are kept until it ends plus a retention
//! period, so a client that lost its connection reconnects and misses
//! nothing still held, and is told what it missed beyond that (see
//! `stream`).
//!
//! Every request is authenticated (`auth`): its principal opens a session
//! (which only that subject may use, end or stream from: anyone else gets
//! 404, as for an unknown session) and makes each request. `initialize`
//! opens the session for an owner (`owner`: the principal, else the bearer
//! token, else the client's address), so the router's per-owner cap
//! applies. Open SSE streams authenticate again every few seconds when the
//! authenticator asks for it (`recheck`), so a revoked token loses them.
//!
//! All failures are turned into responses in [`error`], the only place that
//! picks HTTP statuses.

mod auth;
mod config;
mod error;
mod guard;
mod mcp;
mod owner;
mod ready;
mod recheck;
mod serve;
mod stateless;
mod stream;
mod tls;

pub use auth::{AuthError, Authenticate, Authenticator};
pub use config::{BearerAuth, HEADER_READ_TIMEOUT, HttpConfig, InvalidPath, RESERVED_PATHS, check_path};
pub use guard::{guarded, host_allowed};
pub use mcp::{app, try_app};
pub use ready::{NotReady, READY_CHECK_DEADLINE, Readiness};
pub use serve::{serve, serve_with};
pub use tls::{RELOAD_POLL, ServerTls, TlsError};

#[cfg(test)]
mod tests;
