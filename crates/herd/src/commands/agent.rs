//! `herd agent`: the per-host MCP server.

use crate::cli::AgentArgs;
use crate::server;
use herd_proto::Backend;
use std::sync::Arc;

pub(crate) async fn run(args: AgentArgs) -> anyhow::Result<()> {
    let host: Arc<dyn Backend> = Arc::new(herd_tools::host::catalog(herd_tools::host::HostConfig::default()));
    server::run("herd-agent", args.serve, vec![host]).await
}
