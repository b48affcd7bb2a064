//! `herd agent`: the per-host MCP server: host tools, and the stdio MCP
//! servers it supervises.

mod config;

use crate::cli::AgentArgs;
use crate::{home, server};
use anyhow::Context as _;
use herd_proto::Backend;
use herd_runner::{Runner, RunnerConfig};
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
    let runner = runner(&config)?;
    for spec in config.servers.iter().cloned() {
        runner.load(spec).await?;
    }
    let host = herd_guard::Scope::Host { name: config.host_name(), tags: Vec::new() };
    let served = server::run("herd-agent", serve, backends(&runner, &host)).await;
    runner.shutdown().await;
    served
}

/// The agent's backends: host tools first, then its servers; each asks the
/// policy as the tools of `host` (a [`herd_guard::Scope::Host`]). An agent
/// keeps no store, so nothing is audited here; calls through a hub are
/// audited by the hub.
pub(crate) fn backends(runner: &Runner, host: &herd_guard::Scope) -> Vec<Arc<dyn Backend>> {
    let tools: Arc<dyn Backend> = Arc::new(herd_tools::host::catalog(herd_tools::host::HostConfig::default()));
    let mut backends = vec![tools];
    backends.extend(runner.backends());
    let guard = |b: Arc<dyn Backend>| -> Arc<dyn Backend> { Arc::new(herd_guard::Guarded::new(b, host.clone(), None)) };
    backends.into_iter().map(guard).collect()
}

/// A runner installing under the config's `servers_dir`, else
/// `$HERD_HOME/servers` (created when the first server is installed).
pub(crate) fn runner(config: &AgentConfig) -> anyhow::Result<Runner> {
    let dir = match &config.servers_dir {
        Some(dir) => dir.clone(),
        None => home::path(None).context("no place to install servers; set HERD_HOME or servers_dir")?.join("servers"),
    };
    Ok(Runner::new(RunnerConfig::new(dir)))
}
