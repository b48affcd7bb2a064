//! `herd conformance-server`: the conformance fixtures behind herd's own
//! transports, for the official MCP conformance suite.
//!
//! Like every server role it needs a token, or `--insecure-no-auth` on a
//! loopback address (the suite cannot send a token). With `--hub` it joins
//! that hub over a channel (listening on no port unless `--listen` says),
//! so the suite can be run through a hub against a host reached that way.

use crate::cli::ConformanceArgs;
use crate::{home, server};
use anyhow::Context as _;
use herd_proto::Backend;
use std::sync::Arc;

pub(crate) async fn run(args: ConformanceArgs) -> anyhow::Result<()> {
    let backends: Vec<Arc<dyn Backend>> = vec![Arc::new(herd_tools::conformance::catalog())];
    let Some(hub) = args.hub else { return server::run("herd-conformance", args.serve, backends, None).await };
    let token = args.hub_token.filter(|t| !t.is_empty()).context("--hub needs HERD_HUB_TOKEN (or --hub-token)")?;
    let home = home::path(None)?;
    let session = herd_channel::session_id(&home)
        .with_context(|| format!("cannot keep the channel's session id in {}", home.display()))?;
    let channel = herd_channel::AgentChannelConfig::new(hub, token, args.name, session);
    server::run_over_channel("herd-conformance", args.serve, backends, channel, None, axum::Router::new()).await
}
