//! The table of tasks: what a task is while it runs and after.
//!
//! A task is keyed by an id nobody can guess (128 random bits), belongs to
//! the [`Owner`] that created it (any other owner is told it does not
//! exist, exactly as for an id never issued), and lives for its TTL from
//! creation, whatever it is doing then: an expired task is removed and its
//! work stopped. The table is bounded in total and per owner; at the owner's
//! cap the oldest cancelled task, or finished one whose result was already
//! fetched, makes room, and otherwise creation is refused with a clear
//! error.
//!
//! A task's status moves from `working` to one of `completed`, `failed`
//! and `cancelled`, and never leaves those; questions a running task asks
//! the client ([`Task::ask`]) park it in `input_required` until
//! [`Task::answer`] has delivered every answer. Every change wakes
//! [`Task::changes`]: the router announces it to the owner's listen streams
//! (`notifications/tasks`).

use crate::Owner;
use herd_proto::RpcError;
use parking_lot::Mutex;
use serde_json::Value;
use serde_json::value::RawValue;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::{oneshot, watch};
use tokio_util::sync::CancellationToken;

/// Bounds and timings of the task table.
#[derive(Debug, Clone)]
pub struct TaskLimits {
    /// Tasks kept at once, over all owners.
    pub max_tasks: usize,
    /// Tasks one owner may keep at once.
    pub max_per_owner: usize,
    /// How long a task and its result are kept after creation.
    pub ttl: Duration,
    /// How often a client should poll `tasks/get` (a hint).
    pub poll_interval: Duration,
    /// How long a call to a task-supporting tool is answered in place
    /// before it becomes a task: a call done by then returns its result, a
    /// question asked by then goes back as `input_required`.
    pub answer_in_place: Duration,
}

impl Default for TaskLimits {
    fn default() -> Self {
        Self {
            max_tasks: 10_000,
            max_per_owner: 100,
            ttl: Duration::from_secs(3600),
            poll_interval: Duration::from_secs(1),
            answer_in_place: Duration::from_millis(500),
        }
    }
}

/// Why the table refused something.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum TaskError {
    /// No task by that id belongs to the caller (or it expired).
    #[error("unknown task: {0}")]
    NotFound(String),
    /// The table is full.
    #[error("too many tasks on this server (limit {0}); try again when some have expired")]
    Full(usize),
    /// The owner holds its cap of unfinished or unfetched tasks.
    #[error("too many tasks for this client (limit {0}); fetch finished results or cancel running tasks first")]
    OwnerFull(usize),
    /// The system's random source failed; no unguessable id can be made.
    #[error("no system randomness to make a task id")]
    NoRandomness,
}

impl From<TaskError> for RpcError {
    fn from(err: TaskError) -> Self {
        match err {
            TaskError::NoRandomness => RpcError::internal(err.to_string()),
            _ => RpcError::invalid_params(err.to_string()),
        }
    }
}

/// Where a task stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Working,
    InputRequired,
    Completed,
    Failed,
    Cancelled,
}

impl Status {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Working => "working",
            Self::InputRequired => "input_required",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    pub(crate) fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }
}

/// A question of the task's work that awaits the client.
struct Pending {
    method: String,
    params: Box<RawValue>,
    reply: oneshot::Sender<Value>,
}

struct State {
    status: Status,
    updated_at: SystemTime,
    result: Option<Box<RawValue>>,
    error: Option<RpcError>,
    pending: BTreeMap<String, Pending>,
    numbered: u32,
    fetched: bool,
}

/// One task. Shared by the table, the work that runs it and its requests.
pub(crate) struct Task {
    pub(crate) id: String,
    owner: Owner,
    pub(crate) created_at: SystemTime,
    pub(crate) expires: Instant,
    /// Cancelled by `tasks/cancel` and by expiry: stops the work.
    pub(crate) cancel: CancellationToken,
    state: Mutex<State>,
    changed: watch::Sender<Status>,
}

/// What `tasks/get` shows of a task.
pub(crate) struct Snapshot {
    pub(crate) status: Status,
    pub(crate) updated_at: SystemTime,
    pub(crate) result: Option<Box<RawValue>>,
    pub(crate) error: Option<RpcError>,
    /// The open questions: key, method, params.
    pub(crate) questions: Vec<(String, String, Box<RawValue>)>,
}

impl Task {
    /// Who the task belongs to.
    pub(crate) fn owner(&self) -> &Owner {
        &self.owner
    }

    /// A receiver woken by every later change of status.
    pub(crate) fn changes(&self) -> watch::Receiver<Status> {
        self.changed.subscribe()
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        let mut state = self.state.lock();
        if state.status.is_terminal() {
            state.fetched = true;
        }
        Snapshot {
            status: state.status,
            updated_at: state.updated_at,
            result: state.result.clone(),
            error: state.error.clone(),
            questions: state.pending.iter().map(|(k, p)| (k.clone(), p.method.clone(), p.params.clone())).collect(),
        }
    }

    fn set(&self, state: &mut State, status: Status) {
        state.status = status;
        state.updated_at = SystemTime::now();
        self.changed.send_replace(status);
    }

    /// Records the outcome of the work; a task already ended (cancelled)
    /// keeps its status.
    pub(crate) fn finish(&self, outcome: Result<Box<RawValue>, RpcError>) {
        let mut state = self.state.lock();
        if state.status.is_terminal() {
            return;
        }
        state.pending.clear();
        match outcome {
            Ok(result) => {
                state.result = Some(result);
                self.set(&mut state, Status::Completed);
            }
            Err(err) => {
                state.error = Some(err);
                self.set(&mut state, Status::Failed);
            }
        }
    }

    /// Cancels the task unless it already ended; cancelling an ended task
    /// changes nothing.
    pub(crate) fn cancel(&self) {
        let mut state = self.state.lock();
        if !state.status.is_terminal() {
            state.pending.clear();
            self.set(&mut state, Status::Cancelled);
        }
        drop(state);
        self.cancel.cancel();
    }

    /// Parks a question of the work (under `key`, or numbered after its
    /// method) and resolves with the client's answer.
    pub(crate) fn ask(&self, key: Option<&str>, method: &str, params: Box<RawValue>) -> oneshot::Receiver<Value> {
        let (reply, answer) = oneshot::channel();
        let mut state = self.state.lock();
        if state.status.is_terminal() {
            return answer;
        }
        let key = match key {
            Some(key) => key.to_owned(),
            None => {
                state.numbered += 1;
                format!("{}-{}", method.split('/').next().unwrap_or("input"), state.numbered)
            }
        };
        state.pending.insert(key, Pending { method: method.to_owned(), params, reply });
        if state.status != Status::InputRequired {
            self.set(&mut state, Status::InputRequired);
        }
        answer
    }

    /// Delivers the answers whose keys are open questions (others are
    /// ignored); the task works again once no question is open.
    pub(crate) fn answer(&self, answers: serde_json::Map<String, Value>) {
        let mut state = self.state.lock();
        for (key, value) in answers {
            if let Some(pending) = state.pending.remove(&key) {
                let _ = pending.reply.send(value);
            }
        }
        if state.status == Status::InputRequired && state.pending.is_empty() {
            self.set(&mut state, Status::Working);
        }
    }

    /// Whether the task holds nothing its owner still needs: it ended and
    /// its outcome was fetched, or it was cancelled (no outcome at all).
    fn removable_when_full(&self) -> bool {
        let state = self.state.lock();
        state.status == Status::Cancelled || (state.status.is_terminal() && state.fetched)
    }
}

/// Every task of a router.
pub(crate) struct TaskStore {
    limits: TaskLimits,
    /// Put before every task id (see `RouterConfig::id_prefix`).
    id_prefix: String,
    tasks: Mutex<HashMap<String, Arc<Task>>>,
}

impl TaskStore {
    pub(crate) fn new(limits: TaskLimits, id_prefix: String) -> Self {
        Self { limits, id_prefix, tasks: Mutex::default() }
    }

    pub(crate) fn limits(&self) -> &TaskLimits {
        &self.limits
    }

    /// A new working task of `owner` whose work `cancel` stops.
    pub(crate) fn create(&self, owner: Owner, cancel: CancellationToken) -> Result<Arc<Task>, TaskError> {
        let now = Instant::now();
        let mut tasks = self.tasks.lock();
        tasks.retain(|_, task| keep(task, now));
        let mine: Vec<&Arc<Task>> = tasks.values().filter(|t| t.owner == owner).collect();
        if mine.len() >= self.limits.max_per_owner {
            let oldest = mine.iter().filter(|t| t.removable_when_full()).min_by_key(|t| t.created_at);
            let Some(id) = oldest.map(|t| t.id.clone()) else {
                return Err(TaskError::OwnerFull(self.limits.max_per_owner));
            };
            tasks.remove(&id);
        }
        if tasks.len() >= self.limits.max_tasks {
            return Err(TaskError::Full(self.limits.max_tasks));
        }
        let id = format!("{}{}", self.id_prefix, new_id()?);
        let created_at = SystemTime::now();
        let state = State {
            status: Status::Working,
            updated_at: created_at,
            result: None,
            error: None,
            pending: BTreeMap::new(),
            numbered: 0,
            fetched: false,
        };
        let expires = now + self.limits.ttl;
        let (changed, _) = watch::channel(Status::Working);
        let state = Mutex::new(state);
        let task = Arc::new(Task { id: id.clone(), owner, created_at, expires, cancel, state, changed });
        tasks.insert(id, task.clone());
        Ok(task)
    }

    /// The task `id` if it belongs to `owner` and has not expired.
    pub(crate) fn get(&self, owner: &Owner, id: &str) -> Result<Arc<Task>, TaskError> {
        let mut tasks = self.tasks.lock();
        let found = tasks.get(id).filter(|t| t.owner == *owner).cloned();
        match found {
            Some(task) if keep(&task, Instant::now()) => Ok(task),
            Some(_) => {
                tasks.remove(id);
                Err(TaskError::NotFound(id.to_owned()))
            }
            None => Err(TaskError::NotFound(id.to_owned())),
        }
    }

    /// Forgets a task nobody was told about (its id never left the
    /// server); its work, which goes on in place, is left alone.
    pub(crate) fn discard(&self, task: &Task) {
        self.tasks.lock().remove(&task.id);
    }

    /// Number of tasks held (expired ones included until the next sweep).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.tasks.lock().len()
    }
}

/// Whether `task` is still within its TTL; an expired one is stopped.
fn keep(task: &Task, now: Instant) -> bool {
    if now < task.expires {
        return true;
    }
    task.cancel.cancel();
    false
}

/// 128 random bits, URL-safe Base64.
fn new_id() -> Result<String, TaskError> {
    use base64::Engine as _;
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| TaskError::NoRandomness)?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
