use super::certificate_routes;
use axum::body::Body;
use herd_auth::{Grant, Identity, Principal, Role, TokenId, UserId};
use herd_ca::{FleetCa, new_request};
use herd_store::{AuditConfig, AuditFilter, Store};
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use tower::ServiceExt as _;

fn principal(role: Role, hosts: &str) -> Principal {
    let identity = Identity::User { user_id: UserId(1), name: format!("a-{role}"), token_id: TokenId("tok_1".into()) };
    Principal::new(identity, role, Grant::parse(Some(hosts), None).unwrap())
}

async fn send(
    app: &axum::Router,
    who: Option<Principal>,
    method: Method,
    uri: &str,
    body: Value,
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(uri).body(Body::from(body.to_string())).unwrap();
    if let Some(who) = who {
        request.extensions_mut().insert(who);
    }
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

#[tokio::test]
async fn the_policy_decides_who_gets_a_certificate_for_which_host_and_every_try_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("herd.db").to_str().unwrap()).await.unwrap();
    let ca = FleetCa::generate("hub").unwrap();
    let ca_pem = ca.cert_pem().to_owned();
    let routes = certificate_routes(ca, store.audit_writer(&AuditConfig::default()));
    let (_key, csr) = new_request("gpu1", &["gpu1.lan".to_owned()]).unwrap();
    let ask = |name: &str| json!({ "name": name, "csr": csr });
    let post = Method::POST;
    let uri = "/api/v1/certificates";

    let (status, answer) =
        send(&routes.guarded, Some(principal(Role::Agent, "gpu*")), post.clone(), uri, ask("gpu1")).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(answer["names"], json!(["gpu1", "gpu1.lan"]));
    assert_eq!(answer["ca"], ca_pem.as_str());
    assert!(herd_ca::verify_issued(answer["certificate"].as_str().unwrap(), &ca_pem));

    let refusals = [
        (Some(principal(Role::Agent, "gpu*")), "ws1", StatusCode::FORBIDDEN, "no grant for host ws1"),
        (
            Some(principal(Role::Operator, "*")),
            "gpu1",
            StatusCode::FORBIDDEN,
            "role operator may not get an agent certificate",
        ),
        (Some(principal(Role::Admin, "*")), "bad name", StatusCode::BAD_REQUEST, "is not a host name"),
        (None, "gpu1", StatusCode::UNAUTHORIZED, "no authenticated principal"),
    ];
    for (who, name, expected, reason) in refusals {
        let (status, answer) = send(&routes.guarded, who, post.clone(), uri, ask(name)).await;
        assert_eq!(status, expected, "{name}: {answer}");
        assert!(answer["error"]["message"].as_str().unwrap().contains(reason), "{answer}");
    }
    let (status, answer) = send(&routes.public, None, Method::GET, "/api/v1/ca", Value::Null).await;
    assert_eq!((status, answer.as_str()), (StatusCode::OK, Some(ca_pem.as_str())));

    let records = store.query_audit(&AuditFilter::default()).await.unwrap();
    let outcomes: Vec<String> = records
        .iter()
        .filter(|r| r.method == "admin/certificates.sign")
        .map(|r| format!("{:?} {}", r.outcome, r.target.clone().unwrap_or_default()))
        .collect();
    assert_eq!(outcomes.len(), 5, "{outcomes:?}");
    assert!(outcomes.iter().any(|o| o.contains("Ok") && o.ends_with("gpu1")), "{outcomes:?}");
    assert_eq!(outcomes.iter().filter(|o| o.contains("Denied")).count(), 3, "{outcomes:?}");
}
