//! `herd user`, `herd token` and `herd audit` against a real `herd hub`
//! (`HERD_URL`, `HERD_TOKEN`) on loopback: the hub's own authentication
//! turns each bearer token into its principal; only an admin's gets
//! through, and a revoked token or a disabled user is refused on the next
//! request.

#![allow(clippy::unwrap_used)]

mod support;

use herd_store::{AuditRecord, Outcome, Store, Timestamp};
use serde_json::Value;
use std::time::Duration;
use support::{Finished, Herd, herd_bin, run_bounded};
use tokio::process::Command;

/// The token the hub is started with: it becomes the first admin's.
const ADMIN: &str = "the-hubs-own-admin-token";

struct Hub {
    herd: Herd,
    home: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

async fn hub() -> Hub {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let config = dir.path().join("hosts.toml");
    std::fs::write(&config, "[[hosts]]\nname = \"gone\"\nurl = \"http://127.0.0.1:9/mcp\"\n").unwrap();
    let args = ["hub", "--config", config.to_str().unwrap(), "--listen", "127.0.0.1:0"];
    let env = [("HERD_TOKEN", ADMIN), ("HERD_HOME", home.to_str().unwrap())];
    let herd = Herd::start_with_env(&args, &env).await;
    Hub { herd, home, _dir: dir }
}

impl Hub {
    /// Runs `herd ARGS` against the hub with `token` (none: no token at all).
    async fn herd(&self, token: Option<&str>, args: &[&str]) -> Finished {
        let empty_home = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(herd_bin());
        cmd.args(args).env("HERD_URL", &self.herd.url).env("HERD_HOME", empty_home.path()).env_remove("HERD_TOKEN");
        if let Some(token) = token {
            cmd.env("HERD_TOKEN", token);
        }
        run_bounded(cmd, Duration::from_secs(60)).await
    }

    async fn ok_as(&self, token: &str, args: &[&str]) -> String {
        let run = self.herd(Some(token), args).await;
        assert!(run.status.success(), "herd {args:?} failed: {run:?}");
        run.stdout
    }

    async fn ok(&self, args: &[&str]) -> String {
        self.ok_as(ADMIN, args).await
    }

    async fn refused_as(&self, token: Option<&str>, args: &[&str]) -> String {
        let run = self.herd(token, args).await;
        assert!(!run.status.success(), "herd {args:?} should have been refused: {run:?}");
        run.stderr
    }

    /// A new token of `user`, made through the API.
    async fn token_of(&self, user: &str) -> String {
        self.ok(&["token", "create", "--user", user]).await.trim().to_owned()
    }

    async fn store(&self) -> Store {
        Store::open(herd_store::default_path(&self.home).to_str().unwrap()).await.unwrap()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_manages_users_tokens_and_audit_through_the_hub() {
    let hub = hub().await;
    hub.ok(&["user", "add", "alice", "--role", "operator", "--hosts", "gpu*,@lab"]).await;
    let users: Value = serde_json::from_str(&hub.ok(&["user", "list", "--json"]).await).unwrap();
    let names: Vec<&str> = users.as_array().unwrap().iter().map(|u| u["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["admin", "alice"], "the hub's token made the first admin: {users}");
    assert_eq!(users[1]["hosts"], serde_json::json!(["gpu*", "@lab"]), "{users}");
    let dup = hub.refused_as(Some(ADMIN), &["user", "add", "alice", "--role", "viewer"]).await;
    assert!(dup.contains("already exists (HTTP 409)"), "{dup}");

    let secret = hub.token_of("alice").await;
    assert!(secret.starts_with("herd_"), "{secret}");
    let tokens: Value = serde_json::from_str(&hub.ok(&["token", "list", "--user", "alice", "--json"]).await).unwrap();
    assert_eq!((tokens[0]["user"].as_str(), tokens[0]["status"].as_str()), (Some("alice"), Some("active")));
    assert!(!tokens.to_string().contains(&secret), "a listing never shows the secret");
    hub.ok(&["token", "revoke", tokens[0]["id"].as_str().unwrap()]).await;
    hub.ok(&["user", "set", "alice", "--tools", "read_*"]).await;
    hub.ok(&["user", "disable", "alice"]).await;

    let mut r = AuditRecord::new(Timestamp::now(), "tools/call", Outcome::Denied);
    r.user = Some("alice".into());
    r.target = Some("remote_shell".into());
    hub.store().await.append_audit(&[&r]).await.unwrap();
    let lines = hub.ok(&["audit", "--user", "alice", "--since", "1h", "--json"]).await;
    let record: Value = serde_json::from_str(lines.trim()).unwrap();
    assert_eq!((&record["herd.outcome"], &record["gen_ai.tool.name"]), (&"denied".into(), &"remote_shell".into()));
    assert!(hub.ok(&["audit", "--user", "alice", "--outcome", "ok", "--json"]).await.is_empty());

    let last = hub.refused_as(Some(ADMIN), &["user", "disable", "admin"]).await;
    assert!(last.contains("cannot disable or demote the last enabled admin; add another admin first (HTTP 409)"));
    let changes = hub.ok(&["audit", "--user", "admin", "--json"]).await;
    let methods: Vec<Value> =
        changes.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()["mcp.method.name"].clone()).collect();
    assert_eq!(
        methods,
        [
            "admin/users.add",
            "admin/users.add",
            "admin/tokens.create",
            "admin/tokens.revoke",
            "admin/users.set",
            "admin/users.disable",
            "admin/users.disable"
        ],
        "{changes}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn only_an_admin_gets_through() {
    let hub = hub().await;
    for role in ["operator", "viewer", "agent"] {
        hub.ok(&["user", "add", role, "--role", role]).await;
        let token = hub.token_of(role).await;
        for args in [&["user", "add", "mallory", "--role", "admin"][..], &["token", "list"], &["audit"]] {
            let refused = hub.refused_as(Some(&token), args).await;
            assert!(
                refused.contains("permission denied") && refused.contains("(HTTP 403)"),
                "{role} {args:?}: {refused}"
            );
        }
    }
    let unknown = hub.refused_as(Some("herd_not-a-token-of-this-hub"), &["token", "list"]).await;
    assert!(unknown.contains("refused the credentials"), "{unknown}");
    let none = hub.refused_as(None, &["audit"]).await;
    assert!(none.contains("no token: set HERD_TOKEN"), "{none}");
    let users: Value = serde_json::from_str(&hub.ok(&["user", "list", "--json"]).await).unwrap();
    assert!(!users.to_string().contains("mallory"), "nothing was done: {users}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revoked_token_and_a_disabled_user_are_refused_on_the_next_request() {
    let hub = hub().await;
    hub.ok(&["user", "add", "bob", "--role", "admin"]).await;
    let first = hub.token_of("bob").await;
    let second = hub.token_of("bob").await;
    hub.ok_as(&first, &["user", "list"]).await;
    hub.ok_as(&second, &["user", "list"]).await;

    let tokens: Value = serde_json::from_str(&hub.ok(&["token", "list", "--user", "bob", "--json"]).await).unwrap();
    let first_id = tokens[0]["id"].as_str().unwrap();
    hub.ok(&["token", "revoke", first_id]).await;
    let revoked = hub.refused_as(Some(&first), &["user", "list"]).await;
    assert!(revoked.contains("refused the credentials"), "{revoked}");
    hub.ok_as(&second, &["user", "list"]).await;

    hub.ok(&["user", "disable", "bob"]).await;
    let disabled = hub.refused_as(Some(&second), &["user", "list"]).await;
    assert!(disabled.contains("refused the credentials"), "{disabled}");
    hub.ok(&["user", "set", "bob", "--role", "viewer", "--enable"]).await;
    let demoted = hub.refused_as(Some(&second), &["user", "list"]).await;
    assert!(demoted.contains("(HTTP 403)"), "bob is a viewer now: {demoted}");
}
