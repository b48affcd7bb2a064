//! Command-line arguments, validated but not yet resolved.

mod admin;
mod init;

pub(crate) use admin::{AdminTarget, AuditArgs, TokenCommand, UserCommand};
pub(crate) use init::{InitAgentArgs, InitCommand, InitCommon, InitHubArgs};

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
    /// Run the fleet hub: one MCP endpoint in front of every host's agent.
    Hub(HubArgs),
    /// Run hub and local agent in one process on loopback (the one-machine
    /// default): prints the client configuration to paste.
    Up(UpArgs),
    /// List the hub's hosts and their state.
    Hosts(HostsArgs),
    /// Run a command on one or more hosts through the hub.
    Exec(ExecArgs),
    /// Call any tool of a host's agent through the hub.
    Call(CallArgs),
    /// Manage the stdio MCP servers a host's agent supervises.
    #[command(subcommand)]
    Servers(ServersCommand),
    /// The fleet's LLMs through the hub: list them, chat with one.
    #[command(subcommand)]
    Llm(LlmCommand),
    /// Manage herd's users: who may do what, on which hosts, with which tools.
    #[command(subcommand)]
    User(UserCommand),
    /// Create, list and revoke users' bearer tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Read the audit log: one record per request that reached a tool.
    Audit(AuditArgs),
    /// Set up a hub or an agent for a fleet: settings, TLS from the fleet
    /// CA, the first admin; with --install, the service.
    #[command(subcommand)]
    Init(InitCommand),
    /// Serve the fixtures of the official MCP conformance suite.
    ConformanceServer(ConformanceArgs),
    /// Check this machine's setup: config files, token, the hub, every
    /// host's paths and the clock; exits 1 when anything fails.
    Doctor(DoctorArgs),
    /// Print the completion script for a shell, e.g.
    /// `source <(herd completions bash)`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write the man pages (herd.1 and one per subcommand) into a directory.
    Man {
        /// Where to write them.
        #[arg(long, default_value = ".")]
        dir: std::path::PathBuf,
    },
}

#[derive(Debug, Args)]
pub(crate) struct HubArgs {
    /// The hosts registry: TOML `[[hosts]]` or the seed's whitespace format.
    /// Reloaded on SIGHUP and when the file changes.
    #[arg(long, env = "HERD_CONFIG")]
    pub(crate) config: std::path::PathBuf,
    /// State directory (herd.db: users, tokens, audit); default: the
    /// platform data dir.
    #[arg(long, env = "HERD_HOME")]
    pub(crate) home: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub(crate) state: StateArgs,
    /// With a PostgreSQL state (several replicas): where the other
    /// replicas reach this one, `http://host:port`; default: http:// and
    /// the listen address, which must then not be a wildcard.
    #[arg(long, env = "HERD_ADVERTISE")]
    pub(crate) advertise: Option<String>,
    #[command(flatten)]
    pub(crate) serve: ServeArgs,
}

/// Where a hub keeps its state.
#[derive(Debug, Clone, Args)]
pub(crate) struct StateArgs {
    /// PostgreSQL URL (`postgres://...`) for the state, shared by hub
    /// replicas; default: SQLite at `$HERD_HOME/herd.db`.
    #[arg(long, env = "HERD_DATABASE_URL", hide_env_values = true)]
    pub(crate) database_url: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct UpArgs {
    /// Where the hub listens.
    #[arg(long, default_value = "127.0.0.1:7800")]
    pub(crate) listen: SocketAddr,
    /// Where the local agent listens.
    #[arg(long, default_value = "127.0.0.1:7801")]
    pub(crate) agent_listen: SocketAddr,
    /// State directory (token, hosts.toml); default: the platform data dir.
    #[arg(long, env = "HERD_HOME")]
    pub(crate) home: Option<std::path::PathBuf>,
    /// HTTPS for the hub. The local agent serves plain HTTP on
    /// --agent-listen for the hub in this process: keep that on loopback.
    #[command(flatten)]
    pub(crate) tls: TlsArgs,
    #[command(flatten)]
    pub(crate) state: StateArgs,
}

/// How a client verb reaches the hub.
#[derive(Debug, Clone, Args)]
pub(crate) struct ClientArgs {
    /// The hub's MCP endpoint.
    #[arg(long, env = "HERD_URL", default_value = "http://127.0.0.1:7800/mcp")]
    pub(crate) url: String,
    /// Bearer token (default: the one `herd up` stored under HERD_HOME).
    #[arg(long, env = "HERD_TOKEN", hide_env_values = true)]
    pub(crate) token: Option<String>,
    /// PEM CA file to verify an https:// hub against, instead of the
    /// system's roots.
    #[arg(long, env = "HERD_CA")]
    pub(crate) ca: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct HostsArgs {
    /// Probe every host now instead of showing the cached state.
    #[arg(long)]
    pub(crate) force: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

#[derive(Debug, Args)]
pub(crate) struct ExecArgs {
    /// Host names, comma separated (or `@tag` for every host with a tag).
    pub(crate) hosts: String,
    /// Seconds before the command is killed on each host.
    #[arg(long)]
    pub(crate) timeout: Option<f64>,
    /// Print JSON instead of each host's output.
    #[arg(long)]
    pub(crate) json: bool,
    #[command(flatten)]
    pub(crate) client: ClientArgs,
    /// The command, after `--`; run by each host's shell.
    #[arg(last = true, required = true)]
    pub(crate) command: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct CallArgs {
    /// The host.
    pub(crate) host: String,
    /// The tool's name on that host.
    pub(crate) tool: String,
    /// The tool's arguments as a JSON object.
    #[arg(long = "json", value_name = "ARGS", default_value = "{}")]
    pub(crate) arguments: String,
    /// Print the whole result as JSON instead of its text.
    #[arg(long)]
    pub(crate) raw: bool,
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum LlmCommand {
    /// List the models, pools and presets you may use, with their hosts,
    /// state and owner.
    List {
        /// Print the hub's JSON (`/v1/models`) instead of a table.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Send one prompt to a model and print its answer as it streams in.
    Chat {
        /// The model, pool or preset.
        model: String,
        /// What to ask.
        prompt: String,
        #[command(flatten)]
        client: ClientArgs,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ServersCommand {
    /// List a host's servers and their state.
    List {
        /// The host.
        host: String,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Install and start a server on a host (replacing one of the same name).
    Load(Box<ServersLoadArgs>),
    /// Stop a server (its whole process group) and forget it.
    Unload {
        /// The host.
        host: String,
        /// The server.
        name: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Print the end of a server's stderr and herd's notes about it.
    Logs {
        /// The host.
        host: String,
        /// The server.
        name: String,
        /// How many lines.
        #[arg(long, default_value_t = 100)]
        lines: usize,
        #[command(flatten)]
        client: ClientArgs,
    },
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["npx", "uvx", "git", "path", "command"])))]
pub(crate) struct ServersLoadArgs {
    /// The host.
    pub(crate) host: String,
    /// The server's name on that host (its tools become NAME__TOOL).
    pub(crate) name: String,
    /// An npm package.
    #[arg(long)]
    pub(crate) npx: Option<String>,
    /// A PyPI package.
    #[arg(long)]
    pub(crate) uvx: Option<String>,
    /// A git repository.
    #[arg(long)]
    pub(crate) git: Option<String>,
    /// Branch or tag of --git.
    #[arg(long, requires = "git")]
    pub(crate) branch: Option<String>,
    /// A directory on the host.
    #[arg(long)]
    pub(crate) path: Option<String>,
    /// A program to run (alone, or inside --git/--path).
    #[arg(long)]
    pub(crate) command: Option<String>,
    /// Which executable of the npx/uvx package.
    #[arg(long)]
    pub(crate) bin: Option<String>,
    /// Environment variable for the server, KEY=VALUE (repeatable).
    #[arg(long = "env", value_name = "KEY=VALUE")]
    pub(crate) env: Vec<String>,
    /// Do not restart it when it exits.
    #[arg(long)]
    pub(crate) no_restart: bool,
    #[command(flatten)]
    pub(crate) client: ClientArgs,
    /// Arguments for the server, after `--`.
    #[arg(last = true)]
    pub(crate) args: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct AgentArgs {
    /// Config file: token and the stdio MCP servers to supervise.
    #[arg(long, env = "HERD_AGENT_CONFIG")]
    pub(crate) config: Option<std::path::PathBuf>,
    /// State directory (installed servers, herd.db with the servers loaded
    /// at run time); default: the platform data dir.
    #[arg(long, env = "HERD_HOME")]
    pub(crate) home: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub(crate) serve: ServeArgs,
}

#[derive(Debug, Args)]
pub(crate) struct ConformanceArgs {
    /// Join this hub (`https://hub:7800`) over a channel opened to it,
    /// as host `--name`, instead of only listening.
    #[arg(long)]
    pub(crate) hub: Option<String>,
    /// The bearer token the hub knows this server by.
    #[arg(long, env = "HERD_HUB_TOKEN", hide_env_values = true)]
    pub(crate) hub_token: Option<String>,
    /// The host name to join the hub as.
    #[arg(long, default_value = "conformance")]
    pub(crate) name: String,
    #[command(flatten)]
    pub(crate) serve: ServeArgs,
}

/// How a server role is reached.
#[derive(Debug, Clone, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on for Streamable HTTP (agent: 127.0.0.1:7801, or
    /// none when its config names a hub to connect out to; hub:
    /// 127.0.0.1:7800).
    #[arg(long, env = "HERD_LISTEN")]
    pub(crate) listen: Option<SocketAddr>,
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
    /// Origins (`https://app.example.com`) whose browser pages may call the
    /// server. Any other `Origin` is refused, except on a loopback bind
    /// where pages on loopback names (and --allowed-host names) may call.
    #[arg(long = "allowed-origin")]
    pub(crate) allowed_origins: Vec<String>,
    /// Path of the MCP endpoint (not /healthz, /readyz or /metrics).
    #[arg(long, default_value = "/mcp", value_parser = mcp_path)]
    pub(crate) path: String,
    #[command(flatten)]
    pub(crate) tls: TlsArgs,
}

/// HTTPS for a server role.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct TlsArgs {
    /// PEM certificate chain: serve HTTPS (HTTP/2 or HTTP/1.1) with it.
    /// Reloaded when the file changes.
    #[arg(long, env = "HERD_TLS_CERT", requires = "tls_key")]
    pub(crate) tls_cert: Option<std::path::PathBuf>,
    /// PEM private key of --tls-cert. Reloaded when the file changes.
    #[arg(long, env = "HERD_TLS_KEY", requires = "tls_cert")]
    pub(crate) tls_key: Option<std::path::PathBuf>,
}

/// `--path`, refused before anything starts when it cannot be served.
fn mcp_path(path: &str) -> Result<String, herd_transport::http::InvalidPath> {
    herd_transport::http::check_path(path).map(|()| path.to_owned())
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

#[derive(Debug, Args)]
pub(crate) struct DoctorArgs {
    /// The hosts registry whose hosts are checked (default:
    /// `$HERD_HOME/hosts.toml` when it exists).
    #[arg(long, env = "HERD_CONFIG")]
    pub(crate) config: Option<std::path::PathBuf>,
    /// The agent's config file to check (default: `$HERD_HOME/agent.toml`
    /// when it exists).
    #[arg(long, env = "HERD_AGENT_CONFIG")]
    pub(crate) agent_config: Option<std::path::PathBuf>,
    /// State directory (token, hosts.toml); default: the platform data dir.
    #[arg(long, env = "HERD_HOME")]
    pub(crate) home: Option<std::path::PathBuf>,
    /// Seconds each network check may take.
    #[arg(long, default_value_t = 5.0)]
    pub(crate) timeout: f64,
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}
