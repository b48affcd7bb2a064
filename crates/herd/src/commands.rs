//! One module per subcommand.

mod admin;
mod agent;
mod audit;
mod client;
mod completions;
mod conformance_server;
mod doctor;
mod hub;
mod init;
mod llm;
mod man;
mod servers;
mod token;
mod up;
mod user;

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
        Command::Llm(command) => llm::run(command).await,
        Command::User(command) => user::run(command).await,
        Command::Token(command) => token::run(command).await,
        Command::Audit(args) => audit::run(args).await,
        Command::Init(command) => init::run(command).await,
        Command::ConformanceServer(args) => conformance_server::run(args).await,
        Command::Doctor(args) => doctor::run(args).await,
        Command::Completions { shell } => completions::run(shell),
        Command::Man { dir } => man::run(&dir),
    }
}
