//! `shell` over SSH: output, exit codes, cwd and env, the output cap, and
//! that no remote process survives a timeout, the end of the call, or a
//! dropped call.

use super::sshd::Sshd;
use super::{assert_like_agent, call, config, eventually, is_error, is_gone, pool, text};
use herd_fleet::{SshConfig, SshPool};
use serde_json::{Value, json};

fn first_line_pid(result: &Value) -> i32 {
    let stdout = result["structuredContent"]["stdout"].as_str().unwrap();
    stdout.lines().next().unwrap().trim().parse().unwrap()
}

#[tokio::test]
async fn shell_reports_output_stderr_and_exit_code_like_the_agent() {
    let server = Sshd::start();
    let pool = pool(&server);
    for command in ["echo hello", "echo out; echo oops >&2; exit 3", "printf 'no newline'; printf x >&2"] {
        let args = json!({"command": command});
        let r = call(&pool, server.alias(), "shell", args.clone()).await;
        assert!(!is_error(&r), "a non-zero exit is reported, not an error: {r}");
        assert!(r["structuredContent"]["duration_ms"].is_u64(), "{r}");
        assert_like_agent(&r, "shell", args).await;
    }
}

#[tokio::test]
async fn shell_passes_command_cwd_and_env_verbatim() {
    let server = Sshd::start();
    let pool = pool(&server);
    let dir = tempfile::tempdir().unwrap();
    let cmd = r#"printf '%s|' "a  b" '$HOME' "$FOO"; pwd; echo "${GONE-unset}""#;
    let args = json!({"command": cmd, "cwd": dir.path(), "env": {"FOO": "it's \"quoted\" $(id)", "GONE": null}});
    let r = call(&pool, server.alias(), "shell", args).await;
    let real = dir.path().canonicalize().unwrap();
    let want = format!("a  b|$HOME|it's \"quoted\" $(id)|{}\nunset\n", real.display());
    assert_eq!(r["structuredContent"]["stdout"], want, "{r}");

    let r = call(&pool, server.alias(), "shell", json!({"command": "true", "cwd": dir.path().join("nope")})).await;
    assert!(is_error(&r) && text(&r).contains("nope: No such file or directory"), "{r}");
    let r = call(&pool, server.alias(), "shell", json!({"command": "true", "env": {"A-B": "x"}})).await;
    assert!(is_error(&r) && text(&r).contains("invalid arguments"), "{r}");
}

#[tokio::test]
async fn shell_timeout_kills_the_whole_group() {
    let server = Sshd::start();
    let pool = pool(&server);
    let r = call(&pool, server.alias(), "shell", json!({"command": "sleep 30 & echo $!; wait", "timeout": 1})).await;
    assert!(is_error(&r), "{r}");
    let s = &r["structuredContent"];
    assert_eq!(
        (s["timed_out"].clone(), s["signal"].clone(), s["exit_code"].clone()),
        (json!(true), json!(9), json!(137))
    );
    assert!(text(&r).contains("timed out after 1s") && text(&r).ends_with("exit code: 137"), "{r}");
    let grandchild = first_line_pid(&r);
    assert!(eventually(|| is_gone(grandchild)).await, "grandchild {grandchild} survived the timeout");
}

#[tokio::test]
async fn shell_leftovers_are_killed_after_the_grace() {
    let server = Sshd::start();
    let pool = pool(&server);
    let r = call(&pool, server.alias(), "shell", json!({"command": "sleep 30 & echo $!"})).await;
    assert!(!is_error(&r), "{r}");
    assert_eq!(r["structuredContent"]["exit_code"], 0);
    assert!(text(&r).contains("they were killed"), "{r}");
    let grandchild = first_line_pid(&r);
    assert!(eventually(|| is_gone(grandchild)).await, "leftover {grandchild} survived the call");
}

#[tokio::test]
async fn shell_output_is_capped_head_and_tail() {
    let server = Sshd::start();
    let pool = SshPool::new(SshConfig { output_cap: 64, ..config(&server) });
    let r = call(
        &pool,
        server.alias(),
        "shell",
        json!({"command": "i=0; while [ $i -lt 100 ]; do echo line$i; i=$((i+1)); done"}),
    )
    .await;
    let s = &r["structuredContent"];
    let stdout = s["stdout"].as_str().unwrap();
    assert!(stdout.starts_with("line0\n") && stdout.ends_with("line99\n"), "{r}");
    assert!(stdout.contains("bytes omitted ...]"), "{r}");
    assert_eq!((s["truncated"].clone(), s["stdout_bytes"].clone()), (json!(true), json!(690)));
}

#[tokio::test]
async fn dropping_a_call_kills_its_remote_processes() {
    let server = Sshd::start();
    let pool = pool(&server);
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let cmd = format!("sleep 60 & echo $! > '{}'; wait", pidfile.display());
    let (p, alias) = (pool.clone(), server.alias().to_owned());
    let task = tokio::spawn(async move { super::try_call(&p, &alias, "shell", json!({"command": cmd})).await });
    assert!(eventually(|| std::fs::read_to_string(&pidfile).is_ok_and(|s| s.ends_with('\n'))).await);
    let pid: i32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
    assert!(!is_gone(pid));
    task.abort();
    assert!(eventually(|| is_gone(pid)).await, "the remote sleep {pid} survived the dropped call");
}

#[tokio::test]
async fn a_hostile_command_and_paths_stay_data() {
    let server = Sshd::start();
    let pool = pool(&server);
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path().join("$(touch pwned)'; touch pwned; '");
    std::fs::create_dir(&cwd).unwrap();
    let cmd = r#"printf '%s\n' '$(touch pwned)' "$V"; pwd"#;
    let args = json!({"command": cmd, "cwd": cwd, "env": {"V": "`touch pwned`; $(touch pwned)"}});
    let r = call(&pool, server.alias(), "shell", args).await;
    let want = format!("$(touch pwned)\n`touch pwned`; $(touch pwned)\n{}\n", cwd.canonicalize().unwrap().display());
    assert_eq!(r["structuredContent"]["stdout"], want, "{r}");
    let home = call(&pool, server.alias(), "shell", json!({"command": "echo \"$HOME\""})).await;
    let home = home["structuredContent"]["stdout"].as_str().unwrap().trim().to_owned();
    for place in [dir.path(), cwd.as_path(), std::path::Path::new(&home)] {
        assert!(!place.join("pwned").exists(), "something ran `touch pwned` in {}", place.display());
    }
}
