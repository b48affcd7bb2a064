//! Reaching an upstream's HTTP server over a connection it opened itself.
//!
//! An agent behind NAT cannot be dialled: it connects out to the hub, and
//! the hub sends its requests back over that connection (herd-channel).
//! A [`Tunnel`] is that other way of getting a request to the server; an
//! [`HttpUpstream`](crate::HttpUpstream) given one sends every exchange of
//! its session through it instead of dialling its URL, and everything above
//! the exchange (the session, SSE answers, resumption, the relay) stays
//! the same.

use bytes::Bytes;
use herd_proto::BoxFuture;
use http_body_util::Full;
use hyper::body::Incoming;
use std::sync::Arc;

/// Why a request sent through a tunnel got no response head.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TunnelError {
    /// There is no connection to send it on: the request never left.
    #[error("{0}")]
    NotConnected(String),
    /// The connection broke once the request may have been sent.
    #[error("{0}")]
    Lost(String),
}

/// Sends one HTTP request to a server that is reached through a connection
/// it holds open, and waits for the response head.
pub trait Tunnel: Send + Sync + 'static {
    /// Sends `request` (an absolute URI: scheme, authority and path).
    fn send(
        &self,
        request: http::Request<Full<Bytes>>,
    ) -> BoxFuture<'static, Result<http::Response<Incoming>, TunnelError>>;
}

/// A shared [`Tunnel`]; two are equal when they are the same tunnel, so a
/// host reached through one compares by which connection reaches it.
#[derive(Clone)]
pub struct TunnelLink(pub Arc<dyn Tunnel>);

impl TunnelLink {
    /// The tunnel.
    pub fn tunnel(&self) -> &Arc<dyn Tunnel> {
        &self.0
    }
}

impl PartialEq for TunnelLink {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for TunnelLink {}

impl std::fmt::Debug for TunnelLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TunnelLink")
    }
}
