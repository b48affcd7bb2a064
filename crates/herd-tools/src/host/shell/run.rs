//! Supervising a running `shell` command.
//!
//! One loop reads stdout and stderr as they come (so a chatty command never
//! blocks on a full pipe), waits for the shell, and watches the deadline and
//! the client's cancellation. After the shell exits, a process it started
//! may still hold the pipes open; waiting for end-of-file would then hang
//! forever. So the wait is bounded: after a grace period the group is
//! killed, and after a second one reading stops regardless (a process that
//! left the group, e.g. with `setsid`, can hold the pipes indefinitely).

use super::ProcessGroup;
use crate::catalog::ToolError;
use crate::host::HostConfig;
use crate::host::shape::args::{failed, io_failed};
use crate::host::shape::capture::Capped;
use crate::host::shape::shell::Outcome;
use herd_proto::Context;
use std::os::unix::process::ExitStatusExt;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Child;
use tokio::time::{Instant, sleep_until};

/// Drives `child` to completion within `timeout`, capturing its output.
pub(super) async fn supervise(
    child: &mut Child,
    group: &ProcessGroup,
    timeout: Duration,
    cfg: &HostConfig,
    cx: &Context,
) -> Result<Outcome, ToolError> {
    let mut out = child.stdout.take();
    let mut err = child.stderr.take();
    let (mut out_buf, mut err_buf) = (vec![0u8; 8192], vec![0u8; 8192]);
    let (mut out_cap, mut err_cap) = (Capped::new(cfg.output_cap), Capped::new(cfg.output_cap));
    let deadline = Instant::now() + timeout;
    let mut status = None;
    let mut timed_out = false;
    let mut killed_leftovers = false;
    let mut abandoned = false;
    // Set once the shell exited: when to stop waiting for end-of-file, and
    // whether the group was already killed for holding it back.
    let mut drain: Option<(Instant, bool)> = None;

    while status.is_none() || out.is_some() || err.is_some() {
        tokio::select! {
            n = read_some(&mut out, &mut out_buf) => match n {
                Some(n) => out_cap.push(&out_buf[..n]),
                None => out = None,
            },
            n = read_some(&mut err, &mut err_buf) => match n {
                Some(n) => err_cap.push(&err_buf[..n]),
                None => err = None,
            },
            s = child.wait(), if status.is_none() => {
                status = Some(s.map_err(|e| io_failed("waiting for the shell", &e))?);
                drain = Some((Instant::now() + cfg.drain_grace, false));
            }
            () = sleep_until(deadline), if status.is_none() && !timed_out => {
                timed_out = true;
                group.kill();
            }
            () = cx.cancelled() => {
                return Err(failed("cancelled; killed the command's process group"));
            }
            () = sleep_until_some(drain.map(|(at, _)| at)) => {
                if let Some((_, false)) = drain {
                    group.kill();
                    killed_leftovers = !timed_out;
                    drain = Some((Instant::now() + cfg.drain_grace, true));
                } else {
                    abandoned = true;
                    break;
                }
            }
        }
    }
    let Some(status) = status else {
        return Err(failed("lost track of the shell"));
    };
    // Death by signal N reads 128+N, as shells report it.
    let exit_code = match (status.code(), status.signal()) {
        (Some(code), _) => code,
        (None, Some(sig)) => 128 + sig,
        (None, None) => -1,
    };
    Ok(Outcome {
        exit_code,
        signal: status.signal(),
        stdout: out_cap.finish(),
        stderr: err_cap.finish(),
        timed_out,
        killed_leftovers,
        abandoned,
    })
}

/// Reads from `reader` if it is still open: `None` at end-of-file or on a
/// read error, pending forever once the reader is gone.
async fn read_some<R: AsyncRead + Unpin>(reader: &mut Option<R>, buf: &mut [u8]) -> Option<usize> {
    match reader {
        Some(r) => match r.read(buf).await {
            Ok(0) | Err(_) => None,
            Ok(n) => Some(n),
        },
        None => std::future::pending().await,
    }
}

async fn sleep_until_some(at: Option<Instant>) {
    match at {
        Some(at) => sleep_until(at).await,
        None => std::future::pending().await,
    }
}
