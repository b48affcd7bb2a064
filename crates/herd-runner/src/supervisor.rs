//! One server's life: install, start, handshake, watch, restart, stop.
//!
//! A task per server drives the states `installing` -> `running`, and on
//! an exit `restarting` (after a delay that doubles each time) or, once the
//! restarts allowed in a row are used up, `crashed`. A failed install, a
//! program that cannot be started or a handshake that never completes
//! ends in `failed`; a stop in `stopped`. A run that lasted a minute resets
//! the restart count, so a server that crashes once a day is not given up.
//!
//! While the server runs, [`Server::link`] holds the relay to it; calls
//! made while it is down fail at once, and when it dies its pending calls
//! fail with the reason (the stdio connection sees its stdout close).

mod handshake;
mod status;

pub use status::{State, Status};

use crate::child::{self, Launch};
use crate::ring::Ring;
use crate::spec::{Restart, ServerSpec, Source};
use crate::stdio::StdioUpstream;
use crate::{RunnerConfig, install};
use arc_swap::ArcSwapOption;
use herd_proto::{Message, Notification};
use herd_upstream::{Relay, RelayConfig};
use parking_lot::Mutex;
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A run this long resets the count of restarts in a row.
const STABLE: Duration = Duration::from_secs(60);

/// What a server's task tells the runner.
#[derive(Debug)]
pub(crate) enum Event {
    /// The server is up (again) or down: its lists changed.
    Changed(String),
    /// A notification the server sent outside any call.
    Notification(String, Notification),
}

/// The live connection to a running server.
pub(crate) struct Link {
    pub(crate) relay: Relay,
    pub(crate) upstream: Arc<StdioUpstream>,
    /// The `capabilities` the server declared.
    pub(crate) capabilities: Map<String, Value>,
}

/// A supervised server.
pub(crate) struct Server {
    pub(crate) spec: ServerSpec,
    pub(crate) source: Source,
    pub(crate) ring: Arc<Ring>,
    pub(crate) link: ArcSwapOption<Link>,
    status: watch::Sender<Status>,
    stop: CancellationToken,
    /// Why it was stopped, shown with the `stopped` state.
    stop_reason: Mutex<Option<String>>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Server {
    pub(crate) fn new(spec: ServerSpec, source: Source, config: &RunnerConfig) -> Arc<Self> {
        let status = watch::Sender::new(Status::new(&spec, &source));
        let ring = Arc::new(Ring::new(config.stderr_bytes));
        let (link, stop, task) = (ArcSwapOption::empty(), CancellationToken::new(), Mutex::new(None));
        let stop_reason = Mutex::new(None);
        Arc::new(Self { spec, source, ring, link, status, stop, stop_reason, task })
    }

    pub(crate) fn status(&self) -> Status {
        self.status.borrow().clone()
    }

    pub(crate) fn watch(&self) -> watch::Receiver<Status> {
        self.status.subscribe()
    }

    /// Keeps the handle of the task driving this server.
    pub(crate) fn attach_task(&self, task: JoinHandle<()>) {
        *self.task.lock() = Some(task);
    }

    /// Marks a server about to be started, so that nobody waiting for it
    /// mistakes the `stopped` it was made in for an outcome.
    pub(crate) fn begin(&self) {
        self.set(State::Installing, None, None);
    }

    /// Stops the server and returns once its task ended (its process
    /// group is gone by then). `why` goes with the `stopped` state, so
    /// whoever still follows this server learns it was replaced or
    /// unloaded rather than just stopped.
    pub(crate) async fn stop_and_wait(&self, why: &str) {
        *self.stop_reason.lock() = Some(why.to_owned());
        // A server never started has no task to report the stop.
        if self.task.lock().is_none() {
            self.stopped();
        }
        self.stop.cancel();
        let task = self.task.lock().take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }

    /// Enters `stopped`, with the reason given to the stop.
    fn stopped(&self) {
        let why = self.stop_reason.lock().clone();
        self.set(State::Stopped, None, why);
    }

    fn set(&self, state: State, pid: Option<u32>, error: Option<String>) {
        self.status.send_modify(|s| s.enter(state, pid, error));
    }

    fn fail(&self, state: State, error: String) {
        self.ring.note(&error);
        tracing::warn!(server = self.spec.name, state = state.as_str(), error, "server not running");
        self.set(state, None, Some(error));
    }
}

/// Drives `server` until it is stopped or given up. The caller has put it
/// in `installing` ([`Server::begin`]) before spawning this.
pub(crate) async fn run(server: Arc<Server>, config: Arc<RunnerConfig>, events: mpsc::UnboundedSender<Event>) {
    let dir = config.dir.join(&server.spec.name);
    let place =
        install::Place { dir: &dir, ring: &server.ring, timeout: config.install_timeout, inherited: &config.child_env };
    let installing = install::install(&server.spec, &server.source, place);
    let launch = tokio::select! {
        launch = installing => launch,
        () = server.stop.cancelled() => return server.stopped(),
    };
    let launch = match launch {
        Ok(launch) => launch,
        Err(error) => return server.fail(State::Failed, format!("install failed: {error}")),
    };
    let mut restarts = 0u32;
    loop {
        let started = Instant::now();
        let exit = match life(&server, &launch, &config, &events).await {
            Life::Stopped => return server.stopped(),
            Life::Failed(error) => return server.fail(State::Failed, error),
            Life::Exited(why) => why,
        };
        let _ = events.send(Event::Changed(server.spec.name.clone()));
        if started.elapsed() >= STABLE {
            restarts = 0;
        }
        if server.spec.restart == Restart::Never || restarts >= server.spec.max_restarts() {
            let tried = if restarts > 0 { format!(" (after {restarts} restarts)") } else { String::new() };
            return server.fail(State::Crashed, format!("{exit}{tried}"));
        }
        let delay = server.spec.restart_delay(restarts);
        restarts += 1;
        server.ring.note(&format!("{exit}; restart {restarts} in {:.1}s", delay.as_secs_f64()));
        tracing::info!(server = server.spec.name, restarts, exit, "restarting a server");
        server.status.send_modify(|s| {
            s.restarts = restarts;
            s.enter(State::Restarting, None, Some(exit.clone()));
        });
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = server.stop.cancelled() => return server.stopped(),
        }
    }
}

enum Life {
    Stopped,
    Failed(String),
    Exited(String),
}

/// One process of the server, from spawn to its end.
async fn life(
    server: &Arc<Server>,
    launch: &Launch,
    config: &RunnerConfig,
    events: &mpsc::UnboundedSender<Event>,
) -> Life {
    let mut running = match child::spawn(launch, &config.child_env) {
        Ok(running) => running,
        Err(err) => return Life::Failed(format!("cannot start {}: {err}", launch.describe())),
    };
    let pid = running.child.id();
    let (Some(stdin), Some(stdout), Some(stderr)) =
        (running.child.stdin.take(), running.child.stdout.take(), running.child.stderr.take())
    else {
        child::reap(&mut running).await;
        return Life::Failed("the process has no stdio pipes".into());
    };
    let ring = server.ring.clone();
    let mut stderr_read = tokio::spawn(async move { ring.fill_from(stderr).await });
    let (unsolicited, messages) = mpsc::unbounded_channel();
    let label = format!("server {}", server.spec.name);
    let upstream = Arc::new(StdioUpstream::start(label, stdin, stdout, unsolicited));
    tokio::spawn(forward(server.spec.name.clone(), messages, events.clone()));

    let hello = tokio::time::timeout(config.init_timeout, handshake::run(&upstream));
    let capabilities = tokio::select! {
        hello = hello => match hello {
            Ok(Ok(capabilities)) => capabilities,
            Ok(Err(error)) => {
                let why = format!("handshake failed: {error}");
                return ended(&mut running, &upstream, &mut stderr_read, why).await;
            }
            Err(_) => {
                child::stop(&mut running, config.stop_grace).await;
                let secs = config.init_timeout.as_secs();
                return Life::Failed(format!("no answer to initialize within {secs}s"));
            }
        },
        status = running.child.wait() => {
            let why = exit_text(status, "before the handshake");
            return ended(&mut running, &upstream, &mut stderr_read, why).await;
        }
        () = server.stop.cancelled() => {
            child::stop(&mut running, config.stop_grace).await;
            return Life::Stopped;
        }
    };
    let call_timeout = server.spec.call_timeout().unwrap_or(config.call_timeout);
    let relay = Relay::new(upstream.clone(), RelayConfig { call_timeout, ..RelayConfig::default() });
    server.link.store(Some(Arc::new(Link { relay, upstream: upstream.clone(), capabilities })));
    server.set(State::Running, pid, None);
    tracing::info!(server = server.spec.name, pid, "server running");
    let _ = events.send(Event::Changed(server.spec.name.clone()));

    tokio::select! {
        status = running.child.wait() => {
            server.link.store(None);
            ended(&mut running, &upstream, &mut stderr_read, exit_text(status, "")).await
        }
        () = server.stop.cancelled() => {
            server.link.store(None);
            upstream.close("the server was stopped");
            child::stop(&mut running, config.stop_grace).await;
            let _ = events.send(Event::Changed(server.spec.name.clone()));
            Life::Stopped
        }
    }
}

/// Longest wait, once a server exited, for the last of its stderr to be
/// read (a process it left behind may hold the pipe until it is killed).
const STDERR_DRAIN: Duration = Duration::from_secs(1);

/// The process ended by itself: fail its calls, kill what is left of its
/// group, and let the stderr it wrote on its way out reach the log before
/// anyone reads why it ended.
async fn ended(
    running: &mut child::Running,
    upstream: &StdioUpstream,
    stderr_read: &mut JoinHandle<()>,
    why: String,
) -> Life {
    upstream.close(&why);
    child::reap(running).await;
    let _ = tokio::time::timeout(STDERR_DRAIN, stderr_read).await;
    Life::Exited(why)
}

fn exit_text(status: std::io::Result<std::process::ExitStatus>, when: &str) -> String {
    let when = if when.is_empty() { String::new() } else { format!(" {when}") };
    match status {
        Ok(status) => format!("exited{when} with {status}"),
        Err(err) => format!("lost{when}: {err}"),
    }
}

async fn forward(name: String, mut messages: mpsc::UnboundedReceiver<Message>, events: mpsc::UnboundedSender<Event>) {
    while let Some(message) = messages.recv().await {
        if let Message::Notification(n) = message
            && events.send(Event::Notification(name.clone(), n)).is_err()
        {
            return;
        }
    }
}
