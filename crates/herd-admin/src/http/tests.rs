use crate::{Invalidated, OnRevoke, routes};
use axum::body::Body;
use herd_auth::{Grant, Identity, Principal, Role, TokenId, UserId};
use herd_store::{AuditConfig, AuditFilter, AuditRecord, Outcome, Store, Timestamp};
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use tower::ServiceExt as _;

/// What the revoke hook was told, in order.
#[derive(Clone, Default)]
struct Log(std::sync::Arc<parking_lot::Mutex<Vec<String>>>);

impl Log {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock())
    }
}

fn principal(role: Role) -> Principal {
    let identity =
        Identity::User { user_id: UserId(1), name: format!("the-{role}"), token_id: TokenId("tok_1".into()) };
    Principal::new(identity, role, Grant::all())
}

struct Api {
    app: axum::Router,
    store: Store,
    revoked: Log,
    _dir: tempfile::TempDir,
}

async fn api() -> Api {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("herd.db").to_str().unwrap()).await.unwrap();
    let revoked = Log::default();
    let log = revoked.clone();
    let hook: OnRevoke = std::sync::Arc::new(move |what: Invalidated<'_>| {
        log.0.lock().push(format!("{what:?}"));
    });
    let app = routes(store.clone(), hook, store.audit_writer(&AuditConfig::default()));
    Api { app, store, revoked, _dir: dir }
}

impl Api {
    /// Sends a request as `who` (no principal at all for `None`); the
    /// status and the body (JSON when it parses, else a string).
    async fn send(&self, who: Option<Role>, method: Method, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
        let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
        self.send_raw(who, method, uri, body).await
    }

    async fn send_raw(&self, who: Option<Role>, method: Method, uri: &str, body: Body) -> (StatusCode, Value) {
        let (status, text) = self.send_text(who, method, uri, body).await;
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    async fn send_text(&self, who: Option<Role>, method: Method, uri: &str, body: Body) -> (StatusCode, String) {
        let mut request = Request::builder().method(method).uri(uri).body(body).unwrap();
        if let Some(role) = who {
            request.extensions_mut().insert(principal(role));
        }
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    }

    async fn admin(&self, method: Method, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.send(Some(Role::Admin), method, uri, body).await
    }
}

const ROUTES: [(Method, &str); 8] = [
    (Method::GET, "/api/v1/users"),
    (Method::POST, "/api/v1/users"),
    (Method::PATCH, "/api/v1/users/alice"),
    (Method::POST, "/api/v1/users/alice/disable"),
    (Method::GET, "/api/v1/tokens"),
    (Method::POST, "/api/v1/tokens"),
    (Method::DELETE, "/api/v1/tokens/tok_x"),
    (Method::GET, "/api/v1/audit"),
];

#[tokio::test]
async fn without_a_principal_every_route_is_401() {
    let api = api().await;
    for (method, uri) in ROUTES {
        let body = json!({"name": "alice", "role": "admin", "user": "alice"});
        let (status, reply) = api.send(None, method.clone(), uri, Some(body)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {uri}: {reply}");
        assert_eq!(reply["error"]["type"], "unauthorized", "{method} {uri}: {reply}");
    }
    assert_eq!(api.store.count_users().await.unwrap(), 0, "nothing was done");
}

#[tokio::test]
async fn non_admins_are_403_naming_the_missing_permission() {
    let api = api().await;
    for role in [Role::Operator, Role::Viewer, Role::Agent] {
        for (method, uri) in ROUTES {
            let body = json!({"name": "alice", "role": "admin", "user": "alice"});
            let (status, reply) = api.send(Some(role), method.clone(), uri, Some(body)).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{role} {method} {uri}: {reply}");
            assert_eq!(reply["error"]["type"], "permission_denied");
            let missing = match role {
                Role::Agent => "role agent may only connect an agent channel or join the fleet",
                _ => "admin role required",
            };
            assert_eq!(reply["error"]["message"], format!("permission denied: {missing}"));
        }
    }
    assert_eq!(api.store.count_users().await.unwrap(), 0, "nothing was done");
}

#[tokio::test]
async fn an_admin_adds_changes_and_disables_users() {
    let api = api().await;
    let add = json!({"name": "alice", "role": "operator", "hosts": ["gpu*", "@lab"], "tools": ["read_*"]});
    let (status, user) = api.admin(Method::POST, "/api/v1/users", Some(add.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    assert_eq!(
        (&user["name"], &user["role"], &user["hosts"]),
        (&json!("alice"), &json!("operator"), &json!(["gpu*", "@lab"]))
    );

    let (status, reply) = api.admin(Method::POST, "/api/v1/users", Some(add)).await;
    assert_eq!((status, &reply["error"]["type"]), (StatusCode::CONFLICT, &json!("conflict")), "{reply}");

    let bad_role = json!({"name": "bob", "role": "root"});
    let (status, reply) = api.admin(Method::POST, "/api/v1/users", Some(bad_role)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(reply["error"]["message"], "unknown role \"root\": use admin, operator, viewer or agent");
    let bad_grant = json!({"name": "bob", "role": "viewer", "hosts": ["gpu 1"]});
    let (status, reply) = api.admin(Method::POST, "/api/v1/users", Some(bad_grant)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(reply["error"]["message"].as_str().unwrap().starts_with("host pattern \"gpu 1\""), "{reply}");

    let change = json!({"role": "viewer", "hosts": ["*"]});
    let (status, user) = api.admin(Method::PATCH, "/api/v1/users/alice", Some(change)).await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!((&user["role"], &user["hosts"], &user["tools"]), (&json!("viewer"), &json!([]), &json!(["read_*"])));
    let (status, user) = api.admin(Method::POST, "/api/v1/users/alice/disable", None).await;
    assert_eq!((status, &user["disabled"]), (StatusCode::OK, &json!(true)));
    assert_eq!(
        api.revoked.take(),
        ["User { id: 1, name: \"alice\" }"; 2],
        "both changes made alice's principals stale"
    );

    let (status, reply) = api.admin(Method::PATCH, "/api/v1/users/nobody", Some(json!({"role": "viewer"}))).await;
    assert_eq!((status, &reply["error"]["type"]), (StatusCode::NOT_FOUND, &json!("not_found")));
    let (_, list) = api.admin(Method::GET, "/api/v1/users", None).await;
    assert_eq!(list["users"].as_array().unwrap().len(), 1, "{list}");
}

#[tokio::test]
async fn a_token_secret_appears_only_in_the_create_answer() {
    let api = api().await;
    api.admin(Method::POST, "/api/v1/users", Some(json!({"name": "bob", "role": "viewer"}))).await;
    let create = json!({"user": "bob", "label": "laptop", "expires": "30d"});
    let (status, created) = api.admin(Method::POST, "/api/v1/tokens", Some(create)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let secret = created["secret"].as_str().unwrap();
    assert!(secret.starts_with("herd_"), "{created}");
    let id = created["token"]["id"].as_str().unwrap().to_owned();
    assert_eq!((&created["token"]["user"], &created["token"]["status"]), (&json!("bob"), &json!("active")));
    let expires: Timestamp = serde_json::from_value(created["token"]["expires_at"].clone()).unwrap();
    let days = (expires.unix_millis() - Timestamp::now().unix_millis()) / 86_400_000;
    assert!((29..=30).contains(&days), "{created}");

    let (_, list) = api.admin(Method::GET, "/api/v1/tokens?user=bob", None).await;
    assert_eq!(list["tokens"][0]["id"], id.as_str());
    assert!(!list.to_string().contains(secret), "a listing never shows the secret");

    let (status, revoked) = api.admin(Method::DELETE, &format!("/api/v1/tokens/{id}"), None).await;
    assert_eq!((status, &revoked["status"]), (StatusCode::OK, &json!("revoked")), "{revoked}");
    assert_eq!(api.revoked.take(), [format!("Token({id:?})")]);
    let (status, _) = api.admin(Method::DELETE, "/api/v1/tokens/tok_nope", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let bad = json!({"user": "bob", "expires": "soon"});
    let (status, reply) = api.admin(Method::POST, "/api/v1/tokens", Some(bad)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(reply["error"]["message"].as_str().unwrap().starts_with("expires: \"soon\" is not a duration"), "{reply}");
    let (status, _) = api.admin(Method::POST, "/api/v1/tokens", Some(json!({"user": "carol"}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = api.admin(Method::GET, "/api/v1/tokens?user=carol", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn audit_is_ndjson_filtered_and_followed_by_id() {
    let api = api().await;
    let now = Timestamp::now();
    let mut records = Vec::new();
    for (user, outcome) in [("alice", Outcome::Ok), ("bob", Outcome::Denied), ("alice", Outcome::ToolError)] {
        let mut r = AuditRecord::new(now, "tools/call", outcome);
        r.user = Some(user.into());
        r.target = Some("remote_shell".into());
        r.hosts = vec!["gpu1".into()];
        records.push(r);
    }
    api.store.append_audit(&records.iter().collect::<Vec<_>>()).await.unwrap();

    let api = &api;
    let audit = |query: String| async move {
        api.send_text(Some(Role::Admin), Method::GET, &format!("/api/v1/audit?{query}"), Body::empty()).await
    };
    let (status, body) = audit("user=alice&since=1h".into()).await;
    assert_eq!(status, StatusCode::OK);
    let lines: Vec<Value> = body.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2, "{body}");
    assert_eq!((&lines[0]["user.name"], &lines[1]["herd.outcome"]), (&json!("alice"), &json!("tool_error")));
    let first = lines[0]["id"].as_i64().unwrap();
    let (_, after) = audit(format!("after_id={first}&outcome=denied")).await;
    assert_eq!(after.lines().count(), 1, "{after}");
    assert!(after.contains("\"user.name\":\"bob\"") && after.ends_with('\n'), "{after}");

    for bad in ["outcome=maybe", "since=yesterday", "limit=-1", "colour=red"] {
        let (status, reply) = api.admin(Method::GET, &format!("/api/v1/audit?{bad}"), None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {reply}");
        assert_eq!(reply["error"]["type"], "invalid_request", "{bad}: {reply}");
    }
}

#[tokio::test]
async fn bodies_are_capped_and_checked() {
    let api = api().await;
    let huge = Body::from(format!("{{\"name\": \"{}\", \"role\": \"admin\"}}", "a".repeat(crate::BODY_LIMIT)));
    let (status, reply) = api.send_raw(Some(Role::Admin), Method::POST, "/api/v1/users", huge).await;
    assert_eq!((status, &reply["error"]["type"]), (StatusCode::PAYLOAD_TOO_LARGE, &json!("payload_too_large")));
    for bad in [json!({"name": "x", "role": "admin", "rol": 1}), json!({"role": "admin"}), json!([1])] {
        let (status, reply) = api.admin(Method::POST, "/api/v1/users", Some(bad.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {reply}");
        assert!(reply["error"]["message"].as_str().unwrap().starts_with("invalid JSON body"), "{reply}");
    }
    let (status, reply) = api.admin(Method::POST, "/api/v1/users", Some(json!({"name": "a b", "role": "admin"}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{reply}");
    assert_eq!(api.store.count_users().await.unwrap(), 0);
}

#[tokio::test]
async fn the_last_enabled_admin_is_neither_disabled_nor_demoted() {
    let api = api().await;
    api.admin(Method::POST, "/api/v1/users", Some(json!({"name": "root", "role": "admin"}))).await;
    let refusal = json!({"error": {
        "message": "cannot disable or demote the last enabled admin; add another admin first",
        "type": "conflict",
    }});
    let (status, reply) = api.admin(Method::POST, "/api/v1/users/root/disable", None).await;
    assert_eq!((status, &reply), (StatusCode::CONFLICT, &refusal));
    let (status, reply) = api.admin(Method::PATCH, "/api/v1/users/root", Some(json!({"role": "operator"}))).await;
    assert_eq!((status, &reply), (StatusCode::CONFLICT, &refusal));
    assert!(api.revoked.take().is_empty(), "nothing changed, nothing is stale");

    api.admin(Method::POST, "/api/v1/users", Some(json!({"name": "second", "role": "admin"}))).await;
    let (status, user) = api.admin(Method::POST, "/api/v1/users/root/disable", None).await;
    assert_eq!((status, &user["disabled"]), (StatusCode::OK, &json!(true)), "{user}");
}

#[tokio::test]
async fn every_change_is_audited_with_who_asked_and_how_it_ended() {
    let api = api().await;
    api.admin(Method::POST, "/api/v1/users", Some(json!({"name": "root", "role": "admin"}))).await;
    api.admin(Method::POST, "/api/v1/users/root/disable", None).await;
    let (_, created) = api.admin(Method::POST, "/api/v1/tokens", Some(json!({"user": "root"}))).await;
    let id = created["token"]["id"].as_str().unwrap().to_owned();
    api.admin(Method::DELETE, &format!("/api/v1/tokens/{id}"), None).await;
    api.admin(Method::PATCH, "/api/v1/users/root", Some(json!({"tools": ["read_*"]}))).await;
    api.send(Some(Role::Viewer), Method::POST, "/api/v1/users", Some(json!({"name": "x", "role": "admin"}))).await;
    api.admin(Method::GET, "/api/v1/users", None).await;

    let records = api.store.query_audit(&AuditFilter::default()).await.unwrap();
    let seen: Vec<_> = records
        .iter()
        .map(|r| (r.method.as_str(), r.user.as_deref(), r.target.as_deref(), r.outcome, r.error.as_deref()))
        .collect();
    let last_admin = "cannot disable or demote the last enabled admin; add another admin first";
    assert_eq!(
        seen,
        [
            ("admin/users.add", Some("the-admin"), Some("root"), Outcome::Ok, None),
            ("admin/users.disable", Some("the-admin"), Some("root"), Outcome::RpcError, Some(last_admin)),
            ("admin/tokens.create", Some("the-admin"), Some(id.as_str()), Outcome::Ok, None),
            ("admin/tokens.revoke", Some("the-admin"), Some(id.as_str()), Outcome::Ok, None),
            ("admin/users.set", Some("the-admin"), Some("root"), Outcome::Ok, None),
            (
                "admin/users.add",
                Some("the-viewer"),
                None,
                Outcome::Denied,
                Some("permission denied: admin role required")
            ),
        ],
        "reads are not recorded"
    );
    let secret = created["secret"].as_str().unwrap();
    assert!(!format!("{records:?}").contains(secret), "the token's secret is never recorded");
    assert_eq!(records[0].token_id.as_deref(), Some("tok_1"));
}
