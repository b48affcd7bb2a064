//! Running one script on a destination and collecting what it reports.
//!
//! [`Remote::run`] opens a channel running `sh -s` on the cached connection,
//! writes the script, keeps stdin open (its closing is the remote side's
//! signal to kill the call's processes, see [`super::script`]), and reads
//! stdout into the tool's sink and stderr through a [`Splitter`] that takes
//! the control records out. It returns once the script said `done` and its
//! output ended, or a grace period after `done` when something the script
//! started still holds the output open.
//!
//! Every run of a call shares one deadline, the call's hard cap, which
//! starts when the connection is ready (connecting has its own timeout).
//! When it passes, the channel is dropped, the cached connection is
//! evicted, and the call fails with [`SshError::Timeout`].
//!
//! A channel that cannot be opened on a reused connection (the master
//! exited, or the host rebooted) is retried once on a fresh connection:
//! nothing ran yet, so the retry is safe.

use super::SshError;
use super::pool::{Conns, Master};
use super::records::{Gate, Record, Splitter, nonce};
use super::script::Script;
use openssh::{Session, Stdio};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::time::{Instant, sleep_until, timeout_at};

/// Where a stream's bytes go.
pub(super) trait Sink: Send {
    /// Takes bytes; `false` when the sink is full and reading should stop.
    fn push(&mut self, bytes: &[u8]) -> bool;
}

/// Keeps up to `limit` bytes.
#[derive(Debug, Default)]
pub(super) struct Limited {
    pub(super) bytes: Vec<u8>,
    pub(super) limit: usize,
}

impl Limited {
    pub(super) fn new(limit: usize) -> Self {
        Self { bytes: Vec::new(), limit }
    }
}

impl Sink for Limited {
    fn push(&mut self, bytes: &[u8]) -> bool {
        let room = self.limit.saturating_sub(self.bytes.len());
        self.bytes.extend_from_slice(&bytes[..room.min(bytes.len())]);
        bytes.len() <= room
    }
}

/// What a run reported.
#[derive(Debug)]
pub(super) struct Run {
    pub(super) records: Vec<Record>,
    /// The stdout sink filled up and reading stopped early.
    pub(super) overflow: bool,
    /// After `done`, the output stayed open past the grace period.
    pub(super) abandoned: bool,
}

impl Run {
    /// The first record of one of `kinds`.
    pub(super) fn record(&self, kinds: &[&str]) -> Option<&Record> {
        self.records.iter().find(|r| kinds.contains(&r.kind.as_str()))
    }
}

/// One tool call's access to its destination.
pub(super) struct Remote {
    conns: Arc<Conns>,
    dest: String,
    tool: &'static str,
    cap: Duration,
    deadline: Option<Instant>,
}

impl Remote {
    pub(super) fn new(conns: Arc<Conns>, dest: &str, tool: &'static str, cap: Duration) -> Self {
        Self { conns, dest: dest.to_owned(), tool, cap, deadline: None }
    }

    /// A new script with a fresh nonce.
    pub(super) fn script(&self, watch: bool) -> Script {
        Script::new(&nonce(), watch)
    }

    /// Runs `script`; stdout goes to `out`, stderr that is not a record to `err`.
    pub(super) async fn run(
        &mut self,
        script: Script,
        out: &mut dyn Sink,
        err: &mut dyn Sink,
        grace: Duration,
    ) -> Result<Run, SshError> {
        let (session, fresh) = self.conns.session(&self.dest).await?;
        let deadline = *self.deadline.get_or_insert_with(|| Instant::now() + self.cap);
        let nonce = script.nonce().to_owned();
        let text = script.finish();
        let mut held = session.clone();
        let result = timeout_at(deadline, async {
            let permits = self.conns.permits(&self.dest);
            let _permit = permits.acquire_owned().await.map_err(|_| self.lost("the pool is shutting down"))?;
            let child = match spawn(&session).await {
                Ok(child) => child,
                Err(e) if !fresh && !matches!(e, openssh::Error::InvalidCommand) => {
                    self.conns.evict(&self.dest, &session);
                    tracing::debug!(dest = self.dest, error = %e, "ssh: reconnecting after a stale connection");
                    held = self.conns.session(&self.dest).await?.0;
                    spawn(&held).await.map_err(|e| self.channel_error(&e))?
                }
                Err(e) => return Err(self.channel_error(&e)),
            };
            self.exchange(child, &text, &nonce, out, err, grace).await
        })
        .await;
        match result {
            Ok(Ok(run)) => Ok(run),
            Ok(Err(e)) => {
                if e.breaks_connection() {
                    self.conns.evict(&self.dest, &held);
                }
                Err(e)
            }
            Err(_) => {
                self.conns.evict(&self.dest, &held);
                Err(SshError::Timeout { dest: self.dest.clone(), tool: self.tool.into(), after: self.cap })
            }
        }
    }

    async fn exchange(
        &self,
        mut child: openssh::Child<&Session>,
        script: &[u8],
        nonce: &str,
        out: &mut dyn Sink,
        err: &mut dyn Sink,
        grace: Duration,
    ) -> Result<Run, SshError> {
        let (Some(mut stdin), Some(mut stdout), Some(mut stderr)) =
            (child.stdin().take(), child.stdout().take(), child.stderr().take())
        else {
            return Err(self.remote("the channel has no stdio pipes"));
        };
        // Written while reading: a login shell may print before `sh` reads.
        // Once written, stdin stays open until the call is over.
        let write = async move {
            stdin.write_all(script).await?;
            stdin.flush().await?;
            Ok::<_, std::io::Error>(stdin)
        };
        tokio::pin!(write);
        let (mut writing, mut _stdin) = (true, None);
        let (mut splitter, mut gate) = (Splitter::new(nonce), Gate::new(nonce));
        let mut first_words = Limited::new(2048);
        let (mut obuf, mut ebuf) = (vec![0u8; 16 * 1024], vec![0u8; 8 * 1024]);
        let (mut out_open, mut err_open) = (true, true);
        let mut done_at: Option<Instant> = None;
        let (mut overflow, mut abandoned) = (false, false);
        while out_open || err_open {
            tokio::select! {
                written = &mut write, if writing => {
                    writing = false;
                    _stdin = written.ok();
                }
                n = read_some(&mut stdout, &mut obuf), if out_open => match n {
                    Some(n) => if !gate.push(&obuf[..n], &mut |b: &[u8]| out.push(b)) { overflow = true; break },
                    None => out_open = false,
                },
                n = read_some(&mut stderr, &mut ebuf), if err_open => match n {
                    Some(n) => {
                        first_words.push(&ebuf[..n]);
                        splitter.push(&ebuf[..n], &mut |b: &[u8]| { err.push(b); });
                        if done_at.is_none() && splitter.saw("done") {
                            done_at = Some(Instant::now() + grace);
                        }
                    }
                    None => err_open = false,
                },
                () = sleep_until(done_at.unwrap_or_else(Instant::now)), if done_at.is_some() => {
                    abandoned = true;
                    break;
                }
            }
        }
        let records = splitter.finish(&mut |b: &[u8]| {
            err.push(b);
        });
        let run = Run { records, overflow, abandoned };
        if overflow || run.record(&["done"]).is_some() {
            return Ok(run);
        }
        if run.record(&["fail"]).is_some_and(|r| r.field(0) == "base64") {
            return Err(self.remote("the remote host has no working `base64`, needed to pass arguments safely"));
        }
        // The script ended without finishing: find out how.
        let said = String::from_utf8_lossy(&first_words.bytes);
        let said: Vec<&str> = said.lines().filter(|l| !l.starts_with(nonce)).collect();
        let said = said.join("; ").trim().to_owned();
        let said = if said.is_empty() { String::new() } else { format!(": {said}") };
        Err(match child.wait().await {
            Ok(status) => self.remote(&format!("the remote script stopped early ({status}){said}")),
            Err(openssh::Error::Remote(e)) => self.remote(&format!("cannot run `sh -s` on the host ({e}){said}")),
            Err(e) => self.lost(&format!("{e}{said}")),
        })
    }

    fn remote(&self, reason: &str) -> SshError {
        SshError::Remote { dest: self.dest.clone(), tool: self.tool.into(), reason: reason.into() }
    }

    fn lost(&self, reason: &str) -> SshError {
        SshError::Disconnected { dest: self.dest.clone(), tool: self.tool.into(), reason: reason.into() }
    }

    fn channel_error(&self, e: &openssh::Error) -> SshError {
        match e {
            openssh::Error::Disconnected | openssh::Error::RemoteProcessTerminated => self.lost(&e.to_string()),
            other => self.remote(&format!("cannot open a channel: {other}")),
        }
    }
}

async fn spawn(master: &Master) -> Result<openssh::Child<&Session>, openssh::Error> {
    let Some(session) = master.session() else {
        return Err(openssh::Error::Disconnected);
    };
    session.command("sh").arg("-s").stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().await
}

/// Reads some bytes: `None` at end-of-file or on error.
async fn read_some<R: AsyncRead + Unpin>(reader: &mut R, buf: &mut [u8]) -> Option<usize> {
    match reader.read(buf).await {
        Ok(0) | Err(_) => None,
        Ok(n) => Some(n),
    }
}
