//! The servers of one agent: load, unload, list, read logs, shut down.

use crate::keep::{Keep, LoadError};
use crate::name_lock::NameLocks;
use crate::spec::{ServerSpec, SpecError};
use crate::supervisor::{self, Event, Server, Status};
use crate::{manage, merged};
use herd_proto::{Backend, Notifier, method};
use herd_store::Store;
use herd_tools::ChildEnv;
use parking_lot::RwLock;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;
use tokio::sync::mpsc;

/// Settings of a [`Runner`].
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// Where servers are installed, one directory each.
    pub dir: PathBuf,
    /// Longest one call may take (a spec may say otherwise).
    pub call_timeout: Duration,
    /// Longest one installer step may take.
    pub install_timeout: Duration,
    /// Longest a started server may take to answer `initialize`.
    pub init_timeout: Duration,
    /// Between SIGTERM and SIGKILL when stopping.
    pub stop_grace: Duration,
    /// Bytes of stderr kept per server.
    pub stderr_bytes: usize,
    /// Longest a listing waits for one server.
    pub list_timeout: Duration,
    /// What installers and servers inherit of the agent's environment.
    pub child_env: ChildEnv,
    /// Where servers loaded by `servers_load` are kept, so that they come
    /// back when the agent starts again ([`Runner::restore`]). `None`:
    /// they last as long as the process.
    pub store: Option<Store>,
}

impl RunnerConfig {
    /// Defaults, installing under `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            call_timeout: Duration::from_secs(300),
            install_timeout: Duration::from_secs(600),
            init_timeout: Duration::from_secs(60),
            stop_grace: Duration::from_secs(5),
            stderr_bytes: 64 * 1024,
            list_timeout: Duration::from_secs(10),
            child_env: ChildEnv::default(),
            store: None,
        }
    }
}

/// The supervised servers of one agent. Cheap to clone.
#[derive(Clone)]
pub struct Runner {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) config: Arc<RunnerConfig>,
    pub(crate) servers: RwLock<BTreeMap<String, Arc<Server>>>,
    pub(crate) lists: merged::Lists,
    pub(crate) notifier: OnceLock<Notifier>,
    /// Loads and unloads of one name take turns.
    changes: NameLocks,
    events: mpsc::UnboundedSender<Event>,
}

impl Runner {
    /// A runner with no servers yet. Must be called inside a Tokio runtime.
    pub fn new(config: RunnerConfig) -> Self {
        let (events, rx) = mpsc::unbounded_channel();
        let inner = Arc::new(Inner {
            config: Arc::new(config),
            servers: RwLock::default(),
            lists: merged::Lists::default(),
            notifier: OnceLock::new(),
            changes: NameLocks::default(),
            events,
        });
        tokio::spawn(pump(Arc::downgrade(&inner), rx));
        Self { inner }
    }

    /// The backends to give the agent's router: the tools that manage
    /// servers, and the servers' own tools, resources and prompts.
    pub fn backends(&self) -> Vec<Arc<dyn Backend>> {
        vec![Arc::new(manage::catalog(self.clone())), Arc::new(merged::Servers::new(self.clone()))]
    }

    /// What the runner's installers and servers inherit; give the same to
    /// anything else that starts processes.
    pub fn child_env(&self) -> &ChildEnv {
        &self.inner.config.child_env
    }

    /// Adds a server (replacing one of the same name, which is stopped
    /// first) and starts it unless `autostart` is off.
    /// The server lasts as long as this process; see [`Runner::restore`]
    /// for servers loaded by `servers_load`.
    pub async fn load(&self, spec: ServerSpec) -> Result<Status, SpecError> {
        match self.load_server(spec, Keep::No).await {
            Ok(server) => Ok(server.status()),
            Err(LoadError::Spec(e)) => Err(e),
            Err(LoadError::Keep { name, error }) => Err(SpecError { name, reason: error.to_string() }),
        }
    }

    /// [`Runner::load`], keeping hold of the server it made, so a caller
    /// can follow that server even after a later load replaced it. With
    /// [`Keep::Yes`] the spec is saved in the store (before anything is
    /// stopped or started: a server that could not be saved is not loaded).
    pub(crate) async fn load_server(&self, spec: ServerSpec, keep: Keep) -> Result<Arc<Server>, LoadError> {
        let source = spec.validate()?;
        let autostart = spec.autostart;
        let server = Server::new(spec, source, &self.inner.config);
        let name = server.spec.name.clone();
        // The old server is stopped before the new one starts (they share
        // an install directory). Loads of one name take turns, so a load
        // cannot stop a server another load has not started yet and then
        // see it start anyway.
        let _turn = self.inner.changes.lock(&name).await;
        if keep == Keep::Yes {
            self.keep(&server.spec).await?;
        }
        let previous = self.inner.servers.write().insert(name.clone(), server.clone());
        if let Some(previous) = previous {
            previous.stop_and_wait("replaced by a later load of the same name").await;
            self.inner.lists.forget(&name);
        }
        if autostart {
            server.begin();
            let task = supervisor::run(server.clone(), self.inner.config.clone(), self.inner.events.clone());
            server.attach_task(tokio::spawn(task));
        }
        Ok(server)
    }

    /// Starts a loaded server that is not running (stopped, crashed or
    /// failed). False if there is no such server.
    pub async fn start(&self, name: &str) -> Result<Status, SpecError> {
        let Some(spec) = self.server(name).map(|s| s.spec.clone()) else {
            return Err(SpecError { name: name.into(), reason: "no such server".into() });
        };
        self.load(ServerSpec { autostart: true, ..spec }).await
    }

    /// Stops a server (the whole process group) and forgets it, without
    /// touching the store. False if there was none.
    pub async fn unload(&self, name: &str) -> bool {
        matches!(self.unload_server(name, Keep::No).await, Ok(true))
    }

    /// [`Runner::unload`]; with [`Keep::Yes`] the server is first removed
    /// from the store too (a server that could not be removed keeps
    /// running, so what runs and what comes back agree). True if there was
    /// a server, running or saved.
    pub(crate) async fn unload_server(&self, name: &str, keep: Keep) -> Result<bool, LoadError> {
        let _turn = self.inner.changes.lock(name).await;
        let forgotten = keep == Keep::Yes && self.forget(name).await?;
        let server = self.inner.servers.write().remove(name);
        let Some(server) = server else { return Ok(forgotten) };
        server.stop_and_wait("unloaded").await;
        self.inner.lists.forget(name);
        self.inner.announce();
        Ok(true)
    }

    /// Stops every server; returns once all their processes are gone.
    pub async fn shutdown(&self) {
        let names: Vec<String> = self.inner.servers.read().keys().cloned().collect();
        futures_util::future::join_all(names.iter().map(|n| self.unload(n))).await;
    }

    /// Every server's status, by name.
    pub fn list(&self) -> Vec<Status> {
        self.inner.servers.read().values().map(|s| s.status()).collect()
    }

    /// One server's status.
    pub fn status(&self, name: &str) -> Option<Status> {
        self.server(name).map(|s| s.status())
    }

    /// The last `lines` lines of a server's stderr (and herd's notes about
    /// it), and how many older lines were dropped.
    pub fn logs(&self, name: &str, lines: usize) -> Option<(Vec<String>, u64)> {
        self.server(name).map(|s| s.ring.tail(lines))
    }

    /// Waits until `server` leaves `installing`/`restarting` (or `limit`
    /// passes); calls `progress` on each change.
    pub(crate) async fn settle(server: &Server, limit: Duration, mut progress: impl FnMut(&Status)) -> Status {
        let mut watch = server.watch();
        let wait = async {
            loop {
                let status = watch.borrow_and_update().clone();
                progress(&status);
                if status.state.is_settled() || watch.changed().await.is_err() {
                    return;
                }
            }
        };
        let _ = tokio::time::timeout(limit, wait).await;
        server.status()
    }

    pub(crate) fn server(&self, name: &str) -> Option<Arc<Server>> {
        self.inner.servers.read().get(name).cloned()
    }
}

impl Inner {
    /// Tells every session the merged lists changed.
    pub(crate) fn announce(&self) {
        if let Some(notifier) = self.notifier.get() {
            for m in [method::TOOLS_LIST_CHANGED, method::PROMPTS_LIST_CHANGED, method::RESOURCES_LIST_CHANGED] {
                notifier.send_method(m);
            }
        }
    }
}

/// Turns server events into list refreshes and client notifications.
async fn pump(inner: Weak<Inner>, mut events: mpsc::UnboundedReceiver<Event>) {
    while let Some(event) = events.recv().await {
        let Some(inner) = inner.upgrade() else { return };
        match event {
            Event::Changed(name) => {
                inner.lists.forget(&name);
                inner.announce();
            }
            Event::Notification(name, n) => {
                if n.method.ends_with("/list_changed") {
                    inner.lists.forget(&name);
                }
                if let Some(notifier) = inner.notifier.get() {
                    notifier.send(n);
                }
            }
        }
    }
}
