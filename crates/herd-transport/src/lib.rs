//! herd's MCP transports.
//!
//! - [`http`]: the Streamable HTTP server (`POST`/`GET`/`DELETE`/`OPTIONS`
//!   on one path), with resumable SSE streams, DNS-rebinding protection,
//!   bearer auth and input limits.
//! - [`stdio`]: line-delimited JSON-RPC on stdin/stdout, diagnostics on
//!   stderr.
//!
//! - [`lines`]: the line framing of stdio, for servers and clients alike.
//!
//! Both turn bytes into [`herd_proto::Message`]s and hand them to a
//! [`herd_router::Session`]; neither knows what a tool is.

pub mod http;
pub mod lines;
mod queue;
pub mod stdio;

#[cfg(test)]
mod testing;
