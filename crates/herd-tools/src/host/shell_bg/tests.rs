//! Tests of `shell_bg`: the process outlives the call in its own session and
//! writes to its log.

#![allow(clippy::unwrap_used)]

use crate::host::testutil::{call, config, eventually, host, is_error, is_gone, text};
use crate::host::{HostConfig, catalog};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::{Pid, getsid};
use serde_json::json;
use std::os::unix::fs::PermissionsExt;

/// Kills the background process group when a test ends, pass or fail.
struct Reap(Pid);

impl Drop for Reap {
    fn drop(&mut self) {
        let _ = killpg(self.0, Signal::SIGKILL);
    }
}

#[tokio::test]
async fn the_process_outlives_the_call_in_its_own_session() {
    let dir = tempfile::tempdir().unwrap();
    let c = catalog(HostConfig { bg_log_dir: dir.path().join("logs"), ..config() });
    let r = call(&c, "shell_bg", json!({"command": "sleep 30"})).await;
    assert!(!is_error(&r), "{r}");
    let s = &r["structuredContent"];
    let pid = i32::try_from(s["pid"].as_u64().unwrap()).unwrap();
    let _reap = Reap(Pid::from_raw(pid));
    assert!(!is_gone(pid), "the background process died with the call");
    assert_eq!(s["session"], true);
    // setsid(1) calls setsid() just after it starts, so this may take a moment.
    let leads = || getsid(Some(Pid::from_raw(pid))) == Ok(Pid::from_raw(pid));
    assert!(eventually(leads).await, "not a session leader");

    let log = std::path::PathBuf::from(s["log"].as_str().unwrap());
    assert_eq!(log.parent(), Some(dir.path().join("logs").as_path()));
    assert_eq!(std::fs::metadata(&log).unwrap().permissions().mode() & 0o777, 0o600);
    assert!(text(&r).contains(&format!("started pid {pid}")), "{r}");
}

#[tokio::test]
async fn output_goes_to_the_named_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("out.log");
    std::fs::write(&log, "before\n").unwrap();
    let args = json!({"command": "pwd; echo err >&2", "cwd": dir.path(), "log": log});
    let r = call(&host(), "shell_bg", args).await;
    assert!(!is_error(&r), "{r}");
    let _reap = Reap(Pid::from_raw(i32::try_from(r["structuredContent"]["pid"].as_u64().unwrap()).unwrap()));
    let want = format!("before\n{}\nerr\n", dir.path().canonicalize().unwrap().display());
    assert!(eventually(|| std::fs::read_to_string(&log).unwrap_or_default() == want).await);
}

#[tokio::test]
async fn bad_cwd_and_log_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let c = host();
    let r = call(&c, "shell_bg", json!({"command": "true", "cwd": dir.path().join("nope")})).await;
    assert!(is_error(&r) && text(&r).contains("nope: No such file or directory"), "{r}");
    let r = call(&c, "shell_bg", json!({"command": "true", "log": dir.path().join("no/such.log")})).await;
    assert!(is_error(&r) && text(&r).contains("such.log: No such file or directory"), "{r}");
    let r = call(&c, "shell_bg", json!({"command": " "})).await;
    assert!(is_error(&r) && text(&r).contains("command is empty"), "{r}");
}

#[tokio::test]
async fn the_command_inherits_no_hidden_variable() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("env.log");
    let c = catalog(HostConfig { child_env: crate::ChildEnv::default().hide_var("HOME"), ..config() });
    let args = json!({"command": r#"echo "[${HOME-unset}] [${PATH:+path kept}]""#, "log": log});
    let r = call(&c, "shell_bg", args).await;
    assert!(!is_error(&r), "{r}");
    let _reap = Reap(Pid::from_raw(i32::try_from(r["structuredContent"]["pid"].as_u64().unwrap()).unwrap()));
    let want = "[unset] [path kept]\n";
    assert!(eventually(|| std::fs::read_to_string(&log).unwrap_or_default() == want).await);
}
