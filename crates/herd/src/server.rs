//! Running a server role: a router over backends, reached over HTTP or
//! stdio, until a signal asks it to stop.

use crate::cli::ServeArgs;
use anyhow::{Context as _, bail};
use herd_proto::Backend;
use herd_proto::model::Implementation;
use herd_router::{Router, RouterConfig};
use herd_transport::http::{self, BearerAuth, HttpConfig};
use herd_transport::stdio::{StdioConfig, serve_stdio};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Serves `backends` as role `name` until a signal (HTTP) or the end of
/// stdin (stdio). HTTP requires a token unless `--insecure-no-auth` is
/// given on a loopback address.
pub(crate) async fn run(name: &str, args: ServeArgs, backends: Vec<Arc<dyn Backend>>) -> anyhow::Result<()> {
    let config = RouterConfig {
        server_info: Implementation { name: name.into(), version: env!("CARGO_PKG_VERSION").into(), title: None },
        ..RouterConfig::default()
    };
    let router = Router::new(config, backends);
    if args.stdio {
        tracing::info!(role = name, "serving MCP on stdio");
        return serve_stdio(router, StdioConfig::default()).await.context("stdio transport failed");
    }
    let http_config = http_config(&args)?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let local = listener.local_addr().context("listener has no address")?;
    tracing::info!(role = name, url = %format!("http://{local}{}", http_config.path), auth = http_config.auth.is_some(), "serving MCP");
    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signal(shutdown.clone()));
    let app = http::app(router, http_config.clone());
    http::serve(listener, app, &http_config, shutdown).await;
    tracing::info!(role = name, "stopped");
    Ok(())
}

fn http_config(args: &ServeArgs) -> anyhow::Result<HttpConfig> {
    let loopback = args.listen.ip().is_loopback();
    let token = args.token.clone().filter(|t| !t.is_empty());
    let auth = match (token, args.insecure_no_auth) {
        (Some(token), _) => Some(BearerAuth::new([token])),
        (None, true) if loopback => None,
        (None, true) => bail!("--insecure-no-auth is only allowed on a loopback address, not {}", args.listen),
        (None, false) => bail!(
            "no token: set HERD_TOKEN (or --token), or pass --insecure-no-auth to serve unauthenticated on loopback"
        ),
    };
    if !args.path.starts_with('/') {
        bail!("--path must start with '/': {}", args.path);
    }
    let allowed_hosts = loopback.then(|| {
        let mut hosts = HttpConfig::loopback_hosts();
        hosts.extend(args.allowed_hosts.iter().cloned());
        hosts
    });
    Ok(HttpConfig { path: args.path.clone(), auth, allowed_hosts, ..HttpConfig::default() })
}

async fn stop_on_signal(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down");
    shutdown.cancel();
}
