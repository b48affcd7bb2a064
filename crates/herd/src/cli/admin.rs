//! Arguments of the admin verbs: `herd user`, `herd token`, `herd audit`.

use super::ClientArgs;
use clap::{Args, Subcommand};
use std::path::PathBuf;

/// Where an admin verb acts: a running hub (`HERD_URL`, an admin's
/// `HERD_TOKEN`), or, with `--home` or `--database-url`, the state
/// database itself, on the hub's machine (to add the first admin, or when
/// the hub is down).
#[derive(Debug, Clone, Args)]
pub(crate) struct AdminTarget {
    /// Act on the state in this directory (its herd.db) instead of asking a
    /// hub.
    #[arg(long, value_name = "DIR", conflicts_with = "database_url")]
    pub(crate) home: Option<PathBuf>,
    /// Act on this database (`postgres://...`, `sqlite:...` or a file)
    /// instead of asking a hub.
    #[arg(long, value_name = "URL")]
    pub(crate) database_url: Option<String>,
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum UserCommand {
    /// Add a user.
    Add {
        /// The user's name (a-z A-Z 0-9 _ . - @, up to 64).
        name: String,
        /// admin, operator, viewer or agent.
        #[arg(long)]
        role: String,
        /// Hosts the user is narrowed to: names, globs, @tag (`gpu*,@lab`).
        #[arg(long)]
        hosts: Option<String>,
        /// Tools the user is narrowed to: names or globs (`read_*,list_dir`).
        #[arg(long)]
        tools: Option<String>,
        #[command(flatten)]
        target: AdminTarget,
    },
    /// List users.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        target: AdminTarget,
    },
    /// Change a user's role or grants (`*` grants every host or tool).
    Set {
        /// The user.
        name: String,
        /// A new role.
        #[arg(long)]
        role: Option<String>,
        /// New host grant.
        #[arg(long)]
        hosts: Option<String>,
        /// New tool grant.
        #[arg(long)]
        tools: Option<String>,
        /// Enable a disabled user again.
        #[arg(long)]
        enable: bool,
        #[command(flatten)]
        target: AdminTarget,
    },
    /// Disable a user: every token of theirs is refused from then on.
    Disable {
        /// The user.
        name: String,
        #[command(flatten)]
        target: AdminTarget,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum TokenCommand {
    /// Create a token for a user and print it (only this once).
    Create {
        /// The user it acts for.
        #[arg(long)]
        user: String,
        /// What to call it.
        #[arg(long)]
        label: Option<String>,
        /// How long it works (`30d`, `12h`); default: until revoked.
        #[arg(long)]
        expires: Option<String>,
        /// Print JSON (with the secret) instead of the secret alone.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        target: AdminTarget,
    },
    /// List tokens (never their secrets).
    List {
        /// Only this user's.
        #[arg(long)]
        user: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        target: AdminTarget,
    },
    /// Revoke a token: it fails on its next request.
    Revoke {
        /// The token's id (`tok_...`).
        id: String,
        #[command(flatten)]
        target: AdminTarget,
    },
}

#[derive(Debug, Args)]
pub(crate) struct AuditArgs {
    /// Made by this user.
    #[arg(long)]
    pub(crate) user: Option<String>,
    /// Sent to this host.
    #[arg(long)]
    pub(crate) host: Option<String>,
    /// Naming this tool, prompt or resource.
    #[arg(long)]
    pub(crate) tool: Option<String>,
    /// ok, tool_error, rpc_error, denied, cancelled or timeout.
    #[arg(long)]
    pub(crate) outcome: Option<String>,
    /// At or after this time: a duration ago (`1h`, `7d`) or RFC 3339.
    #[arg(long)]
    pub(crate) since: Option<String>,
    /// Before this time: a duration ago or RFC 3339.
    #[arg(long)]
    pub(crate) until: Option<String>,
    /// At most this many records (the newest); default 100.
    #[arg(long)]
    pub(crate) limit: Option<u32>,
    /// Keep printing new records as they are written, until interrupted.
    #[arg(long)]
    pub(crate) follow: bool,
    /// One JSON object per line (for a SIEM) instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
    #[command(flatten)]
    pub(crate) target: AdminTarget,
}
