//! Trace export for the server roles, when the environment asks for it
//! (`OTEL_EXPORTER_OTLP_ENDPOINT`; see `herd-telemetry`).

use crate::cli::Command;
use herd_telemetry::Telemetry;
use std::time::Duration;

/// Longest the spans still queued at exit may take to be sent.
const FLUSH_DEADLINE: Duration = Duration::from_secs(5);

/// The exporter for `command`, if it serves and the environment names an
/// endpoint. A bad setting is reported and the command runs untraced.
pub(crate) fn start(command: &Command, runtime: &tokio::runtime::Handle) -> Option<Telemetry> {
    let service = match command {
        Command::Hub(_) => "herd-hub",
        Command::Agent(_) => "herd-agent",
        Command::Up(_) | Command::ConformanceServer(_) => "herd",
        _ => return None,
    };
    match Telemetry::from_env(service, runtime) {
        Ok(telemetry) => telemetry,
        Err(err) => {
            eprintln!("herd: traces are not exported: {err}");
            None
        }
    }
}

/// Sends what is still queued, within [`FLUSH_DEADLINE`]. Call it after
/// the role stopped and before the runtime is dropped.
pub(crate) fn stop(telemetry: Option<Telemetry>) {
    if let Some(telemetry) = telemetry
        && let Err(err) = telemetry.shutdown(FLUSH_DEADLINE)
    {
        tracing::warn!(%err, "traces not all exported at exit");
    }
}
