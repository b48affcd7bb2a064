//! Starting a server process so that it can always be stopped whole.
//!
//! Every server runs in its own process group, so stopping it reaches the
//! children it started too (an `npx` wrapper, a Python launcher). Where
//! `setpriv(1)` exists the process also gets a parent-death signal, so a
//! server does not outlive an agent that was killed outright. The
//! environment is the agent's minus herd's secrets ([`ChildEnv`]), plus
//! the spec's `env`, which is what its owner asked for and passes as given.
//!
//! The parent-death signal fires when the *thread* that spawned the child
//! ends. Servers are spawned from the runtime's worker threads, which live
//! as long as the runtime (herd never turns a worker into a blocking
//! thread with `block_in_place`), so the signal means "the agent is gone".
//!
//! Stopping is SIGTERM to the group, a grace period, then SIGKILL to the
//! group. A group outliving its leader is killed too: nothing is orphaned.

use herd_tools::ChildEnv;
use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};
use tokio::time::Instant;

/// How to run one server process.
#[derive(Debug, Clone)]
pub struct Launch {
    /// The program.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Its working directory.
    pub cwd: PathBuf,
    /// Environment on top of the agent's (minus its secrets).
    pub env: BTreeMap<String, String>,
}

impl Launch {
    /// The command line for messages (arguments may be long; not secrets).
    pub fn describe(&self) -> String {
        let mut text = self.program.display().to_string();
        for arg in &self.args {
            text.push(' ');
            text.push_str(arg);
        }
        text
    }
}

/// A running server process, in its own group.
pub(crate) struct Running {
    pub(crate) child: Child,
    pub(crate) pgid: Pid,
}

/// Starts `launch` with piped stdio in a new process group, with the
/// environment `inherited` leaves plus the launch's own.
pub(crate) fn spawn(launch: &Launch, inherited: &ChildEnv) -> std::io::Result<Running> {
    let mut command = match pdeathsig_wrapper() {
        Some(setpriv) => {
            let mut c = Command::new(setpriv);
            c.args(["--pdeathsig", "KILL", "--"]).arg(&launch.program);
            c
        }
        None => Command::new(&launch.program),
    };
    command
        .args(&launch.args)
        .current_dir(&launch.cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    inherited.scrub(&mut command);
    command.envs(&launch.env);
    let child = command.spawn()?;
    let pid = child.id().ok_or_else(|| std::io::Error::other("the process exited before it could be watched"))?;
    let pgid = Pid::from_raw(i32::try_from(pid).map_err(std::io::Error::other)?);
    Ok(Running { child, pgid })
}

/// `setpriv`, if this system has it.
fn pdeathsig_wrapper() -> Option<&'static Path> {
    static FOUND: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    FOUND.get_or_init(|| ["/usr/bin/setpriv", "/bin/setpriv"].iter().map(PathBuf::from).find(|p| p.exists())).as_deref()
}

/// Whether any process of group `pgid` is alive.
pub(crate) fn group_alive(pgid: Pid) -> bool {
    !matches!(killpg(pgid, None), Err(Errno::ESRCH))
}

/// Stops the group: SIGTERM, up to `grace` for the leader and the rest of
/// the group to go, then SIGKILL. Returns once the leader is reaped.
///
/// Cancel safety: dropping the future midway leaves the group signalled
/// but not necessarily gone; `kill_on_drop` then still kills the leader.
pub(crate) async fn stop(running: &mut Running, grace: Duration) {
    let _ = killpg(running.pgid, Signal::SIGTERM);
    let deadline = Instant::now() + grace;
    let _ = tokio::time::timeout_at(deadline, running.child.wait()).await;
    // The leader is gone (or the grace is up); stragglers of the group are
    // not our children, so their end can only be polled.
    while group_alive(running.pgid) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    reap(running).await;
}

/// Kills whatever is left of the group and reaps the leader.
pub(crate) async fn reap(running: &mut Running) {
    let _ = killpg(running.pgid, Signal::SIGKILL);
    let _ = running.child.wait().await;
}
