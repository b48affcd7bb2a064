//! `herd agent`: the per-host MCP server: host tools, and the stdio MCP
//! servers it supervises.
//!
//! State lives in `$HERD_HOME` (or `--home`): servers are installed under
//! `servers/` (unless the config says `servers_dir`), and servers loaded
//! at run time are kept in `herd.db`, so they come back after a restart.
//! The config's servers start first; a saved server of the same name is
//! left out (the config wins).
//!
//! Callers: the holder of the agent's token (its hub, as the operator) and,
//! once `herd user add --home` made users in this state, those users with
//! their own tokens, under the same policy as on a hub. Every call is
//! audited in the state.
//!
//! With `hub` in its config the agent joins that hub over a channel it
//! opens itself (herd-channel), serving its MCP endpoint over it; it then
//! listens on a port only when `--listen` asks it to. Its `[[llm]]`
//! providers (herd-llm) are served over that channel only: the hub is the
//! one peer allowed to use them.
//!
//! No process the agent starts (`shell`, `shell_bg`, installers, servers)
//! inherits its secrets: one [`ChildEnv`], made here from the config, is
//! shared by the host tools and the runner.

mod config;

use crate::cli::AgentArgs;
use crate::{home, server, state};
use anyhow::Context as _;
use herd_guard::Audit;
use herd_proto::Backend;
use herd_runner::{Runner, RunnerConfig};
use herd_store::{AuditConfig, Store};
use herd_tools::ChildEnv;
use std::path::PathBuf;
use std::sync::Arc;

pub(crate) use config::AgentConfig;

pub(crate) async fn run(args: AgentArgs) -> anyhow::Result<()> {
    let config = match &args.config {
        Some(path) => AgentConfig::load(path)?,
        None => AgentConfig::default(),
    };
    let mut serve = args.serve;
    if serve.token.is_none() {
        serve.token = config.token()?;
    }
    let home = home::path(args.home);
    let channel = config.channel(home.as_ref().ok().map(PathBuf::as_path))?;
    let store = match &home {
        Ok(home) => Some(state::open(home, None, config.audit.sync).await?),
        Err(err) => {
            tracing::warn!(%err, "no state directory: servers loaded at run time will not survive a restart");
            None
        }
    };
    let servers_dir = match (&config.servers_dir, home) {
        (Some(dir), _) => dir.clone(),
        (None, home) => home.context("no place to install servers; set HERD_HOME or servers_dir")?.join("servers"),
    };
    let hub_token = channel.as_ref().map(|c| c.token.clone());
    let child_env = child_env(&config, serve.token.iter().chain(hub_token.iter()));
    // Calls made to this agent are recorded in its own state: directly by
    // the holder of its token, or through a hub for the user it names.
    let audit = store.as_ref().map(|store| Audit::new(store.audit_writer(&AuditConfig::default()), false));
    let access = match &store {
        Some(store) if !serve.insecure_no_auth => access(store, serve.token.as_deref()).await?,
        _ => None,
    };
    let llms = llm_routes(&config, &child_env)?;
    let runner = runner(servers_dir, child_env, store);
    start_servers(&runner, config.servers.iter().cloned()).await?;
    let host = herd_guard::Scope::Host { name: config.host_name(), tags: Vec::new() };
    let backends = backends(&runner, &host, audit);
    let served = match channel {
        None => server::run("herd-agent", serve, backends, access).await,
        Some(channel) => server::run_over_channel("herd-agent", serve, backends, channel, access, llms).await,
    };
    runner.shutdown().await;
    served
}

/// The agent's backends: host tools first, then its servers; each asks the
/// policy as the tools of `host` (a [`herd_guard::Scope::Host`]) and
/// records every call in `audit` when there is one. The host tools'
/// commands inherit what the runner's servers do.
pub(crate) fn backends(runner: &Runner, host: &herd_guard::Scope, audit: Option<Audit>) -> Vec<Arc<dyn Backend>> {
    let host_config = herd_tools::host::HostConfig { child_env: runner.child_env().clone(), ..Default::default() };
    let tools: Arc<dyn Backend> = Arc::new(herd_tools::host::catalog(host_config));
    let mut backends = vec![tools];
    backends.extend(runner.backends());
    let guard = |b: Arc<dyn Backend>| -> Arc<dyn Backend> {
        Arc::new(herd_guard::Guarded::new(b, host.clone(), audit.clone()))
    };
    backends.into_iter().map(guard).collect()
}

/// A runner installing under `dir`, its children inheriting `child_env`,
/// keeping servers loaded at run time in `store`.
pub(crate) fn runner(dir: PathBuf, child_env: ChildEnv, store: Option<Store>) -> Runner {
    Runner::new(RunnerConfig { child_env, store, ..RunnerConfig::new(dir) })
}

/// The routes answering the hub for the config's `[[llm]]` providers and
/// `[[preset]]`s (none without them); their wake commands inherit
/// `child_env`.
fn llm_routes(config: &AgentConfig, child_env: &ChildEnv) -> anyhow::Result<axum::Router> {
    if config.llm.is_empty() {
        return Ok(axum::Router::new());
    }
    let providers = herd_llm::agent::Providers::start(config.llm.clone(), config.preset.clone(), child_env.clone())?;
    let names: Vec<&str> = config.llm.iter().map(|l| l.name.as_str()).collect();
    tracing::info!(llms = %names.join(","), "publishing LLMs over the channel");
    Ok(providers.routes())
}

/// Who may call this agent: users of its store with their own tokens (a
/// policy applies to them) and the holder of its own token, the hub's
/// credential, as the operator. `None` while the store has no users: then
/// the token alone, as before there was a store.
async fn access(store: &Store, token: Option<&str>) -> anyhow::Result<Option<Arc<herd_access::Access>>> {
    if store.count_users().await.context("cannot read the users of the state")? == 0 {
        return Ok(None);
    }
    let access = herd_access::Access::new(store.clone());
    Ok(Some(Arc::new(match token.filter(|t| !t.is_empty()) {
        Some(token) => access.with_server_token(token.to_owned()),
        None => access,
    })))
}

/// Loads the config's servers, then those kept from earlier runs.
pub(crate) async fn start_servers(
    runner: &Runner,
    configured: impl Iterator<Item = herd_runner::ServerSpec>,
) -> anyhow::Result<()> {
    for spec in configured {
        runner.load(spec).await?;
    }
    let restored = runner.restore().await.context("cannot read the servers kept from earlier runs")?;
    if restored > 0 {
        tracing::info!(servers = restored, "restored servers loaded at run time");
    }
    Ok(())
}

/// What the agent's children inherit: herd's environment without herd's
/// own variables, the variables `config` reads secrets from, or any
/// variable holding one of `tokens` (the token clients present, however
/// it was given).
pub(crate) fn child_env<'a>(config: &AgentConfig, tokens: impl Iterator<Item = &'a String>) -> ChildEnv {
    let named = config.secret_vars().fold(ChildEnv::default(), |env, var| env.hide_var(var));
    tokens.fold(named, |env, token| env.hide_value(token))
}
