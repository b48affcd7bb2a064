//! Supervised stdio MCP servers.
//!
//! Most MCP servers people use are stdio programs from npm and PyPI. An
//! agent runs them for the fleet: it installs each into its own directory,
//! spawns it in its own process group, does the MCP handshake, and offers
//! its tools, resources and prompts to every client session at once.
//!
//! - [`ServerSpec`]: what to run, validated so that no request field ever
//!   reaches a shell or an installer as anything but one plain argument.
//! - `install`: npm, uv and git, with argument vectors only.
//! - `stdio`: one child shared by many sessions. Requests get the child's
//!   own ids, progress finds its caller by token, and a child that dies
//!   fails every pending call at once.
//! - `supervisor`: the lifecycle (installing, running, restarting,
//!   crashed, failed, stopped), restarts with backoff, a stderr ring, and a
//!   stop that ends the whole process group.
//! - [`Runner`]: the set of servers of one agent, as backends for its
//!   router: the servers' own tools as `server__tool`, and the tools that
//!   manage them (`servers_list`, `servers_load`, `servers_unload`,
//!   `servers_logs`).
//! - `keep`: servers loaded with `servers_load` are saved in the agent's
//!   store and [`Runner::restore`]d at its next start.

mod child;
mod install;
mod keep;
mod manage;
mod merged;
mod name_lock;
mod ring;
mod runner;
mod spec;
mod stdio;
mod supervisor;

pub use child::Launch;
pub use ring::Ring;
pub use runner::{Runner, RunnerConfig};
pub use spec::{Restart, ServerSpec, Source, SpecError};
pub use supervisor::{State, Status};
