//! The `herd` binary: parses the command line, sets up logging (and trace
//! export, when asked for), and runs the chosen role. Everything else lives in the library crates.

mod cli;
mod commands;
mod home;
mod logging;
mod metrics;
mod server;
mod state;
mod telemetry;

use clap::Parser;

/// mimalloc: under load it costs markedly less CPU per call than the system
/// allocator, most of all where buffers are freed on another thread than
/// the one that made them (file jobs, relayed answers).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("herd: cannot start the async runtime: {err}");
            return ExitCode::from(2);
        }
    };
    let traces = telemetry::start(&cli.command, runtime.handle());
    let logs = logging::init(&cli.log, traces.as_ref());
    let outcome = runtime.block_on(commands::run(cli.command));
    // Spans still queued go out while the runtime (gRPC's) is still there.
    telemetry::stop(traces);
    drop(runtime);
    // Queued log lines first, so the last word on stderr is the outcome.
    drop(logs);
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("herd: {err:#}");
            ExitCode::from(1)
        }
    }
}
