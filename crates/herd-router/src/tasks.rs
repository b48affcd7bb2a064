//! The tasks extension (`io.modelcontextprotocol/tasks`, SEP-2663) on the
//! stateless revision: a long `tools/call` answered with a task the client
//! polls, answers questions of, cancels, and fetches the result of later,
//! from any connection.
//!
//! A tool opts in with `execution.taskSupport` in its listing (`optional`
//! or `required`); a client opts in per request, declaring the extension
//! under `capabilities.extensions`. When both did, the call is first
//! answered in place, as any call: if it finishes within
//! [`TaskLimits::answer_in_place`] the client gets its result, and if it
//! asks the client something by then the question goes back as an
//! `input_required` result (multi round-trip). A call still running after
//! that becomes a task: the client gets a `CreateTaskResult` and the work
//! goes on detached from the request, its later questions parked on the
//! task (`input_required` on `tasks/get`, answered with `tasks/update`).
//! A `required` tool called by a client without the extension is refused
//! (`-32021`); an `optional` one runs as a plain call. A client that lists
//! task ids in the `taskIds` of a `subscriptions/listen` filter gets
//! `notifications/tasks` at each change of its own tasks instead of polling.
//!
//! The router does this for every backend alike, so a hub runs calls to
//! its agents' tools as hub-side tasks (see docs/ARCHITECTURE.md). Tasks
//! live in the [`store`](store::TaskStore): bound to the principal that
//! created them, bounded, expiring.

mod store;
mod wire;

pub use store::TaskLimits;
pub(crate) use store::{Task, TaskStore};
pub(crate) use wire::{announce, answer, created, owner, support};

use herd_proto::model::TASKS_EXTENSION;
use herd_proto::{RpcError, code};
use serde_json::{Value, json};

/// Whether request capabilities declare the tasks extension.
pub(crate) fn accepted(capabilities: &Value) -> bool {
    capabilities.get("extensions").and_then(|e| e.get(TASKS_EXTENSION)).is_some()
}

/// The error for a request that needs the extension and did not declare it.
pub(crate) fn extension_missing(what: &str) -> RpcError {
    let why = format!("{what} needs the client to declare the {TASKS_EXTENSION} extension in its capabilities");
    RpcError::new(code::MISSING_CLIENT_CAPABILITY, why)
        .with_data(json!({ "requiredCapabilities": { "extensions": { TASKS_EXTENSION: {} } } }))
}

#[cfg(test)]
mod tests;
