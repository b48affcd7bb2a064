//! `herd conformance-server`: the conformance fixtures behind herd's own
//! transports, for the official MCP conformance suite.
//!
//! The fixtures cannot touch the machine, so on a loopback address this
//! serves without a token when none is given (the suite cannot send one).

use crate::cli::ServeArgs;
use crate::server::{self, Auth};
use herd_proto::Backend;
use std::sync::Arc;

pub(crate) async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let backend: Arc<dyn Backend> = Arc::new(herd_tools::conformance::catalog());
    let auth =
        if args.token.is_none() && args.listen.ip().is_loopback() { Auth::NoneOnLoopback } else { Auth::Required };
    server::run("herd-conformance", args, vec![backend], auth).await
}
