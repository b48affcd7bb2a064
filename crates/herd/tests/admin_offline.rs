//! `herd user`, `herd token` and `herd audit` on the hub's machine
//! (`--home DIR`): the real binary against the state database in a temp
//! directory, with audit records written by herd-store as a hub would.

#![allow(clippy::unwrap_used)]

mod support;

use herd_store::{AuditPath, AuditRecord, Outcome, Store, Timestamp, hash_secret};
use serde_json::Value;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use support::{Finished, herd_bin, run_bounded};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

async fn herd(home: &Path, args: &[&str]) -> Finished {
    let mut cmd = Command::new(herd_bin());
    cmd.args(args).arg("--home").arg(home).env_remove("HERD_URL").env_remove("HERD_TOKEN");
    run_bounded(cmd, Duration::from_secs(60)).await
}

async fn ok(home: &Path, args: &[&str]) -> String {
    let run = herd(home, args).await;
    assert!(run.status.success(), "herd {args:?} failed: {run:?}");
    run.stdout
}

async fn refused(home: &Path, args: &[&str]) -> String {
    let run = herd(home, args).await;
    assert!(!run.status.success(), "herd {args:?} should have failed: {run:?}");
    run.stderr
}

async fn store(home: &Path) -> Store {
    Store::open(herd_store::default_path(home).to_str().unwrap()).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn users_and_tokens_are_managed_offline() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    assert!(refused(home, &["user", "list"]).await.contains("no herd state at"));

    let added =
        ok(home, &["user", "add", "alice", "--role", "operator", "--hosts", "gpu*,@lab", "--tools", "read_*"]).await;
    assert_eq!(added.trim(), "added user alice (operator; hosts gpu*,@lab; tools read_*)");
    assert!(refused(home, &["user", "add", "bob", "--role", "root"]).await.contains("unknown role \"root\""));
    let bad_grant = refused(home, &["user", "add", "bob", "--role", "viewer", "--hosts", "gpu 1"]).await;
    assert!(bad_grant.contains("--hosts: host pattern \"gpu 1\""), "{bad_grant}");
    assert!(refused(home, &["user", "add", "alice", "--role", "viewer"]).await.contains("already exists"));
    ok(home, &["user", "add", "root", "--role", "admin"]).await;

    let table = ok(home, &["user", "list"]).await;
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("NAME") && lines[0].contains("ROLE") && lines[0].contains("STATE"), "{table}");
    assert!(lines[1].starts_with("alice") && lines[1].contains("gpu*,@lab") && lines[1].contains("enabled"), "{table}");
    assert_eq!(lines.len(), 3, "{table}");

    let changed = ok(home, &["user", "set", "alice", "--role", "viewer", "--hosts", "*"]).await;
    assert_eq!(changed.trim(), "changed user alice (viewer; hosts *; tools read_*)");
    assert!(refused(home, &["user", "set", "alice"]).await.contains("nothing to change"));
    assert!(refused(home, &["user", "set", "nobody", "--role", "viewer"]).await.contains("not found"));
    let last = refused(home, &["user", "disable", "root"]).await;
    assert!(last.contains("cannot disable or demote the last enabled admin; add another admin first"), "{last}");
    assert!(refused(home, &["user", "set", "root", "--role", "operator"]).await.contains("last enabled admin"));

    let create = herd(home, &["token", "create", "--user", "alice", "--label", "laptop", "--expires", "30d"]).await;
    assert!(create.status.success(), "{create:?}");
    let secret = create.stdout.trim();
    assert!(secret.starts_with("herd_") && !secret.contains('\n'), "stdout is the secret alone: {create:?}");
    assert!(create.stderr.contains("shown only this once") && !create.stderr.contains(secret), "{create:?}");
    let (token, user) = store(home).await.token_by_hash(&hash_secret(secret)).await.unwrap().unwrap();
    assert_eq!((user.name.as_str(), token.label.as_deref()), ("alice", Some("laptop")));
    assert!(token.expires_at.is_some());

    let list = ok(home, &["token", "list"]).await;
    assert!(list.contains(&token.id) && list.contains("laptop") && list.contains("active"), "{list}");
    assert!(!list.contains(secret), "a listing never shows the secret");
    assert!(refused(home, &["token", "create", "--user", "alice", "--expires", "soon"]).await.contains("--expires"));

    assert_eq!(
        ok(home, &["token", "revoke", &token.id]).await.trim(),
        format!("revoked token {} of user alice", token.id)
    );
    let listed: Value = serde_json::from_str(&ok(home, &["token", "list", "--user", "alice", "--json"]).await).unwrap();
    assert_eq!(listed[0]["status"], "revoked", "{listed}");
    assert!(refused(home, &["token", "revoke", "tok_nope"]).await.contains("not found"));

    ok(home, &["user", "disable", "alice"]).await;
    let users: Value = serde_json::from_str(&ok(home, &["user", "list", "--json"]).await).unwrap();
    assert_eq!((&users[0]["name"], &users[0]["disabled"]), (&Value::from("alice"), &Value::from(true)), "{users}");
    assert!(refused(home, &["token", "create", "--user", "alice"]).await.contains("disabled"));
    ok(home, &["user", "set", "alice", "--enable"]).await;
    ok(home, &["token", "create", "--user", "alice"]).await;
}

fn record(user: &str, host: &str, tool: &str, outcome: Outcome, age: Duration) -> AuditRecord {
    let mut r = AuditRecord::new(Timestamp::now().saturating_sub(age), "tools/call", outcome);
    r.user = Some(user.into());
    r.hosts = vec![host.into()];
    r.target = Some(tool.into());
    r.path = Some(AuditPath::Agent);
    r.duration_ms = 12;
    r
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn audit_is_listed_filtered_and_followed_offline() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let store = store(home).await;
    let hour = Duration::from_secs(3600);
    let records = [
        record("alice", "gpu1", "remote_shell", Outcome::Ok, 2 * hour),
        record("bob", "gpu2", "remote_shell", Outcome::Denied, Duration::ZERO),
        record("alice", "gpu2", "remote_read_file", Outcome::ToolError, Duration::ZERO),
    ];
    store.append_audit(&records.iter().collect::<Vec<_>>()).await.unwrap();

    let table = ok(home, &["audit"]).await;
    assert!(table.lines().next().unwrap().starts_with("TIME") && table.lines().count() == 4, "{table}");
    assert!(table.contains("remote_read_file") && table.contains("tool_error"), "{table}");

    let alice = json_lines(&ok(home, &["audit", "--user", "alice", "--json"]).await);
    assert_eq!(alice.len(), 2);
    assert!(alice.iter().all(|r| r["user.name"] == "alice" && r["mcp.method.name"] == "tools/call"), "{alice:?}");
    assert_eq!(alice[0]["gen_ai.tool.name"], "remote_shell", "oldest first");
    let denied = json_lines(
        &ok(home, &["audit", "--host", "gpu2", "--tool", "remote_shell", "--outcome", "denied", "--json"]).await,
    );
    assert_eq!((denied.len(), &denied[0]["user.name"]), (1, &Value::from("bob")));
    assert_eq!(json_lines(&ok(home, &["audit", "--since", "1h", "--json"]).await).len(), 2);
    let until = Timestamp::now().saturating_sub(hour).to_string();
    assert_eq!(json_lines(&ok(home, &["audit", "--until", &until, "--json"]).await).len(), 1);
    let newest = json_lines(&ok(home, &["audit", "--limit", "1", "--json"]).await);
    assert_eq!((newest.len(), &newest[0]["gen_ai.tool.name"]), (1, &Value::from("remote_read_file")));
    assert!(refused(home, &["audit", "--outcome", "maybe"]).await.contains("--outcome"));
    assert!(refused(home, &["audit", "--since", "yesterday"]).await.contains("--since"));

    let mut follow = Command::new(herd_bin())
        .args(["audit", "--user", "alice", "--json", "--follow", "--home"])
        .arg(home)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(follow.stdout.take().unwrap()).lines();
    let mut next = async || {
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await;
        serde_json::from_str::<Value>(&line.expect("a line in time").unwrap().expect("still running")).unwrap()
    };
    assert_eq!(next().await["herd.hosts"][0], "gpu1");
    assert_eq!(next().await["herd.hosts"][0], "gpu2");
    let later = [
        record("bob", "gpu3", "remote_shell", Outcome::Ok, Duration::ZERO),
        record("alice", "gpu4", "remote_shell", Outcome::Ok, Duration::ZERO),
    ];
    store.append_audit(&later.iter().collect::<Vec<_>>()).await.unwrap();
    let new = next().await;
    assert_eq!((&new["user.name"], &new["herd.hosts"][0]), (&Value::from("alice"), &Value::from("gpu4")));
    store.append_audit(&[&record("alice", "gpu5", "remote_shell", Outcome::Ok, Duration::ZERO)]).await.unwrap();
    assert_eq!(next().await["herd.hosts"][0], "gpu5", "each new record is printed once, in order");
    follow.kill().await.unwrap();
}
