//! `herd user`, `herd token` and `herd audit` against a hub's admin API
//! (`HERD_URL`, `HERD_TOKEN`): the real binary against a real HTTP server
//! on loopback serving `herd_admin::routes`, behind a layer that turns the
//! bearer token into the principal the hub's transport would put in the
//! request (an admin, a viewer, or nobody).

#![allow(clippy::unwrap_used)]

mod support;

use axum::extract::Request;
use axum::middleware::Next;
use herd_auth::{Grant, Identity, Principal, Role, TokenId, UserId};
use herd_store::{AuditRecord, Outcome, Store, Timestamp, hash_secret};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use support::{Finished, herd_bin, run_bounded};
use tokio::process::Command;

const ADMIN: &str = "admin-secret-token";
const VIEWER: &str = "viewer-secret-token";

fn principal(role: Role) -> Principal {
    let identity = Identity::User { user_id: UserId(1), name: role.to_string(), token_id: TokenId(1) };
    Principal::new(identity, role, Grant::all())
}

/// What the transport does for routes beside `/mcp`: a known token becomes
/// its principal; anything else gets none.
async fn authenticate(mut request: Request, next: Next) -> axum::response::Response {
    let bearer = request.headers().get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned);
    match bearer.as_deref() {
        Some(b) if b == format!("Bearer {ADMIN}") => request.extensions_mut().insert(principal(Role::Admin)),
        Some(b) if b == format!("Bearer {VIEWER}") => request.extensions_mut().insert(principal(Role::Viewer)),
        _ => None,
    };
    next.run(request).await
}

struct Hub {
    url: String,
    store: Store,
    revoked: Arc<parking_lot::Mutex<Vec<String>>>,
    _dir: tempfile::TempDir,
}

async fn hub() -> Hub {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("herd.db").to_str().unwrap()).await.unwrap();
    let revoked = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let seen = revoked.clone();
    let hook: herd_admin::OnRevoke = Arc::new(move |what| seen.lock().push(format!("{what:?}")));
    let app = herd_admin::routes(store.clone(), hook).layer(axum::middleware::from_fn(authenticate));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Hub { url, store, revoked, _dir: dir }
}

impl Hub {
    async fn herd(&self, token: Option<&str>, args: &[&str]) -> Finished {
        let empty_home = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(herd_bin());
        cmd.args(args).env("HERD_URL", &self.url).env("HERD_HOME", empty_home.path()).env_remove("HERD_TOKEN");
        if let Some(token) = token {
            cmd.env("HERD_TOKEN", token);
        }
        run_bounded(cmd, Duration::from_secs(60)).await
    }

    async fn ok(&self, args: &[&str]) -> String {
        let run = self.herd(Some(ADMIN), args).await;
        assert!(run.status.success(), "herd {args:?} failed: {run:?}");
        run.stdout
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_manages_users_tokens_and_audit_through_the_hub() {
    let hub = hub().await;
    hub.ok(&["user", "add", "alice", "--role", "operator", "--hosts", "gpu*,@lab"]).await;
    let users: Value = serde_json::from_str(&hub.ok(&["user", "list", "--json"]).await).unwrap();
    assert_eq!(users[0]["hosts"], serde_json::json!(["gpu*", "@lab"]), "{users}");
    let dup = hub.herd(Some(ADMIN), &["user", "add", "alice", "--role", "viewer"]).await;
    assert!(!dup.status.success() && dup.stderr.contains("already exists (HTTP 409)"), "{dup:?}");

    let secret = hub.ok(&["token", "create", "--user", "alice", "--expires", "12h"]).await;
    let (token, _) = hub.store.token_by_hash(&hash_secret(secret.trim())).await.unwrap().unwrap();
    assert!(hub.ok(&["token", "list"]).await.contains(&token.id));
    hub.ok(&["token", "revoke", &token.id]).await;
    hub.ok(&["user", "set", "alice", "--tools", "read_*"]).await;
    hub.ok(&["user", "disable", "alice"]).await;
    let told = hub.revoked.lock().clone();
    assert_eq!(
        told,
        [
            format!("Token({:?})", token.id),
            "User { id: 1, name: \"alice\" }".into(),
            "User { id: 1, name: \"alice\" }".into()
        ]
    );

    let mut r = AuditRecord::new(Timestamp::now(), "tools/call", Outcome::Denied);
    r.user = Some("alice".into());
    r.target = Some("remote_shell".into());
    hub.store.append_audit(&[&r]).await.unwrap();
    let lines = hub.ok(&["audit", "--user", "alice", "--since", "1h", "--json"]).await;
    let record: Value = serde_json::from_str(lines.trim()).unwrap();
    assert_eq!((&record["herd.outcome"], &record["gen_ai.tool.name"]), (&"denied".into(), &"remote_shell".into()));
    assert!(hub.ok(&["audit", "--outcome", "ok", "--json"]).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn only_an_admin_gets_through() {
    let hub = hub().await;
    let viewer = hub.herd(Some(VIEWER), &["user", "add", "mallory", "--role", "admin"]).await;
    assert!(!viewer.status.success(), "{viewer:?}");
    assert!(viewer.stderr.contains("permission denied: admin role required (HTTP 403)"), "{viewer:?}");
    let nobody = hub.herd(Some("some-other-token"), &["token", "list"]).await;
    assert!(!nobody.status.success() && nobody.stderr.contains("refused the credentials"), "{nobody:?}");
    let no_token = hub.herd(None, &["audit"]).await;
    assert!(!no_token.status.success() && no_token.stderr.contains("no token: set HERD_TOKEN"), "{no_token:?}");
    assert_eq!(hub.store.count_users().await.unwrap(), 0);
}
