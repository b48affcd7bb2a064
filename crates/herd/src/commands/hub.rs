//! `herd hub`: the fleet broker, one MCP endpoint in front of every agent.
//! Agents that cannot be dialled join over the channel they open to it
//! (`/api/v1/channel`, see herd-channel), and the LLMs they publish are
//! served as one OpenAI-compatible API (`/v1/...`, see herd-llm).

mod channels;
mod fleet_ca;
mod llm;
mod table;

use crate::cli::{HubArgs, ServeArgs};
use crate::{home, metrics, server, state};
use anyhow::Context as _;
use herd_access::Access;
use herd_admin::Invalidated;
use herd_fleet::{Host, Registry};
use herd_guard::Audit;
use herd_hub::{CallConfig, Fallback, Hub, SshFallback};
use herd_replica::Replica;
use herd_store::{AuditConfig, AuditWriter, Backend, Store};
use herd_transport::http::Readiness;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// How often stale health entries are re-probed in the background.
const PROBE_TICK: Duration = Duration::from_secs(5);

pub(crate) async fn run(args: HubArgs) -> anyhow::Result<()> {
    let registry = Registry::load(&args.config)?;
    let sync = herd_admin::AuditSettings::load(&args.config)?.sync;
    let store = match &args.state.database_url {
        Some(url) => state::open(&home::path(args.home.clone())?, Some(url), sync).await?,
        None => state::open(&home::dir(args.home.clone())?, None, sync).await?,
    };
    state::keep_admin_token(&store, args.serve.token.as_deref()).await?;
    let access = state::access(store, Some(&args.config))?;
    let hub = new_hub(registry);
    let listener = server::bind(args.serve.listen.unwrap_or_else(|| server::default_addr(server::HUB_LISTEN))).await?;
    let replica = match access.store().backend() {
        Backend::Postgres if args.serve.tls.tls_cert.is_some() => {
            // Replicas forward to one another over plain HTTP on their
            // internal addresses, which a hub serving HTTPS does not have.
            tracing::warn!(
                "serving HTTPS: this hub does not join other replicas (no forwarding of their sessions and \
                 channels); for several replicas, end TLS at the load balancer"
            );
            None
        }
        Backend::Postgres => Some(join_replicas(access.store(), args.advertise, &listener).await?),
        Backend::Sqlite => {
            if args.advertise.is_some() {
                tracing::warn!("--advertise is for several replicas on a PostgreSQL state; ignored with SQLite");
            }
            None
        }
    };
    let shutdown = CancellationToken::new();
    tokio::spawn(server::stop_on_signal(shutdown.clone()));
    let config = Some((args.config, Vec::new()));
    serve(hub, &args.serve, listener, config, access, replica, shutdown).await
}

/// Joins the other replicas of a shared store (see `herd_replica`),
/// reached at `advertise`, or at the listen address.
async fn join_replicas(store: &Store, advertise: Option<String>, listener: &TcpListener) -> anyhow::Result<Replica> {
    let address = match advertise {
        Some(address) => address,
        None => {
            let local = listener.local_addr().context("listener has no address")?;
            if local.ip().is_unspecified() {
                anyhow::bail!(
                    "listening on {local}: give --advertise http://ADDRESS:PORT, where the other replicas reach this one"
                );
            }
            format!("http://{local}")
        }
    };
    let config = herd_replica::ReplicaConfig::new(address);
    Replica::join(store.clone(), config).await.context("cannot join the other hub replicas")
}

/// A hub over `registry` with the ssh fallback its `[ssh]` table sets up.
pub(crate) fn new_hub(registry: Registry) -> Hub {
    let fallback: Arc<dyn Fallback> = Arc::new(SshFallback::new(registry.ssh()));
    Hub::new(registry, Some(fallback), CallConfig::default())
}

/// Probes the fleet once, then serves the hub until `shutdown`, keeping
/// health fresh and (with `config`: the registry file and hosts always
/// added to it) the registry reloaded and old audit records pruned.
/// Requests are authenticated by `access`; every list and call asks the
/// policy, and every call is recorded in the audit log of `access`'s store
/// before it is answered ([audit] payloads says whether argument values
/// are kept). Admins manage users, tokens and that log through the admin
/// API beside `/mcp`; with a `[fleet_ca]` in the config, agents get their
/// certificates there too.
pub(crate) async fn serve(
    hub: Hub,
    args: &ServeArgs,
    listener: TcpListener,
    config: Option<(PathBuf, Vec<Host>)>,
    access: Arc<Access>,
    replica: Option<Replica>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    if args.stdio {
        anyhow::bail!("the hub serves HTTP only; use `herd agent --stdio` for a local stdio server");
    }
    let (settings, channel_settings, llm_settings) = match &config {
        Some((path, _)) => (herd_admin::AuditSettings::load(path)?, channels::load(path)?, llm::load(path)?),
        None => (
            herd_admin::AuditSettings::default(),
            herd_channel::ChannelsConfig::default(),
            herd_llm::RelayConfig::default(),
        ),
    };
    let fleet_ca = match &config {
        Some((path, _)) => fleet_ca::load(path, args.tls.tls_cert.as_deref())?,
        None => None,
    };
    let channels = herd_channel::Channels::new(channel_settings);
    hub.spawn_channels(channels.clone(), shutdown.clone());
    metrics::install();
    let hosts = hub.fleet().registry().len();
    // Replicas on one PostgreSQL store share the probes out among themselves,
    // each under its replica id (a hub alone on PostgreSQL takes one of its own).
    if access.store().backend() == herd_store::Backend::Postgres {
        let id = replica.as_ref().map_or_else(|| format!("{:016x}", rand::random::<u64>()), |r| r.id().to_owned());
        hub.fleet().health().share_probes(access.store().clone(), id);
    }
    hub.probe_now().await;
    let up = hub.fleet().health().snapshot().values().filter(|s| s.is_up()).count();
    tracing::info!(hosts, up, "fleet probed");
    hub.spawn_prober(PROBE_TICK, shutdown.clone());
    herd_admin::spawn_pruner(access.store().clone(), &settings, shutdown.clone());
    if let Some((path, pinned)) = config {
        herd_hub::spawn_reloader(hub.clone(), path.clone(), pinned, shutdown.clone())
            .with_context(|| format!("cannot watch {}", path.display()))?;
    }
    let writer = access.store().audit_writer(&AuditConfig::default());
    let audit = Audit::new(writer.clone(), settings.payloads);
    let router = server::router_of_replica("herd-hub", hub.audited_backends(Some(audit.clone())), replica.as_ref());
    let relay = herd_llm::Relay::new(
        channels.clone(),
        writer.clone(),
        herd_llm::RelayConfig { payloads: settings.payloads, ..llm_settings },
    );
    relay.spawn(shutdown.clone());
    let mut extra =
        metrics::route().merge(admin_routes(&access, writer.clone())).merge(channels.route()).merge(relay.routes());
    let mut public = axum::Router::new();
    let membership = replica.as_ref().map(|replica| {
        public = public.clone().merge(replica.channel_relay(channels.clone()));
        replica.spawn(channels.clone(), shutdown.clone())
    });
    if let Some(ca) = fleet_ca {
        let routes = herd_admin::certificate_routes(ca, writer);
        extra = extra.merge(routes.guarded);
        public = routes.public;
    }
    let page = herd_ui::StatusPage::new(hub.clone(), access.store().clone(), hub.audited_tools(Some(audit)))
        .with_models(Arc::new(move |principal| relay.models(principal)));
    let around = server::Around {
        extra,
        public,
        readiness: readiness(access.store().clone()),
        access: Some(access),
        status_page: Some(page),
        replica,
    };
    let served = server::serve_http_ready("hub", args, listener, router, around, shutdown).await;
    if let Some(leaving) = membership {
        // Bounded by the store's own deadline; a replica that cannot
        // leave is seen dead once silent.
        let _ = tokio::time::timeout(Duration::from_secs(10), leaving).await;
    }
    served
}

/// The admin API over the hub's store. What it revokes or changes is
/// dropped from `access`'s cache at once, so the next request with that
/// token, or of that user, is decided afresh. Changes are audited beside
/// the calls, through the hub's one audit writer.
fn admin_routes(access: &Arc<Access>, audit: AuditWriter) -> axum::Router {
    let cache = Arc::clone(access);
    let on_revoke: herd_admin::OnRevoke = Arc::new(move |what| match what {
        Invalidated::Token(id) => cache.invalidate_token(id),
        Invalidated::User { id, .. } => cache.invalidate_user(id),
    });
    herd_admin::routes(access.store().clone(), on_revoke, audit)
}

/// What `/readyz` checks on a hub: nothing more than that it answers. The
/// registry is loaded and the fleet probed before the listener serves (a
/// registry that does not load stops the hub with the reason), and a
/// reload that fails keeps the last good registry, so both hold whenever
/// the hub answers; a shared store, when the hub has one, adds its check
/// here.
/// Ready while the store answers: users, tokens and audit live there, so
/// a hub without it can neither authenticate nor commit a record.
fn readiness(store: Store) -> Readiness {
    Readiness::new().with_check("store", move || {
        let store = store.clone();
        async move { store.ping().await.map_err(|e| e.to_string()) }
    })
}
