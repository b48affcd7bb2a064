//! Command-line arguments, validated but not yet resolved.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;

/// One MCP endpoint for a whole fleet of machines.
#[derive(Debug, Parser)]
#[command(name = "herd", version, about)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) log: LogArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the per-host MCP server: shell, files and search on this machine.
    Agent(AgentArgs),
    /// Serve the fixtures of the official MCP conformance suite.
    ConformanceServer(ServeArgs),
}

#[derive(Debug, Args)]
pub(crate) struct AgentArgs {
    #[command(flatten)]
    pub(crate) serve: ServeArgs,
}

/// How a server role is reached.
#[derive(Debug, Clone, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on for Streamable HTTP.
    #[arg(long, default_value = "127.0.0.1:7801")]
    pub(crate) listen: SocketAddr,
    /// Serve one session on stdin/stdout instead of HTTP.
    #[arg(long)]
    pub(crate) stdio: bool,
    /// Bearer token clients must present.
    #[arg(long, env = "HERD_TOKEN", hide_env_values = true)]
    pub(crate) token: Option<String>,
    /// Serve HTTP without a token (only allowed on a loopback address).
    #[arg(long)]
    pub(crate) insecure_no_auth: bool,
    /// Extra host names accepted in the Host header (besides loopback names
    /// on a loopback bind); any host is accepted on other binds.
    #[arg(long = "allowed-host")]
    pub(crate) allowed_hosts: Vec<String>,
    /// Path of the MCP endpoint.
    #[arg(long, default_value = "/mcp")]
    pub(crate) path: String,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct LogArgs {
    /// Log filter (tracing env-filter syntax), e.g. `info,herd_router=debug`.
    #[arg(long = "log", env = "HERD_LOG", default_value = "info", global = true)]
    pub(crate) filter: String,
    /// Log format on stderr.
    #[arg(long = "log-format", env = "HERD_LOG_FORMAT", value_enum, default_value = "text", global = true)]
    pub(crate) format: LogFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum LogFormat {
    Text,
    Json,
}
