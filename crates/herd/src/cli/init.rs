//! Arguments of `herd init hub` and `herd init agent`.

use clap::{Args, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub(crate) enum InitCommand {
    /// Set up a hub in its home: settings, the fleet CA and the hub's
    /// certificate, the first admin and a token agents join with (printed
    /// once). A second run changes nothing.
    Hub(InitHubArgs),
    /// Set up an agent in its home: its own key, a certificate the hub
    /// signs once the hub's CA matches --ca-sha256, and its settings. A
    /// second run changes nothing.
    Agent(InitAgentArgs),
}

#[derive(Debug, Args)]
pub(crate) struct InitHubArgs {
    /// The hub's home (settings, TLS material, herd.db); default: the
    /// platform data dir.
    #[arg(long, env = "HERD_HOME")]
    pub(crate) home: Option<PathBuf>,
    /// Where the hub will listen.
    #[arg(long, default_value = "0.0.0.0:7800")]
    pub(crate) listen: SocketAddr,
    /// Another name (DNS or IP) the hub is reached by, for its certificate
    /// besides this machine's host name, localhost and 127.0.0.1; the first
    /// is the one printed in URLs (repeatable).
    #[arg(long = "san", value_name = "NAME")]
    pub(crate) sans: Vec<String>,
    #[command(flatten)]
    pub(crate) common: InitCommon,
}

#[derive(Debug, Args)]
pub(crate) struct InitAgentArgs {
    /// The hub's URL, as `herd init hub` printed it (https://).
    #[arg(long)]
    pub(crate) hub: String,
    /// A token of a user with role agent (or admin), used once to have the
    /// hub sign this agent's certificate; never stored.
    #[arg(long, env = "HERD_JOIN_TOKEN", hide_env_values = true)]
    pub(crate) token: String,
    /// SHA-256 of the fleet CA, as `herd init hub` printed it: the hub's CA
    /// is trusted only when it matches.
    #[arg(long = "ca-sha256", value_name = "FINGERPRINT")]
    pub(crate) ca_sha256: herd_ca::Fingerprint,
    /// This host's name in the fleet; default: the machine's host name.
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// The agent's home (settings, TLS material); default: the platform
    /// data dir.
    #[arg(long, env = "HERD_HOME")]
    pub(crate) home: Option<PathBuf>,
    /// Where the agent will listen.
    #[arg(long, default_value = "0.0.0.0:7801")]
    pub(crate) listen: SocketAddr,
    /// Another name (DNS or IP) the hub reaches this agent by, for its
    /// certificate; the first is the one the hub is told to dial
    /// (repeatable).
    #[arg(long = "san", value_name = "NAME")]
    pub(crate) sans: Vec<String>,
    #[command(flatten)]
    pub(crate) common: InitCommon,
}

/// What both inits take.
#[derive(Debug, Args)]
pub(crate) struct InitCommon {
    /// Replace files that differ from what these arguments write (the
    /// fleet CA is never replaced); an agent also renews its certificate
    /// (with a new key).
    #[arg(long)]
    pub(crate) force: bool,
    /// Also install the service: the systemd unit (launchd plist on macOS)
    /// from packaging/, for this home, enabled and started.
    #[arg(long)]
    pub(crate) install: bool,
    /// Where --install puts the unit (default: /etc/systemd/system, or
    /// launchd's directory).
    #[arg(long, value_name = "DIR", requires = "install")]
    pub(crate) unit_dir: Option<PathBuf>,
    /// With --install, write the unit but neither enable nor start it.
    #[arg(long, requires = "install")]
    pub(crate) no_start: bool,
}
