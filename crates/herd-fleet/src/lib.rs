//! herd's view of the fleet.
//!
//! A hub needs two things before it can route a call to a host: which
//! hosts exist (and how to reach them), and whether a host's agent answers
//! right now. This crate holds both:
//!
//! - [`Registry`]: the hosts, loaded from TOML (`[[hosts]]`) or from the
//!   seed hub's whitespace format, with tokens kept in [`Secret`]s.
//! - [`Health`]: a cache of probe results with the fleet's rules (an UP
//!   result is trusted for a while, a DOWN host is re-probed with growing
//!   backoff) and [`Health::probe_all`], which probes every stale host in
//!   parallel and never takes longer than its time budget, however many
//!   hosts are dead, blackholed or half-open.
//!
//! How a host is probed is pluggable ([`Prober`]); [`McpProber`] opens an
//! MCP session to the agent over HTTP.

mod health;
mod prober;
mod registry;
mod secret;
mod ssh;

pub use health::{Health, HealthConfig, HostState, Snapshot};
pub use prober::{McpProber, ProbeOk, Prober};
pub use registry::{Exposure, Format, Host, Registry, RegistryError, SshSettings};
pub use secret::Secret;
pub use ssh::{SshConfig, SshError, SshPool};
