//! What a server is doing, as listings show it.

use crate::spec::{ServerSpec, Source};
use serde::Serialize;
use std::time::{SystemTime, UNIX_EPOCH};

/// A server's lifecycle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Being installed, or started for the first time.
    Installing,
    /// Up and answering.
    Running,
    /// Exited; waiting to be started again.
    Restarting,
    /// Exited too often in a row (or with `restart = "never"`); given up.
    Crashed,
    /// Could not be installed, started or greeted.
    Failed,
    /// Stopped on request.
    Stopped,
}

impl State {
    /// The state's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Installing => "installing",
            Self::Running => "running",
            Self::Restarting => "restarting",
            Self::Crashed => "crashed",
            Self::Failed => "failed",
            Self::Stopped => "stopped",
        }
    }

    /// Whether the state lasts until someone acts (as opposed to a
    /// transition under way).
    pub fn is_settled(self) -> bool {
        !matches!(self, Self::Installing | Self::Restarting)
    }
}

/// A server's state and vital signs.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// The server's name.
    pub name: String,
    /// Where it comes from, e.g. `npx @scope/pkg`.
    pub source: String,
    /// Its state.
    pub state: State,
    /// The process id while it runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// Restarts in a row so far.
    pub restarts: u32,
    /// Why it is not running, when it is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When it entered this state (milliseconds since the epoch).
    pub since_ms: u64,
    /// Names of its extra environment variables (values are never shown).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
}

impl Status {
    pub(crate) fn new(spec: &ServerSpec, source: &Source) -> Self {
        Self {
            name: spec.name.clone(),
            source: source.describe(),
            state: State::Stopped,
            pid: None,
            restarts: 0,
            error: None,
            since_ms: now_ms(),
            env: spec.env_keys().into_iter().map(str::to_owned).collect(),
        }
    }

    pub(crate) fn enter(&mut self, state: State, pid: Option<u32>, error: Option<String>) {
        self.state = state;
        self.pid = pid;
        self.error = error;
        self.since_ms = now_ms();
    }
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or_default()
}
