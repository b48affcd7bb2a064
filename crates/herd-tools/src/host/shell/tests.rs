//! Tests of `shell`: output and exit codes, argument passing, and that no
//! process survives a timeout, a cancellation, or a dropped call.

#![allow(clippy::unwrap_used)]

use crate::host::testutil::{call, call_future, config, eventually, host, is_error, is_gone, text};
use crate::host::{HostConfig, catalog};
use herd_proto::Context;
use serde_json::{Value, json};
use std::time::Duration;

fn pid_from(result: &Value) -> i32 {
    let stdout = result["structuredContent"]["stdout"].as_str().unwrap();
    stdout.lines().next().unwrap().trim().parse().unwrap()
}

#[tokio::test]
async fn runs_a_command_and_ends_with_the_exit_code() {
    let r = call(&host(), "shell", json!({"command": "echo hello"})).await;
    assert!(!is_error(&r), "{r}");
    assert_eq!(text(&r), "hello\nexit code: 0");
    let s = &r["structuredContent"];
    assert_eq!(
        (s["exit_code"].clone(), s["stdout"].clone(), s["stderr"].clone()),
        (json!(0), json!("hello\n"), json!(""))
    );
    assert_eq!((s["timed_out"].clone(), s["truncated"].clone()), (json!(false), json!(false)));
    assert!(s["duration_ms"].is_u64());
}

#[tokio::test]
async fn non_zero_exit_is_reported_not_an_error() {
    let r = call(&host(), "shell", json!({"command": "echo out; echo oops >&2; exit 3"})).await;
    assert!(!is_error(&r), "{r}");
    assert_eq!(text(&r), "out\n--- stderr ---\noops\nexit code: 3");
    assert_eq!(r["structuredContent"]["exit_code"], 3);
    assert_eq!(r["structuredContent"]["stderr"], "oops\n");
}

#[tokio::test]
async fn the_command_is_one_shell_argument_with_cwd_and_env() {
    let dir = tempfile::tempdir().unwrap();
    let cmd = r#"printf '%s|' "a  b" '$HOME' "$FOO"; pwd; echo "${GONE-unset}""#;
    let args = json!({"command": cmd, "cwd": dir.path(), "env": {"FOO": "it's \"quoted\"", "GONE": null}});
    let r = call(&host(), "shell", args).await;
    let real = dir.path().canonicalize().unwrap();
    let want = format!("a  b|$HOME|it's \"quoted\"|{}\nunset\n", real.display());
    assert_eq!(r["structuredContent"]["stdout"], want, "{r}");
}

#[tokio::test]
async fn timeout_kills_the_whole_group_and_fails() {
    let r = call(&host(), "shell", json!({"command": "sleep 30 & echo $!; wait", "timeout": 0.5})).await;
    assert!(is_error(&r), "{r}");
    let s = &r["structuredContent"];
    assert_eq!(
        (s["timed_out"].clone(), s["signal"].clone(), s["exit_code"].clone()),
        (json!(true), json!(9), json!(137))
    );
    assert!(text(&r).contains("timed out after 500ms"), "{r}");
    assert!(text(&r).ends_with("exit code: 137"));
    let grandchild = pid_from(&r);
    assert!(eventually(|| is_gone(grandchild)).await, "grandchild {grandchild} survived the timeout");
}

#[tokio::test]
async fn leftover_processes_holding_the_output_do_not_hang_the_call() {
    let r = call(&host(), "shell", json!({"command": "sleep 30 & echo $!"})).await;
    assert!(!is_error(&r), "{r}");
    assert_eq!(r["structuredContent"]["exit_code"], 0);
    assert!(text(&r).contains("they were killed"), "{r}");
    let grandchild = pid_from(&r);
    assert!(eventually(|| is_gone(grandchild)).await, "grandchild {grandchild} survived the call");
}

#[tokio::test]
async fn dropping_the_call_kills_the_group() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let cmd = format!("sleep 30 & echo $! > '{}'; wait", pidfile.display());
    let fut = call_future(&host(), "shell", json!({"command": cmd}), Context::detached());
    let pid = {
        tokio::pin!(fut);
        let mut pid = None;
        for _ in 0..500 {
            tokio::select! {
                r = &mut fut => panic!("the command finished: {r:?}"),
                () = tokio::time::sleep(Duration::from_millis(20)) => {}
            }
            pid = std::fs::read_to_string(&pidfile).ok().and_then(|s| s.trim().parse::<i32>().ok());
            if pid.is_some() {
                break;
            }
        }
        pid.unwrap()
    };
    // The call's future is gone here.
    assert!(eventually(|| is_gone(pid)).await, "{pid} survived the dropped call");
}

#[tokio::test]
async fn client_cancellation_kills_the_group() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let cmd = format!("sleep 30 & echo $! > '{}'; wait", pidfile.display());
    let cx = Context::detached();
    let handle = tokio::spawn(call_future(&host(), "shell", json!({"command": cmd}), cx.clone()));
    let read_pid = || std::fs::read_to_string(&pidfile).ok().and_then(|s| s.trim().parse::<i32>().ok());
    assert!(eventually(|| read_pid().is_some()).await);
    cx.cancellation().cancel();
    let raw = tokio::time::timeout(Duration::from_secs(10), handle).await.unwrap().unwrap().unwrap();
    let r: Value = serde_json::from_str(raw.get()).unwrap();
    assert!(is_error(&r) && text(&r).contains("cancelled"), "{r}");
    let pid = read_pid().unwrap();
    assert!(eventually(|| is_gone(pid)).await, "{pid} survived the cancelled call");
}

#[tokio::test]
async fn output_is_capped_head_and_tail() {
    let c = catalog(HostConfig { output_cap: 64, ..config() });
    let r = call(&c, "shell", json!({"command": "echo START; head -c 100000 /dev/zero | tr '\\0' x; echo; echo END"}))
        .await;
    let s = &r["structuredContent"];
    assert_eq!(s["truncated"], true);
    assert_eq!(s["stdout_bytes"], 6 + 100_000 + 1 + 4);
    let stdout = s["stdout"].as_str().unwrap();
    assert!(stdout.starts_with("START\n") && stdout.ends_with("END\n") && stdout.contains("bytes omitted"), "{stdout}");
    assert!(text(&r).ends_with("exit code: 0"));
}

#[tokio::test]
async fn bad_arguments_and_failures_are_error_results() {
    let c = host();
    let r = call(&c, "shell", json!({})).await;
    assert!(is_error(&r) && text(&r).contains("invalid arguments") && text(&r).contains("command"), "{r}");
    let r = call(&c, "shell", json!({"command": "true", "timeout": 0})).await;
    assert!(is_error(&r) && text(&r).contains("timeout"), "{r}");
    let r = call(&c, "shell", json!({"command": "true", "cwd": "/no/such/dir"})).await;
    assert!(is_error(&r) && text(&r).contains("/no/such/dir: No such file or directory"), "{r}");
    let bad = catalog(HostConfig { shell: "/no/such/shell".into(), ..config() });
    let r = call(&bad, "shell", json!({"command": "true"})).await;
    assert!(is_error(&r) && text(&r).contains("cannot start /no/such/shell: No such file or directory"), "{r}");
}

#[tokio::test]
async fn the_command_inherits_no_hidden_variable_but_what_the_call_sets() {
    let c = catalog(HostConfig { child_env: crate::ChildEnv::default().hide_var("HOME"), ..config() });
    let cmd = r#"echo "[${HOME-unset}] [${PATH:+path kept}] [$MINE]""#;
    let r = call(&c, "shell", json!({"command": cmd, "env": {"MINE": "given"}})).await;
    assert_eq!(r["structuredContent"]["stdout"], "[unset] [path kept] [given]\n", "{r}");
    let r = call(&c, "shell", json!({"command": "echo \"$HOME\"", "env": {"HOME": "/asked/for"}})).await;
    assert_eq!(r["structuredContent"]["stdout"], "/asked/for\n", "an explicit variable passes: {r}");
}
