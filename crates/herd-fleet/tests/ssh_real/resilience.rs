//! Connections over SSH: reused between calls, made once for concurrent
//! first callers, remade after `forget`; hosts that refuse, never answer or
//! stall fail within their bounds without slowing calls to other hosts.

use super::sshd::{Sshd, free_port};
use super::{call, config, is_error, pool, try_call};
use herd_fleet::{SshConfig, SshError, SshPool};
use serde_json::json;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

#[tokio::test]
async fn calls_reuse_one_connection_per_destination() {
    let server = Sshd::start();
    let pool = pool(&server);
    let first = Instant::now();
    let r = call(&pool, server.alias(), "shell", json!({"command": "true"})).await;
    let cold = first.elapsed();
    assert!(!is_error(&r), "{r}");
    let second = Instant::now();
    call(&pool, server.alias(), "read_file", json!({"path": server.config_file()})).await;
    let warm = second.elapsed();
    assert_eq!(server.logins(), 1, "the second call logged in again:\n{}", server.log());
    assert!(warm < cold, "warm {warm:?} should beat cold {cold:?}");

    // Concurrent first calls on another destination share one connect, and
    // more calls than sshd's MaxSessions (10) queue instead of failing.
    let other = server.other_alias();
    let calls = (0..16).map(|i| call(&pool, &other, "shell", json!({"command": format!("echo {i}")})));
    for (i, r) in futures_util::future::join_all(calls).await.iter().enumerate() {
        assert_eq!(r["structuredContent"]["stdout"], format!("{i}\n"), "{r}");
    }
    assert_eq!(server.logins(), 2, "concurrent first calls connected more than once:\n{}", server.log());

    pool.forget(server.alias());
    call(&pool, server.alias(), "shell", json!({"command": "true"})).await;
    assert_eq!(server.logins(), 3, "forget should drop the connection");
}

#[tokio::test]
async fn refused_and_silent_hosts_fail_within_their_bounds() {
    let server = Sshd::start();
    let refused_port = free_port();
    server.add_alias("refused", refused_port);
    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    server.add_alias("silent", silent.local_addr().unwrap().port());
    let held = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let pool = SshPool::new(SshConfig { connect_timeout: Duration::from_secs(1), ..config(&server) });
    let args = json!({"command": "true"});

    let started = Instant::now();
    let e = try_call(&pool, "refused", "shell", args.clone()).await.unwrap_err();
    assert!(matches!(e, SshError::Connect { .. }), "{e}");
    assert!(e.to_string().starts_with("ssh refused: cannot connect: ") && e.to_string().contains("refused"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(3), "refusal took {:?}", started.elapsed());

    // While the silent host holds its callers, a healthy host answers at once.
    let started = Instant::now();
    let silent_call = try_call(&pool, "silent", "shell", args.clone());
    let healthy = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let t = Instant::now();
        call(&pool, server.alias(), "shell", args.clone()).await;
        t.elapsed()
    };
    let (silent_result, healthy_took) = tokio::join!(silent_call, healthy);
    let e = silent_result.unwrap_err();
    assert!(matches!(e, SshError::ConnectTimeout { .. }), "{e}");
    assert!(e.to_string().starts_with("ssh silent: connect timed out after 1s"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(4), "the silent host took {:?}", started.elapsed());
    assert!(healthy_took < Duration::from_secs(2), "the healthy host waited {healthy_took:?}");
    held.abort();
}

#[tokio::test]
async fn a_stalled_host_hits_the_hard_cap_and_the_connection_is_replaced() {
    let server = Sshd::start();
    let pool = SshPool::new(SshConfig { call_timeout: Duration::from_secs(1), ..config(&server) });
    call(&pool, server.alias(), "shell", json!({"command": "true"})).await;
    // The host stops answering: the connection stays up but nothing replies.
    server.signal("STOP");
    let thaw = Thaw(&server);
    let started = Instant::now();
    let e = try_call(&pool, server.alias(), "read_file", json!({"path": "/etc/hostname"})).await.unwrap_err();
    assert!(matches!(e, SshError::Timeout { .. }), "{e}");
    assert!(e.to_string().starts_with("ssh herd-test-sshd: read_file gave no result within 1s"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(3), "the cap took {:?}", started.elapsed());
    drop(thaw);
    // The next call does not reuse the stalled connection.
    let r = call(&pool, server.alias(), "shell", json!({"command": "echo ok"})).await;
    assert_eq!(r["structuredContent"]["stdout"], "ok\n", "{r}");
    assert_eq!(server.logins(), 2, "{}", server.log());
}

/// Resumes a stopped server when dropped, even if the test failed.
struct Thaw<'a>(&'a Sshd);

impl Drop for Thaw<'_> {
    fn drop(&mut self) {
        self.0.signal("CONT");
    }
}

#[tokio::test]
async fn a_chatty_login_shell_does_not_leak_into_results() {
    // Startup files that print: ForceCommand runs before the real command.
    let server =
        Sshd::start_with("ForceCommand printf 'motd out'; echo; echo 'motd err' >&2; eval \"$SSH_ORIGINAL_COMMAND\"");
    let pool = pool(&server);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    std::fs::write(&path, "exact\n").unwrap();
    let r = call(&pool, server.alias(), "read_file", json!({"path": path})).await;
    assert_eq!(r["structuredContent"]["content"], "exact\n", "{r}");
    let r = call(&pool, server.alias(), "shell", json!({"command": "echo out; echo err >&2"})).await;
    let s = &r["structuredContent"];
    assert_eq!((s["stdout"].clone(), s["stderr"].clone()), (json!("out\n"), json!("err\n")), "{r}");
}

#[tokio::test]
async fn a_lost_connection_fails_the_call_and_the_next_call_reconnects() {
    let server = Sshd::start();
    let pool = pool(&server);
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("started");
    let cmd = format!("touch '{}'; sleep 30", marker.display());
    let (p, alias) = (pool.clone(), server.alias().to_owned());
    let running = tokio::spawn(async move { try_call(&p, &alias, "shell", json!({"command": cmd})).await });
    assert!(super::eventually(|| marker.exists()).await, "the command never started");
    server.drop_connections();
    let e = tokio::time::timeout(Duration::from_secs(5), running).await.unwrap().unwrap().unwrap_err();
    assert!(matches!(e, SshError::Disconnected { .. }), "{e}");
    assert!(e.to_string().starts_with("ssh herd-test-sshd: connection lost during shell"), "{e}");
    let r = call(&pool, server.alias(), "shell", json!({"command": "echo back"})).await;
    assert_eq!(r["structuredContent"]["stdout"], "back\n", "{r}");
    assert_eq!(server.logins(), 2, "{}", server.log());
}
