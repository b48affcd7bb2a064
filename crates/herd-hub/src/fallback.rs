//! The second way to a host, used when its agent does not answer.
//!
//! The hub only needs to know which tools a fallback can run and to run
//! one with the agent's arguments, getting back a result shaped like the
//! agent's; [`Fallback`] is that contract. herd's implementation runs the
//! tools over ssh ([`herd_fleet::SshPool`]).

use herd_fleet::Registry;
use herd_proto::BoxFuture;
use serde_json::{Map, Value};

/// Runs agent tools on a host by another path than its agent.
pub trait Fallback: Send + Sync + 'static {
    /// A short name for results and logs (`ssh`).
    fn name(&self) -> &'static str;

    /// Whether `tool` can run this way.
    fn supports(&self, tool: &str) -> bool;

    /// Runs `tool` on `destination`. `Ok` is a `CallToolResult` object
    /// shaped like the agent's (tool failures are `isError` results); `Err`
    /// says why the path itself failed.
    fn call_tool<'a>(
        &'a self,
        destination: &'a str,
        tool: &'a str,
        arguments: &'a Map<String, Value>,
    ) -> BoxFuture<'a, Result<Value, String>>;

    /// Drops what is cached for `destination` (its registry entry changed).
    fn forget(&self, destination: &str);

    /// A reloaded registry is in force: take up its settings. Calls under
    /// way finish as they started.
    fn reconfigure(&self, _registry: &Registry) {}
}
