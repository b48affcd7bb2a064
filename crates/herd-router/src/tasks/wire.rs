//! The tasks extension on the wire: `CreateTaskResult`, and the answers to
//! `tasks/get`, `tasks/update` and `tasks/cancel`.
//!
//! Field names are SEP-2663's: the task's fields at the top level of the
//! result (no `task` wrapper), `ttlMs` and `pollIntervalMs` in integer
//! milliseconds, times in ISO 8601 (UTC). `tasks/get` inlines the result of
//! a completed task, the error of a failed one and the open questions of
//! one that waits for input; `tasks/update` and `tasks/cancel` answer an
//! empty acknowledgement. The removed `tasks/result` and `tasks/list` are
//! unknown methods like any other. `notifications/tasks` carries what
//! `tasks/get` would answer, at each change of status.

use super::store::{Snapshot, Status, Task, TaskLimits, TaskStore};
use crate::{Caller, Owner, Shared};
use herd_proto::model::TaskSupport;
use herd_proto::{Request, RpcError, method};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};
use std::sync::{Arc, Weak};
use std::time::{SystemTime, UNIX_EPOCH};

/// Whether the tool a `tools/call` names may run as a task.
pub(crate) async fn support(shared: &Arc<Shared>, req: &Request) -> TaskSupport {
    #[derive(Deserialize)]
    struct Named {
        name: Option<String>,
    }
    match req.params_as::<Named>() {
        Ok(Named { name: Some(name) }) => crate::stateless::task_support(shared, &name).await,
        _ => TaskSupport::Forbidden,
    }
}

/// Who a task belongs to: the principal's subject, or for a principal that
/// names nobody the client's address.
pub(crate) fn owner(caller: &Caller) -> Owner {
    let by_principal = caller.principal.as_ref().and_then(Owner::principal);
    by_principal.or_else(|| caller.address.map(Owner::address)).unwrap_or_else(Owner::unknown)
}

/// The `CreateTaskResult` of a new task.
pub(crate) fn created(task: &Task, limits: &TaskLimits) -> Result<Box<RawValue>, RpcError> {
    let mut result = envelope(task, &task.snapshot(), limits);
    result.insert("resultType".into(), "task".into());
    raw(&Value::Object(result))
}

/// Answers `tasks/get`, `tasks/update` or `tasks/cancel` for `owner`.
pub(crate) fn answer(store: &TaskStore, req: &Request, owner: &Owner) -> Result<Box<RawValue>, RpcError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Params {
        task_id: Option<Value>,
        #[serde(default)]
        input_responses: Option<Value>,
    }
    let params: Params = req.params_as()?;
    let id = match params.task_id {
        Some(Value::String(id)) => id,
        _ => return Err(RpcError::invalid_params("params.taskId (a string) is required")),
    };
    let task = store.get(owner, &id)?;
    match req.method.as_str() {
        method::TASKS_GET => {
            let mut result = detailed(&task, store.limits());
            result.insert("resultType".into(), "complete".into());
            raw(&Value::Object(result))
        }
        method::TASKS_UPDATE => {
            let answers = match params.input_responses {
                Some(Value::Object(answers)) => answers,
                _ => return Err(RpcError::invalid_params("params.inputResponses (an object) is required")),
            };
            task.answer(answers);
            acknowledged()
        }
        _ => {
            task.cancel();
            acknowledged()
        }
    }
}

fn acknowledged() -> Result<Box<RawValue>, RpcError> {
    raw(&json!({ "resultType": "complete" }))
}

/// The task as `tasks/get` shows it (a `DetailedTask`), without
/// `resultType`: also the params of `notifications/tasks`.
pub(crate) fn detailed(task: &Task, limits: &TaskLimits) -> Map<String, Value> {
    let snapshot = task.snapshot();
    let mut out = envelope(task, &snapshot, limits);
    detail(&mut out, snapshot);
    out
}

/// Announces every change of `task`'s status to its owner's listen
/// streams that asked for it, until it ends or the router is gone.
pub(crate) async fn announce(shared: Weak<Shared>, task: Arc<Task>) {
    let mut changes = task.changes();
    loop {
        let ended = changes.borrow_and_update().is_terminal();
        let Some(router) = shared.upgrade() else { return };
        let detailed = detailed(&task, router.tasks.limits());
        crate::stateless::deliver_task(&router, task.owner(), &task.id, detailed);
        drop(router);
        if ended || changes.changed().await.is_err() {
            return;
        }
    }
}

/// The fields every task result carries.
fn envelope(task: &Task, snapshot: &Snapshot, limits: &TaskLimits) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("taskId".into(), task.id.clone().into());
    out.insert("status".into(), snapshot.status.as_str().into());
    out.insert("createdAt".into(), iso8601(task.created_at).into());
    out.insert("lastUpdatedAt".into(), iso8601(snapshot.updated_at).into());
    out.insert("ttlMs".into(), millis(limits.ttl).into());
    out.insert("pollIntervalMs".into(), millis(limits.poll_interval).into());
    out
}

/// What `tasks/get` adds for the status: the result, the error, the open
/// questions.
fn detail(out: &mut Map<String, Value>, snapshot: Snapshot) {
    match snapshot.status {
        Status::Completed => {
            if let Some(result) = snapshot.result.and_then(|r| serde_json::from_str::<Value>(r.get()).ok()) {
                out.insert("result".into(), result);
            }
        }
        Status::Failed => {
            if let Some(err) = snapshot.error {
                let mut error = json!({ "code": err.code, "message": err.message });
                if let Some(data) = err.data {
                    error["data"] = data;
                }
                out.insert("error".into(), error);
            }
        }
        Status::InputRequired => {
            let questions: Map<String, Value> = snapshot
                .questions
                .into_iter()
                .map(|(key, method, params)| {
                    let params: Value = serde_json::from_str(params.get()).unwrap_or(Value::Null);
                    (key, json!({ "method": method, "params": params }))
                })
                .collect();
            out.insert("inputRequests".into(), Value::Object(questions));
        }
        Status::Working | Status::Cancelled => {}
    }
}

fn raw(value: &Value) -> Result<Box<RawValue>, RpcError> {
    serde_json::value::to_raw_value(value).map_err(|e| RpcError::internal(e.to_string()))
}

fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// `2026-07-28T12:34:56.789Z`.
pub(crate) fn iso8601(at: SystemTime) -> String {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(i64::try_from(days).unwrap_or(0));
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
        since.subsec_millis()
    )
}

/// Year, month, day of a count of days since 1970-01-01 (proleptic
/// Gregorian; H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let month = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn times_are_iso8601_utc() {
        assert_eq!(iso8601(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let at = UNIX_EPOCH + Duration::from_millis(1_785_242_096_789);
        assert_eq!(iso8601(at), "2026-07-28T12:34:56.789Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(iso8601(leap), "2000-02-29T00:00:00.000Z");
    }
}
