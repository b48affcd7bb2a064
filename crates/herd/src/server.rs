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

/// When a role may serve HTTP without a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Auth {
    /// A token is required unless `--insecure-no-auth` on loopback.
    Required,
    /// Without a token, serve unauthenticated (loopback only).
    NoneOnLoopback,
}

pub(crate) async fn run(
    name: &str,
    args: ServeArgs,
    backends: Vec<Arc<dyn Backend>>,
    auth: Auth,
) -> anyhow::Result<()> {
    let config = RouterConfig {
        server_info: Implementation { name: name.into(), version: env!("CARGO_PKG_VERSION").into(), title: None },
        ..RouterConfig::default()
    };
    let router = Router::new(config, backends);
    if args.stdio {
        tracing::info!(role = name, "serving MCP on stdio");
        return serve_stdio(router, StdioConfig::default()).await.context("stdio transport failed");
    }
    let http_config = http_config(&args, auth)?;
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

fn http_config(args: &ServeArgs, auth: Auth) -> anyhow::Result<HttpConfig> {
    let loopback = args.listen.ip().is_loopback();
    let token = args.token.clone().filter(|t| !t.is_empty());
    let auth = match (token, args.insecure_no_auth, auth) {
        (Some(token), _, _) => Some(BearerAuth::new([token])),
        (None, true, _) | (None, false, Auth::NoneOnLoopback) if loopback => None,
        (None, true, _) => bail!("--insecure-no-auth is only allowed on a loopback address, not {}", args.listen),
        (None, false, _) => bail!(
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
