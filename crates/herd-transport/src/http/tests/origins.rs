//! Which origins get CORS answers, and the routes served beside the MCP
//! path behind the same checks.

#![allow(clippy::unwrap_used)]

use crate::http::{Authenticator, BearerAuth, HttpConfig, app, guarded};
use axum::body::Body;
use herd_router::{Router, RouterConfig};
use http::{Method, Request, StatusCode, header};
use tower::ServiceExt;

/// A server as a non-loopback bind has it: no `Host` restriction.
fn public(origins: &[&str]) -> HttpConfig {
    HttpConfig {
        auth: Authenticator::static_tokens(BearerAuth::new(["t".to_owned()])),
        allowed_origins: origins.iter().map(|o| (*o).to_owned()).collect(),
        ..HttpConfig::default()
    }
}

async fn preflight(config: HttpConfig, origin: &str) -> http::Response<Body> {
    preflight_asking(config, origin, "content-type").await
}

async fn preflight_asking(config: HttpConfig, origin: &str, headers: &str) -> http::Response<Body> {
    let app = app(Router::new(RouterConfig::default(), Vec::new()), config);
    let request = Request::builder()
        .method(Method::OPTIONS)
        .uri("/mcp")
        .header(header::HOST, "hub.example.com:7800")
        .header(header::ORIGIN, origin)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .header(header::ACCESS_CONTROL_REQUEST_HEADERS, headers)
        .body(Body::empty())
        .unwrap();
    app.oneshot(request).await.unwrap()
}

#[tokio::test]
async fn a_preflight_may_ask_for_mcp_param_headers_and_nothing_else_unknown() {
    let origin = "https://app.example.com";
    let asked = "content-type, Mcp-Param-Region, x-secret, mcp-param-priority";
    let allowed = preflight_asking(public(&[origin]), origin, asked).await;
    assert_eq!(allowed.status(), StatusCode::NO_CONTENT);
    let names = allowed.headers()[header::ACCESS_CONTROL_ALLOW_HEADERS].to_str().unwrap();
    let names: Vec<&str> = names.split(", ").collect();
    assert!(names.contains(&"mcp-param-region") && names.contains(&"mcp-param-priority"), "{names:?}");
    assert!(names.contains(&"mcp-method") && !names.contains(&"x-secret"), "{names:?}");
}

#[tokio::test]
async fn a_public_bind_answers_only_the_configured_origins() {
    let refused = preflight(public(&["https://app.example.com"]), "https://evil.example.com").await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(refused.headers().get(header::ACCESS_CONTROL_ALLOW_ORIGIN), None);
    let none_configured = preflight(public(&[]), "https://evil.example.com").await;
    assert_eq!(none_configured.status(), StatusCode::FORBIDDEN);
    assert_eq!(none_configured.headers().get(header::ACCESS_CONTROL_ALLOW_ORIGIN), None);

    let allowed = preflight(public(&["https://app.example.com"]), "https://app.example.com").await;
    assert_eq!(allowed.status(), StatusCode::NO_CONTENT);
    assert_eq!(allowed.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "https://app.example.com");
}

#[tokio::test]
async fn a_refused_origin_is_not_echoed_on_the_error_either() {
    let app = app(Router::new(RouterConfig::default(), Vec::new()), public(&[]));
    let request = Request::builder()
        .method(Method::POST)
        .uri("/mcp")
        .header(header::ORIGIN, "https://evil.example.com")
        .header(header::AUTHORIZATION, "Bearer t")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#))
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(response.headers().get(header::ACCESS_CONTROL_ALLOW_ORIGIN), None);
}

#[tokio::test]
async fn guarded_routes_check_host_origin_and_token() {
    let config = HttpConfig {
        auth: Authenticator::static_tokens(BearerAuth::new(["t".to_owned()])),
        allowed_hosts: Some(HttpConfig::loopback_hosts()),
        ..HttpConfig::default()
    };
    let routes = axum::Router::new().route("/metrics", axum::routing::get(|| async { "counted" }));
    let routes = guarded(routes, &config);
    let get = |host: &str, origin: Option<&str>, token: Option<&str>| {
        let mut request = Request::builder().uri("/metrics").header(header::HOST, host);
        if let Some(origin) = origin {
            request = request.header(header::ORIGIN, origin);
        }
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        routes.clone().oneshot(request.body(Body::empty()).unwrap())
    };
    assert_eq!(get("127.0.0.1:7800", None, Some("t")).await.unwrap().status(), StatusCode::OK);
    assert_eq!(get("evil.example.com", None, Some("t")).await.unwrap().status(), StatusCode::FORBIDDEN);
    let foreign_page = get("127.0.0.1:7800", Some("http://evil.example.com"), Some("t")).await.unwrap();
    assert_eq!(foreign_page.status(), StatusCode::FORBIDDEN);
    assert_eq!(get("127.0.0.1:7800", None, None).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    // An empty router stays empty (and does not panic).
    assert!(!guarded(axum::Router::new(), &config).has_routes());
}
