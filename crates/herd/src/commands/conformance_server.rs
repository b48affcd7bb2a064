//! `herd conformance-server`: the conformance fixtures behind herd's own
//! transports, for the official MCP conformance suite.
//!
//! Like every server role it needs a token, or `--insecure-no-auth` on a
//! loopback address (the suite cannot send a token).

use crate::cli::ServeArgs;
use crate::server;
use herd_proto::Backend;
use std::sync::Arc;

pub(crate) async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let backend: Arc<dyn Backend> = Arc::new(herd_tools::conformance::catalog());
    server::run("herd-conformance", args, vec![backend], None).await
}
