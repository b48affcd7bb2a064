//! A real agent for hub tests: herd's conformance fixtures behind herd's
//! own HTTP front, on a loopback port.

use herd_proto::Backend;
use herd_router::{Router, RouterConfig};
use herd_transport::http::{HttpConfig, app, serve};
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_util::sync::{CancellationToken, DropGuard};

/// Serves the conformance catalog; returns its MCP URL and stops when the
/// guard is dropped.
pub(crate) async fn conformance_server() -> (String, DropGuard) {
    let backend: Arc<dyn Backend> = Arc::new(herd_tools::conformance::catalog());
    let router = Router::new(RouterConfig::default(), vec![backend]);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let stop = CancellationToken::new();
    let config = HttpConfig::default();
    let (app, token) = (app(router, config.clone()), stop.clone());
    tokio::spawn(async move { serve(listener, app, &config, token).await });
    (url, stop.drop_guard())
}
