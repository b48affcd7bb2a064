//! Running a server role: a router over backends, reached over HTTP or
//! stdio, until a signal asks it to stop.

use crate::cli::{ServeArgs, TlsArgs};
use anyhow::{Context as _, bail};
use herd_access::Access;
use herd_proto::Backend;
use herd_proto::model::Implementation;
use herd_router::{Router, RouterConfig, StateKey};
use herd_transport::http::{self, Authenticator, BearerAuth, HttpConfig, Readiness, ServerTls};
use herd_transport::stdio::{StdioConfig, serve_stdio};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The agent's default address.
pub(crate) const AGENT_LISTEN: &str = "127.0.0.1:7801";
/// The hub's default address.
pub(crate) const HUB_LISTEN: &str = "127.0.0.1:7800";

/// The secret that signs the `requestState` of stateless (2026-07-28)
/// `input_required` results. Replicas behind one load balancer must share
/// it; without it each process draws its own, and a retry must reach the
/// process that asked.
const STATE_KEY_ENV: &str = "HERD_STATE_KEY";

/// A router for role `name` over `backends`.
pub(crate) fn router(name: &str, backends: Vec<Arc<dyn Backend>>) -> Router {
    router_of_replica(name, backends, None)
}

/// [`router`] for a hub that is one `replica` of several: its session ids
/// name it, and the key of `requestState` is the one every replica shares
/// (kept in the store; [`STATE_KEY_ENV`], when set, still wins).
pub(crate) fn router_of_replica(
    name: &str,
    backends: Vec<Arc<dyn Backend>>,
    replica: Option<&herd_replica::Replica>,
) -> Router {
    let state_key = std::env::var(STATE_KEY_ENV).ok().filter(|s| !s.is_empty());
    let state_key = match (state_key, replica) {
        (Some(key), _) => StateKey::from_secret(key.as_bytes()),
        (None, Some(replica)) => StateKey::from_secret(replica.state_key()),
        (None, None) => StateKey::default(),
    };
    let config = RouterConfig {
        server_info: Implementation { name: name.into(), version: env!("CARGO_PKG_VERSION").into(), title: None },
        state_key,
        id_prefix: replica.map(herd_replica::Replica::id_prefix).unwrap_or_default(),
        ..RouterConfig::default()
    };
    Router::new(config, backends)
}

/// Serves `backends` as role `name` until a signal (HTTP) or the end of
/// stdin (stdio). HTTP requests are authenticated by `access` when given,
/// else by the token of `args`, which is required unless
/// `--insecure-no-auth` is given on a loopback address.
pub(crate) async fn run(
    name: &str,
    args: ServeArgs,
    backends: Vec<Arc<dyn Backend>>,
    access: Option<Arc<Access>>,
) -> anyhow::Result<()> {
    let router = router(name, backends);
    if args.stdio {
        if args.tls.tls_cert.is_some() {
            bail!("--tls-cert and --tls-key apply to HTTP; stdio has no TLS");
        }
        tracing::info!(role = name, "serving MCP on stdio");
        return serve_stdio(router, StdioConfig::default()).await.context("stdio transport failed");
    }
    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signal(shutdown.clone()));
    let listener = bind(args.listen.unwrap_or_else(|| default_addr(AGENT_LISTEN))).await?;
    serve_http(name, &args, listener, router, axum::Router::new(), access, shutdown).await
}

/// Serves `backends` as role `name` over a channel to a hub, and over
/// HTTP too when `serve` names an address to listen on, until a signal.
/// `channel_only` routes (the LLM relay's) are served over the channel
/// and never on that address.
pub(crate) async fn run_over_channel(
    name: &str,
    serve: ServeArgs,
    backends: Vec<Arc<dyn Backend>>,
    channel: herd_channel::AgentChannelConfig,
    access: Option<Arc<Access>>,
    channel_only: axum::Router,
) -> anyhow::Result<()> {
    if serve.stdio {
        bail!("a server joined to a hub serves over its channel (and --listen), not on stdio");
    }
    let router = router(name, backends);
    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signal(shutdown.clone()));
    // The hub is the only peer on the channel, authenticated when it was
    // dialled: its requests are those of the holder of this server's
    // credential, so the principal it names in `_meta` is believed.
    let channel_http = HttpConfig { auth: Authenticator::anonymous(), ..HttpConfig::default() };
    let app = http::try_app(router.clone(), channel_http)?.merge(channel_only);
    let dialer = herd_channel::AgentChannel::new(channel)?;
    if serve.listen.is_none() {
        tracing::info!(role = name, url = "channel", "serving MCP");
    }
    let dialing = tokio::spawn(dialer.run(app, shutdown.clone()));
    let served = match serve.listen {
        Some(listen) => {
            let listener = bind(listen).await?;
            serve_http(name, &serve, listener, router, axum::Router::new(), access, shutdown.clone()).await
        }
        None => {
            shutdown.cancelled().await;
            Ok(())
        }
    };
    shutdown.cancel();
    let _ = dialing.await;
    served
}

/// Binds an HTTP listener.
pub(crate) async fn bind(listen: SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))
}

/// Serves `router` over HTTP on `listener`, with `extra` routes beside
/// the MCP path (behind the same Host, Origin and token checks), until
/// `shutdown`. `/readyz` answers `ready` whenever the listener does.
/// Requests are authenticated by `access` (the hub: users' tokens and
/// OAuth), else by the token of `args` (the agent).
pub(crate) async fn serve_http(
    name: &str,
    args: &ServeArgs,
    listener: tokio::net::TcpListener,
    router: Router,
    extra: axum::Router,
    access: Option<Arc<Access>>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let around = Around {
        extra,
        public: axum::Router::new(),
        readiness: Readiness::new(),
        access,
        status_page: None,
        replica: None,
    };
    serve_http_ready(name, args, listener, router, around, shutdown).await
}

/// What a server role serves around its MCP path.
pub(crate) struct Around {
    /// Routes beside the MCP path, behind the same checks.
    pub(crate) extra: axum::Router,
    /// Routes beside the MCP path that need no credential (the fleet CA's
    /// certificate).
    pub(crate) public: axum::Router,
    /// Behind `/readyz` (no token asked, one word answered: see
    /// `herd_transport::http::Readiness`).
    pub(crate) readiness: Readiness,
    /// The authenticator of users' tokens and OAuth (the hub); `None`:
    /// the token of the role's arguments.
    pub(crate) access: Option<Arc<Access>>,
    /// The fleet status page at `/ui` (the hub), signed in to with a token
    /// the same authenticator accepts.
    pub(crate) status_page: Option<herd_ui::StatusPage>,
    /// The replica this hub is of several: requests for another replica's
    /// session go there (`herd_replica`).
    pub(crate) replica: Option<herd_replica::Replica>,
}

/// [`serve_http`] with everything `around` says.
pub(crate) async fn serve_http_ready(
    name: &str,
    args: &ServeArgs,
    listener: tokio::net::TcpListener,
    router: Router,
    around: Around,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let Around { extra, mut public, readiness, access, status_page, replica } = around;
    let local = listener.local_addr().context("listener has no address")?;
    let mut http_config = http_config(args, local, access.is_some())?;
    if let Some(access) = access.filter(|_| !args.insecure_no_auth) {
        if let Some(oauth) = access.oauth() {
            // Clients read it before they have a token.
            public = public.merge(oauth.metadata_route());
        }
        http_config.auth = Authenticator::from_arc(access);
    }
    let tls = server_tls(&args.tls)?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let auth = http_config.auth.checks_credentials();
    tracing::info!(role = name, url = %format!("{scheme}://{local}{}", http_config.path), auth, "serving MCP");
    let mut app = http::try_app(router, http_config.clone())?
        .merge(http::guarded(extra, &http_config))
        .merge(readiness.route())
        .merge(public);
    if let Some(page) = status_page {
        app = app.merge(page.routes(&http_config, tls.is_some()));
        tracing::info!(url = %format!("{scheme}://{local}/ui"), "serving the status page");
    }
    if let Some(replica) = replica {
        app = replica.layer(app, &http_config.path);
    }
    http::serve_with(listener, app, &http_config, tls, shutdown).await;
    tracing::info!(role = name, "stopped");
    Ok(())
}

/// The certificate and key to serve HTTPS with, if given.
fn server_tls(args: &TlsArgs) -> anyhow::Result<Option<ServerTls>> {
    match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Ok(Some(ServerTls::load(cert, key).context("cannot serve HTTPS")?)),
        (None, None) => Ok(None),
        _ => bail!("--tls-cert and --tls-key go together"),
    }
}

pub(crate) fn default_addr(text: &str) -> SocketAddr {
    text.parse().unwrap_or(SocketAddr::from(([127, 0, 0, 1], 0)))
}

/// The HTTP settings of `args`; with `store_auth` the caller sets the
/// authenticator, and no token is required.
fn http_config(args: &ServeArgs, listen: SocketAddr, store_auth: bool) -> anyhow::Result<HttpConfig> {
    let loopback = listen.ip().is_loopback();
    let token = args.token.clone().filter(|t| !t.is_empty());
    let auth = match (token, args.insecure_no_auth) {
        // Replaced by the caller's unless --insecure-no-auth.
        (_, false) if store_auth => Authenticator::anonymous(),
        (Some(token), false) => Authenticator::static_tokens(BearerAuth::new([token])),
        (Some(token), true) if !store_auth => Authenticator::static_tokens(BearerAuth::new([token])),
        (_, true) if loopback => Authenticator::anonymous(),
        (_, true) => bail!("--insecure-no-auth is only allowed on a loopback address, not {listen}"),
        (None, false) => bail!(
            "no token: set HERD_TOKEN (or --token), or pass --insecure-no-auth to serve unauthenticated on loopback"
        ),
    };
    http::check_path(&args.path)?;
    let allowed_hosts = loopback.then(|| {
        let mut hosts = HttpConfig::loopback_hosts();
        hosts.extend(args.allowed_hosts.iter().cloned());
        hosts
    });
    if let Some(bad) = args.allowed_origins.iter().find(|o| !o.contains("://")) {
        bail!("--allowed-origin must be scheme://host[:port], not {bad:?}");
    }
    let allowed_origins = args.allowed_origins.clone();
    Ok(HttpConfig { path: args.path.clone(), auth, allowed_hosts, allowed_origins, ..HttpConfig::default() })
}

pub(crate) async fn stop_on_signal(shutdown: CancellationToken) {
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

#[cfg(test)]
mod tests;
