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
//! Both take JSON-RPC batches from sessions of the 2025-03-26 revision
//! (`batch`) and refuse them on every other.
//!
//! Both turn bytes into [`herd_proto::Message`]s and hand them to a
//! [`herd_router::Session`]; neither knows what a tool is.

mod batch;
pub mod http;
pub mod lines;
mod queue;
pub mod stdio;

pub use batch::MAX_BATCH_MESSAGES;

#[cfg(test)]
mod testing;
