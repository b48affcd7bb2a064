//! One module per subcommand.

mod agent;
mod client;
mod conformance_server;
mod hub;
mod servers;
mod up;

use crate::cli::Command;

pub(crate) async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Agent(args) => agent::run(args).await,
        Command::Hub(args) => hub::run(args).await,
        Command::Up(args) => up::run(args).await,
        Command::Hosts(args) => client::hosts(args).await,
        Command::Exec(args) => client::exec(args).await,
        Command::Call(args) => client::call(args).await,
        Command::Servers(command) => servers::run(command).await,
        Command::ConformanceServer(args) => conformance_server::run(args).await,
    }
}
