//! One HTTPS connection: the handshake, bounded in time, then HTTP/2 when
//! the client chose `h2` by ALPN and HTTP/1.1 otherwise, with the same
//! limits as plain HTTP.

use super::ServerTls;
use crate::http::serve::drive;
use axum::Router as AxumRouter;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt as _;

type Request = http::Request<Incoming>;

/// Everything a TLS connection is served with, made once per listener.
pub(in crate::http) struct Serving {
    acceptor: TlsAcceptor,
    http1: http1::Builder,
    http2: http2::Builder<TokioExecutor>,
    handshake_timeout: Duration,
    shutdown: CancellationToken,
}

impl Serving {
    /// Serving with `tls`, HTTP/1.1 as `http1` is set up, headers bounded
    /// by `max_header_bytes` on HTTP/2 too, and handshakes bounded by
    /// `handshake_timeout`. Starts the certificate reloader, which stops
    /// with `shutdown`.
    pub(in crate::http) fn new(
        tls: &ServerTls,
        http1: http1::Builder,
        max_header_bytes: usize,
        handshake_timeout: Duration,
        shutdown: CancellationToken,
    ) -> Self {
        tls.spawn_reloader(shutdown.clone());
        let mut http2 = http2::Builder::new(TokioExecutor::new());
        http2.timer(TokioTimer::new()).max_header_list_size(u32::try_from(max_header_bytes).unwrap_or(u32::MAX));
        Self { acceptor: TlsAcceptor::from(tls.config.clone()), http1, http2, handshake_timeout, shutdown }
    }

    /// Serves `socket` from `peer` with `app` in a task of its own.
    pub(in crate::http) fn spawn(&self, socket: TcpStream, peer: SocketAddr, app: AxumRouter, tasks: &TaskTracker) {
        let handshake = tokio::time::timeout(self.handshake_timeout, self.acceptor.accept(socket));
        let (http1, http2, shutdown) = (self.http1.clone(), self.http2.clone(), self.shutdown.clone());
        tasks.spawn(async move {
            let stream = tokio::select! {
                () = shutdown.cancelled() => return,
                done = handshake => match done {
                    Ok(Ok(stream)) => stream,
                    Ok(Err(err)) => return tracing::debug!(%err, %peer, "TLS handshake failed"),
                    Err(_) => return tracing::debug!(%peer, "TLS handshake not finished in time; connection closed"),
                },
            };
            let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
            tracing::debug!(%peer, alpn = if h2 { "h2" } else { "http/1.1" }, "TLS connection");
            let io = TokioIo::new(stream);
            let served = if h2 {
                let conn = http2.serve_connection(io, service(app, peer, true));
                drive(conn, &shutdown, |c| c.graceful_shutdown()).await
            } else {
                let conn = http1.serve_connection(io, service(app, peer, false)).with_upgrades();
                drive(conn, &shutdown, |c| c.graceful_shutdown()).await
            };
            if let Err(err) = served {
                tracing::debug!(%err, %peer, "connection ended with an error");
            }
        });
    }
}

/// `app` as hyper calls it: handlers learn the client's address as axum's
/// `ConnectInfo`, and on HTTP/2 the `:authority` is also the `Host` header,
/// which is what the Host check reads (an HTTP/2 client need not send one).
fn service(
    app: AxumRouter,
    peer: SocketAddr,
    h2: bool,
) -> TowerToHyperService<tower::util::MapRequest<AxumRouter, impl FnMut(Request) -> Request + Clone>> {
    TowerToHyperService::new(app.map_request(move |mut req: Request| {
        req.extensions_mut().insert(ConnectInfo(peer));
        if h2 && let Some(host) = req.uri().authority().and_then(|a| http::HeaderValue::from_str(a.as_str()).ok()) {
            req.headers_mut().insert(http::header::HOST, host);
        }
        req
    }))
}
