//! The accept loop: HTTP/1.1 connections with TCP_NODELAY, a bounded header
//! section, a header read timeout, and graceful shutdown; or HTTPS (see
//! `tls`), where each connection's handshake runs in its own task.
//!
//! HTTP/1.1 connections may be upgraded (a hub's agent channels take
//! theirs over that way); an upgraded connection belongs to its handler
//! from then on.

use super::HttpConfig;
use super::tls::{ServerTls, Serving};
use axum::Router as AxumRouter;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt as _;

/// How long open connections get to finish after shutdown is requested.
const DRAIN: Duration = Duration::from_secs(5);

/// Serves `app` on `listener` until `shutdown` fires, then drains.
///
/// Small responses go out without Nagle delay (TCP_NODELAY): with it off, a
/// request/response exchange on loopback waits tens of milliseconds.
pub async fn serve(listener: TcpListener, app: AxumRouter, config: &HttpConfig, shutdown: CancellationToken) {
    serve_with(listener, app, config, None, shutdown).await;
}

/// Like [`serve`], over HTTPS when `tls` is given (HTTP/2 for clients that
/// choose it by ALPN, the certificate reloaded when its files change). The
/// header read timeout bounds the TLS handshake too.
pub async fn serve_with(
    listener: TcpListener,
    app: AxumRouter,
    config: &HttpConfig,
    tls: Option<ServerTls>,
    shutdown: CancellationToken,
) {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout)
        .max_buf_size(config.max_header_bytes.max(8192))
        .keep_alive(true);
    let connections = TaskTracker::new();
    let tls = tls.map(|tls| {
        Serving::new(&tls, builder.clone(), config.max_header_bytes, config.header_read_timeout, shutdown.clone())
    });
    loop {
        let (socket, peer) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(err) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(%err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        if let Err(err) = socket.set_nodelay(true) {
            tracing::debug!(%err, %peer, "could not set TCP_NODELAY");
        }
        if let Some(tls) = &tls {
            tls.spawn(socket, peer, app.clone(), &connections);
            continue;
        }
        // Handlers learn the client's address as axum's `ConnectInfo`.
        let service = TowerToHyperService::new(app.clone().map_request(move |mut req: http::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            req
        }));
        let conn = builder.serve_connection(TokioIo::new(socket), service).with_upgrades();
        let shutdown = shutdown.clone();
        connections.spawn(async move {
            if let Err(err) = drive(conn, &shutdown, |c| c.graceful_shutdown()).await {
                tracing::debug!(%err, %peer, "connection ended with an error");
            }
        });
    }
    connections.close();
    tokio::select! {
        () = connections.wait() => {}
        () = tokio::time::sleep(DRAIN) => tracing::debug!("drain period over; closing remaining connections"),
    }
}

/// Runs `conn` to its end; once `shutdown` fires, asks it to finish
/// gracefully (`graceful`: answer what is in flight, take nothing new).
pub(super) async fn drive<C, E>(conn: C, shutdown: &CancellationToken, graceful: fn(Pin<&mut C>)) -> Result<(), E>
where
    C: Future<Output = Result<(), E>>,
{
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        ended = conn.as_mut() => ended,
        () = shutdown.cancelled() => {
            graceful(conn.as_mut());
            conn.await
        }
    }
}
