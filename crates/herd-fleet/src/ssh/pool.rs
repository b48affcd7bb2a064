//! One reused SSH connection per destination.
//!
//! Each destination gets one OpenSSH master connection (`ssh -M`, driven
//! through openssh's native mux client); every call opens a channel on it,
//! which costs a round trip instead of a TCP + key exchange + auth
//! handshake. The first callers of a destination share one connect (single
//! flight): the connect runs as its own task, and everyone waiting gets its
//! result, success or failure. The task outlives a cancelled caller, so a
//! connect that was paid for is kept.
//!
//! The table lock is a `parking_lot` mutex held only to read or swap an
//! entry, never across an await, so a host that is slow to connect (or
//! never answers) holds up nobody but its own callers. A connection that
//! failed a call ([`Conns::evict`]) or whose destination was forgotten is
//! dropped from the table; in-flight calls keep their `Arc` and the master
//! is shut down when the last one ends.
//!
//! Each destination also has a semaphore of [`SESSIONS_PER_HOST`] permits:
//! sshd allows 10 sessions per connection by default (`MaxSessions`), and
//! a call beyond that would be refused rather than queued.

use super::{SshConfig, SshError};
use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use openssh::{ControlPersist, KnownHosts, Session, SessionBuilder};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::Semaphore;

/// Channels open at once on one connection.
pub(super) const SESSIONS_PER_HOST: usize = 8;

/// How long an idle master stays up if this process dies without shutting
/// it down (normally the pool shuts masters down when it drops them).
const IDLE_PERSIST: usize = 600;

type Connecting = Shared<BoxFuture<'static, Result<Arc<Master>, SshError>>>;

enum State {
    Empty,
    Connecting(u64, Connecting),
    Ready(Arc<Master>),
}

/// A master connection. Dropping it shuts the master down; that talks to
/// the master over its socket with blocking I/O, so it happens on tokio's
/// blocking pool, never on a runtime thread.
/// The private control directory lives until its last master is shut down.
pub(super) struct Master {
    session: Option<Session>,
    dir: Option<Arc<tempfile::TempDir>>,
}

impl Master {
    /// The session (`None` only while being dropped).
    pub(super) fn session(&self) -> Option<&Session> {
        self.session.as_ref()
    }
}

impl Drop for Master {
    fn drop(&mut self) {
        let (session, dir) = (self.session.take(), self.dir.take());
        let shut_down = move || {
            drop(session);
            drop(dir);
        };
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => drop(rt.spawn_blocking(shut_down)),
            Err(_) => shut_down(),
        }
    }
}

struct Slot {
    state: State,
    permits: Arc<Semaphore>,
}

/// The connection table.
pub(super) struct Conns {
    cfg: SshConfig,
    table: Mutex<HashMap<String, Slot>>,
    flights: AtomicU64,
    /// The private control directory when the config names none.
    private_dir: OnceLock<Result<Arc<tempfile::TempDir>, String>>,
}

impl Conns {
    pub(super) fn new(cfg: SshConfig) -> Self {
        Self { cfg, table: Mutex::new(HashMap::new()), flights: AtomicU64::new(0), private_dir: OnceLock::new() }
    }

    pub(super) fn config(&self) -> &SshConfig {
        &self.cfg
    }

    /// The connection to `dest`, connecting if needed. `true` when this
    /// call waited for a new connection rather than reusing one.
    pub(super) async fn session(self: &Arc<Self>, dest: &str) -> Result<(Arc<Master>, bool), SshError> {
        let flight = {
            let mut table = self.table.lock();
            let slot = table
                .entry(dest.to_owned())
                .or_insert_with(|| Slot { state: State::Empty, permits: Arc::new(Semaphore::new(SESSIONS_PER_HOST)) });
            match &slot.state {
                State::Ready(session) => return Ok((session.clone(), false)),
                State::Connecting(_, flight) => flight.clone(),
                State::Empty => {
                    let id = self.flights.fetch_add(1, Ordering::Relaxed);
                    let flight = self.start_connect(dest, id);
                    slot.state = State::Connecting(id, flight.clone());
                    flight
                }
            }
        };
        flight.await.map(|s| (s, true))
    }

    /// The semaphore that bounds the channels open to `dest`.
    pub(super) fn permits(&self, dest: &str) -> Arc<Semaphore> {
        let mut table = self.table.lock();
        let slot = table
            .entry(dest.to_owned())
            .or_insert_with(|| Slot { state: State::Empty, permits: Arc::new(Semaphore::new(SESSIONS_PER_HOST)) });
        slot.permits.clone()
    }

    /// Stops reusing `session` for `dest` (if it is still the cached one).
    pub(super) fn evict(&self, dest: &str, session: &Arc<Master>) {
        let dropped = {
            let mut table = self.table.lock();
            match table.get_mut(dest) {
                Some(slot) if matches!(&slot.state, State::Ready(s) if Arc::ptr_eq(s, session)) => {
                    Some(std::mem::replace(&mut slot.state, State::Empty))
                }
                _ => None,
            }
        };
        if dropped.is_some() {
            tracing::debug!(dest, "ssh: dropped a broken connection");
        }
    }

    /// Forgets `dest` entirely.
    pub(super) fn forget(&self, dest: &str) {
        let slot = self.table.lock().remove(dest);
        // Dropped outside the lock: dropping a session talks to its master.
        drop(slot);
    }

    fn start_connect(self: &Arc<Self>, dest: &str, id: u64) -> Connecting {
        let (conns, owned) = (self.clone(), dest.to_owned());
        let task = tokio::spawn(async move {
            let result = conns.connect(&owned).await;
            let mut table = conns.table.lock();
            if let Some(slot) = table.get_mut(&owned)
                && matches!(slot.state, State::Connecting(flight, _) if flight == id)
            {
                slot.state = match &result {
                    Ok(session) => State::Ready(session.clone()),
                    Err(_) => State::Empty,
                };
            }
            result
        });
        let dest = dest.to_owned();
        async move {
            task.await.unwrap_or_else(|e| Err(SshError::Connect { dest, reason: format!("connect task failed: {e}") }))
        }
        .boxed()
        .shared()
    }

    async fn connect(&self, dest: &str) -> Result<Arc<Master>, SshError> {
        let cfg = &self.cfg;
        let (control, dir) = self.control_dir().map_err(|reason| SshError::Connect { dest: dest.into(), reason })?;
        let mut b = SessionBuilder::default();
        if let Some(file) = &cfg.config_file {
            b.config_file(file);
        }
        // ssh takes whole seconds; round up so a short timeout is not "0" (none).
        let secs = |d: Duration| Duration::from_secs(d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(SECOND);
        b.connect_timeout(secs(cfg.connect_timeout))
            .server_alive_interval(secs(cfg.keepalive_interval))
            .known_hosts_check(KnownHosts::Strict)
            .control_directory(&control)
            .control_persist(NonZeroUsize::new(IDLE_PERSIST).map_or(ControlPersist::Forever, ControlPersist::IdleFor));
        // ssh's ConnectTimeout covers TCP connect and key exchange; this
        // bound also covers authentication and starting ssh itself.
        let bound = cfg.connect_timeout * 2 + SECOND;
        let started = tokio::time::Instant::now();
        match tokio::time::timeout(bound, b.connect_mux(dest)).await {
            Ok(Ok(session)) => {
                tracing::debug!(dest, elapsed = ?started.elapsed(), "ssh: connected");
                Ok(Arc::new(Master { session: Some(session), dir }))
            }
            Ok(Err(e)) => Err(connect_error(dest, cfg.connect_timeout, &e)),
            Err(_) => Err(SshError::ConnectTimeout {
                dest: dest.into(),
                after: bound,
                reason: "no session set up in time (connect, key exchange and authentication)".into(),
            }),
        }
    }

    /// The control directory, and the private one to keep alive with it.
    fn control_dir(&self) -> Result<(PathBuf, Option<Arc<tempfile::TempDir>>), String> {
        if let Some(dir) = &self.cfg.control_dir {
            return Ok((dir.clone(), None));
        }
        let made = self.private_dir.get_or_init(|| {
            tempfile::Builder::new()
                .prefix("herd-ssh-")
                .tempdir()
                .map(Arc::new)
                .map_err(|e| format!("cannot create a control directory: {e}"))
        });
        match made {
            Ok(dir) => Ok((dir.path().to_path_buf(), Some(dir.clone()))),
            Err(e) => Err(e.clone()),
        }
    }
}

const SECOND: Duration = Duration::from_secs(1);

/// Turns what ssh reported into an error naming the cause.
fn connect_error(dest: &str, timeout: Duration, e: &openssh::Error) -> SshError {
    let mut reason = match e {
        openssh::Error::Connect(io) | openssh::Error::Master(io) => io.to_string(),
        other => other.to_string(),
    };
    // ssh's log may hold several lines (warnings first); the last says why.
    reason = reason.lines().map(str::trim).rfind(|l| !l.is_empty()).unwrap_or_default().to_owned();
    if reason.is_empty() {
        reason = e.to_string();
    }
    let timed_out = matches!(e, openssh::Error::Connect(io) if io.kind() == std::io::ErrorKind::TimedOut)
        || reason.to_ascii_lowercase().contains("timed out");
    if timed_out {
        SshError::ConnectTimeout { dest: dest.into(), after: timeout, reason }
    } else {
        SshError::Connect { dest: dest.into(), reason }
    }
}
