//! Requests to the page's routes without a socket: sign-in, the cookie,
//! the security headers and the policy over the JSON endpoints.

use crate::StatusPage;
use axum::body::{Body, to_bytes};
use herd_auth::{Grant, Identity, Principal, Role, TokenId, UserId};
use herd_fleet::Registry;
use herd_hub::{CallConfig, Hub};
use herd_proto::BoxFuture;
use herd_store::{AuditRecord, Outcome, Store, Timestamp};
use herd_transport::http::{AuthError, Authenticate, Authenticator, HttpConfig};
use http::{Request, StatusCode, header};
use serde_json::Value;
use tower::ServiceExt as _;

/// `root` (admin), `webop` (operator on `@web`), `eye` (viewer), by token;
/// `unchecked` meets a store that does not answer.
struct Tokens;

fn principal(name: &str, role: Role, hosts: &str) -> Principal {
    let identity =
        Identity::User { user_id: UserId(1), name: name.into(), token_id: TokenId(format!("tok_{name}").into()) };
    let grant = Grant { hosts: hosts.parse().unwrap(), ..Grant::all() };
    Principal::new(identity, role, grant)
}

impl Authenticate for Tokens {
    fn authenticate<'a>(&'a self, bearer: Option<&'a str>) -> BoxFuture<'a, Result<Principal, AuthError>> {
        let verdict = match bearer {
            None => Err(AuthError::Missing),
            Some("herd_root") => Ok(principal("root", Role::Admin, "*")),
            Some("herd_webop") => Ok(principal("webop", Role::Operator, "@web")),
            Some("herd_eye") => Ok(principal("eye", Role::Viewer, "*")),
            Some("herd_unchecked") => Err(AuthError::Unavailable),
            Some(_) => Err(AuthError::InvalidToken("unknown token".into())),
        };
        Box::pin(std::future::ready(verdict))
    }
}

const FLEET: &str = r#"
[[hosts]]
name = "web1"
url = "http://127.0.0.1:9/mcp"
tags = ["web"]
[[hosts]]
name = "db1"
ssh = "db1.lan"
tags = ["db"]
"#;

struct Fixture {
    app: axum::Router,
    _dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    fixture_with(None).await
}

async fn fixture_with(models: Option<crate::Models>) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("herd.db").to_str().unwrap()).await.unwrap();
    let mut record = AuditRecord::new(Timestamp::now(), "tools/call", Outcome::Denied);
    record.user = Some("webop".into());
    record.target = Some("remote_shell".into());
    record.hosts = vec!["db1".into()];
    store.audit_writer(&herd_store::AuditConfig::default()).append(record).await.unwrap();
    let hub = Hub::new(Registry::parse(FLEET, "test").unwrap(), None, CallConfig::default());
    let mut page = StatusPage::new(hub.clone(), store, hub.audited_tools(None));
    if let Some(models) = models {
        page = page.with_models(models);
    }
    let http = HttpConfig {
        auth: Authenticator::new(Tokens),
        allowed_hosts: Some(HttpConfig::loopback_hosts()),
        ..HttpConfig::default()
    };
    Fixture { app: page.routes(&http, false), _dir: dir }
}

fn get(path: &str, cookie: Option<&str>) -> Request<Body> {
    let mut request = Request::get(path).header(header::HOST, "127.0.0.1:7800");
    if let Some(token) = cookie {
        request = request.header(header::COOKIE, format!("herd_ui={token}"));
    }
    request.body(Body::empty()).unwrap()
}

fn login(form: &str, origin: Option<&str>) -> Request<Body> {
    let mut request = Request::post("/ui/login")
        .header(header::HOST, "127.0.0.1:7800")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(origin) = origin {
        request = request.header(header::ORIGIN, origin);
    }
    request.body(Body::from(form.to_owned())).unwrap()
}

impl Fixture {
    async fn send(&self, request: Request<Body>) -> (StatusCode, http::HeaderMap, String) {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let (parts, body) = response.into_parts();
        let body = to_bytes(body, 1 << 20).await.unwrap();
        (parts.status, parts.headers, String::from_utf8_lossy(&body).into_owned())
    }

    async fn json(&self, path: &str, token: &str) -> (StatusCode, Value) {
        let (status, _, body) = self.send(get(path, Some(token))).await;
        (status, serde_json::from_str(&body).unwrap_or(Value::Null))
    }
}

fn host_names(hosts: &Value) -> Vec<&str> {
    hosts["hosts"].as_array().unwrap().iter().map(|h| h["name"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn a_good_token_sets_a_strict_http_only_cookie_and_a_bad_one_sets_none() {
    let f = fixture().await;
    let (status, headers, _) = f.send(login("token=herd_root", Some("http://127.0.0.1:7800"))).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/ui");
    assert_eq!(headers[header::SET_COOKIE], "herd_ui=herd_root; Path=/ui; HttpOnly; SameSite=Strict");

    let (status, headers, body) = f.send(login("token=herd_wrong", Some("http://127.0.0.1:7800"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(headers.get(header::SET_COOKIE).is_none());
    assert!(body.contains("That token was not accepted"), "{body}");
    assert!(!body.contains("herd_wrong"), "the token is never shown back");

    let (status, headers, _) = f.send(login("token=", None)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(headers.get(header::SET_COOKIE).is_none());
}

#[tokio::test]
async fn sign_in_from_another_origin_is_refused() {
    let f = fixture().await;
    for origin in ["http://evil.example", "null", "http://127.0.0.1:9999"] {
        let (status, headers, body) = f.send(login("token=herd_root", Some(origin))).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{origin}");
        assert!(headers.get(header::SET_COOKIE).is_none(), "{origin}");
        assert!(body.contains("Refused"), "{body}");
    }
    let cross = Request::post("/ui/logout")
        .header(header::HOST, "127.0.0.1:7800")
        .header("sec-fetch-site", "cross-site")
        .body(Body::empty())
        .unwrap();
    assert_eq!(f.send(cross).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_oversized_or_foreign_host_request_is_refused_cleanly() {
    let f = fixture().await;
    let big = format!("token={}", "a".repeat(crate::LOGIN_BODY_LIMIT + 1));
    assert_eq!(f.send(login(&big, None)).await.0, StatusCode::PAYLOAD_TOO_LARGE);
    let rebound = Request::get("/ui/login").header(header::HOST, "evil.example").body(Body::empty()).unwrap();
    assert_eq!(f.send(rebound).await.0, StatusCode::FORBIDDEN);
    let (status, headers, body) = f.send(login("token=%FF%FE;", None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(headers.get(header::SET_COOKIE).is_none() && body.contains("malformed"), "{body}");
    let long = format!("token={}", "a".repeat(4001));
    let (status, headers, body) = f.send(login(&long, None)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(headers.get(header::SET_COOKIE).is_none() && body.contains("too long"), "{body}");
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let f = fixture().await;
    for request in [
        get("/ui/login", None),
        get("/ui", Some("herd_root")),
        get("/ui/api/hosts", None),
        get("/ui/assets/ui.js", None),
    ] {
        let (_, headers, _) = f.send(request).await;
        let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(headers[header::REFERRER_POLICY], "no-referrer");
    }
}

#[tokio::test]
async fn without_a_cookie_the_page_redirects_and_the_api_is_401() {
    let f = fixture().await;
    let (status, headers, _) = f.send(get("/ui", None)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/ui/login");
    for path in ["/ui/api/me", "/ui/api/hosts", "/ui/api/audit", "/ui/api/hosts/web1/servers"] {
        let (status, headers, body) = f.send(get(path, None)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
        assert!(body.contains("not signed in"), "{body}");
        assert!(headers.get(header::SET_COOKIE).is_none());
    }
    // A store that cannot answer signs nobody out.
    let (status, headers, _) = f.send(get("/ui/api/hosts", Some("herd_unchecked"))).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(headers.get(header::SET_COOKIE).is_none());
    let (status, headers, body) = f.send(login("token=herd_unchecked", None)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(headers.get(header::SET_COOKIE).is_none() && body.contains("cannot be checked"), "{body}");
    // A token no longer accepted is signed out: the cookie is cleared.
    let (status, headers, _) = f.send(get("/ui/api/hosts", Some("herd_revoked"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(headers[header::SET_COOKIE].to_str().unwrap().contains("Max-Age=0"));
}

#[tokio::test]
async fn hosts_and_audit_follow_the_policy() {
    let f = fixture().await;
    let (status, hosts) = f.json("/ui/api/hosts", "herd_root").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(host_names(&hosts), ["web1", "db1"]);
    assert_eq!(hosts["hosts"][0]["paths"], serde_json::json!(["http"]));
    assert_eq!(hosts["hosts"][1]["paths"], serde_json::json!(["ssh"]));
    assert_eq!(hosts["hosts"][0]["state"], "unknown");
    let (_, hosts) = f.json("/ui/api/hosts", "herd_webop").await;
    assert_eq!(host_names(&hosts), ["web1"]);

    let (status, audit) = f.json("/ui/api/audit", "herd_root").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(audit["records"][0]["user"], "webop");
    assert_eq!(audit["records"][0]["outcome"], "denied");
    let (_, filtered) = f.json("/ui/api/audit?outcome=ok&user=", "herd_root").await;
    assert_eq!(filtered["records"], serde_json::json!([]));
    let (status, bad) = f.json("/ui/api/audit?outcome=maybe", "herd_root").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    let (status, bad) = f.json("/ui/api/audit?since=yesterday", "herd_root").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    let (status, bad) = f.json("/ui/api/audit?colour=blue", "herd_root").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    for user in ["herd_webop", "herd_eye"] {
        let (status, denied) = f.json("/ui/api/audit", user).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{user}");
        assert_eq!(denied["error"]["message"], "permission denied: admin role required");
    }
    let (_, me) = f.json("/ui/api/me", "herd_eye").await;
    assert_eq!(me, serde_json::json!({ "name": "eye", "role": "viewer", "audit": false }));
}

#[tokio::test]
async fn servers_of_a_host_out_of_grant_are_forbidden() {
    let f = fixture().await;
    let (status, body) = f.json("/ui/api/hosts/db1/servers", "herd_webop").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("no grant for host db1"), "{body}");
}

#[tokio::test]
async fn models_are_what_the_relay_lists_for_the_principal_and_null_without_one() {
    let f = fixture().await;
    let (status, body) = f.json("/ui/api/models", "herd_root").await;
    assert_eq!((status, body), (StatusCode::OK, serde_json::json!({ "models": null })));

    // The relay's list for each principal, passed through as it is.
    let models: crate::Models = std::sync::Arc::new(|principal: &Principal| {
        let mut data = vec![serde_json::json!({ "id": "public-model", "herd": { "state": "active" } })];
        if principal.role() == Role::Admin {
            data.push(serde_json::json!({ "id": "private-model", "herd": { "state": "hibernating" } }));
        }
        serde_json::json!({ "object": "list", "data": data })
    });
    let f = fixture_with(Some(models)).await;
    let ids = |body: &Value| -> Vec<String> {
        body["models"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().to_owned()).collect()
    };
    let (status, body) = f.json("/ui/api/models", "herd_root").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&body), ["public-model", "private-model"]);
    let (_, body) = f.json("/ui/api/models", "herd_eye").await;
    assert_eq!(ids(&body), ["public-model"]);
    assert_eq!(f.send(get("/ui/api/models", None)).await.0, StatusCode::UNAUTHORIZED);
}
