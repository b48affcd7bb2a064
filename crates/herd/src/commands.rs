//! One module per subcommand.

mod agent;
mod conformance_server;

use crate::cli::Command;

pub(crate) async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Agent(args) => agent::run(args).await,
        Command::ConformanceServer(args) => conformance_server::run(args).await,
    }
}
