//! One installer run: an argument vector, a working directory, a time
//! limit, output into the server's ring, and the agent's environment
//! without its secrets.

use crate::ring::Ring;
use herd_tools::ChildEnv;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::AsyncRead;
use tokio::process::Command;

/// Where and how long installer steps run.
#[derive(Clone, Copy)]
pub(super) struct Step<'a> {
    pub(super) cwd: &'a Path,
    pub(super) ring: &'a Ring,
    pub(super) timeout: Duration,
    pub(super) inherited: &'a ChildEnv,
}

/// Git may only use its plain transports, and never prompts.
const GIT_ENV: [(&str, &str); 3] =
    [("GIT_TERMINAL_PROMPT", "0"), ("GIT_ALLOW_PROTOCOL", "file:git:http:https:ssh"), ("GIT_ASKPASS", "true")];

impl<'a> Step<'a> {
    pub(super) fn in_dir(self, cwd: &'a Path) -> Self {
        Self { cwd, ..self }
    }

    pub(super) fn git(self) -> GitStep<'a> {
        GitStep(self)
    }

    /// Runs `program args` to completion; its output goes to the ring.
    pub(super) async fn run(&self, program: &str, args: &[&str]) -> Result<(), String> {
        self.run_with(program, args, &[]).await
    }

    async fn run_with(&self, program: &str, args: &[&str], env: &[(&str, &str)]) -> Result<(), String> {
        let line = format!("{program} {}", args.join(" "));
        self.ring.note(&format!("running: {line}"));
        let started = Instant::now();
        let mut command = Command::new(program);
        self.inherited.scrub(&mut command);
        command
            .args(args)
            .current_dir(self.cwd)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let mut child = command.spawn().map_err(|e| format!("cannot run {program}: {e}"))?;
        let group = child.id().and_then(|pid| i32::try_from(pid).ok()).map(Pid::from_raw);
        // Cancel safety: if this future is dropped (the server is unloaded
        // mid-install), the installer's whole group dies with it.
        let _kill_on_drop = group.map(KillGroup);
        let (out, err) = (child.stdout.take(), child.stderr.take());
        let finished = async {
            let (status, (), ()) = tokio::join!(child.wait(), copy_lines(out, self.ring), copy_lines(err, self.ring));
            status
        };
        // The limit covers output too: a helper left holding the pipes
        // cannot keep the step alive past it.
        let status = tokio::time::timeout(self.timeout, finished).await;
        let seconds = started.elapsed().as_secs_f64();
        match status {
            Err(_) => Err(format!("{program} did not finish within {}s", self.timeout.as_secs())),
            Ok(Err(e)) => Err(format!("{program} failed: {e}")),
            Ok(Ok(s)) if s.success() => {
                self.ring.note(&format!("{program}: done in {seconds:.1}s"));
                Ok(())
            }
            Ok(Ok(s)) => Err(format!("{program} exited with {s} after {seconds:.1}s (see servers_logs)")),
        }
    }
}

/// Kills a process group when dropped: an installer never outlives its
/// step, whether the step finished, timed out or was cancelled.
struct KillGroup(Pid);

impl Drop for KillGroup {
    fn drop(&mut self) {
        let _ = killpg(self.0, Signal::SIGKILL);
    }
}

/// A step with git's safety environment.
pub(super) struct GitStep<'a>(Step<'a>);

impl GitStep<'_> {
    pub(super) async fn run(&self, program: &str, args: &[&str]) -> Result<(), String> {
        self.0.run_with(program, args, &GIT_ENV).await
    }
}

async fn copy_lines<R: AsyncRead + Unpin>(reader: Option<R>, ring: &Ring) {
    if let Some(reader) = reader {
        ring.fill_from(reader).await;
    }
}
