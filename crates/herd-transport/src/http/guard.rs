//! Checks every request to the MCP path passes before anything else:
//! DNS-rebinding protection (Host, Origin), then authentication (`auth`). Routes
//! served beside the MCP path (`/metrics`) pass the same checks through
//! [`guarded`].
//!
//! An `Origin` is accepted when it is one of the configured origins, or
//! when its host is one of the allowed hosts (loopback binds: a page on
//! `http://localhost:3000` may call a local server). Any other origin is
//! refused with 403, as MCP asks, so a browser never gets a CORS answer
//! for it; non-browser clients send no `Origin` and are not affected.

use super::HttpConfig;
use super::auth::bearer;
use super::error::HttpError;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::IntoResponse;
use herd_proto::Principal;
use http::{HeaderMap, HeaderValue, header};
use std::sync::Arc;

/// Rejects requests whose `Host` or `Origin` names a host not allowed,
/// then authenticates the rest: the principal making the request.
///
/// # Cancel safety
/// Cancel-safe, as [`super::Authenticate::authenticate`] must be.
pub(crate) async fn check(config: &HttpConfig, headers: &HeaderMap) -> Result<Principal, HttpError> {
    check_origin(config, headers)?;
    authenticate(config, headers).await
}

/// The principal of the request's bearer token, or the refusal to answer.
pub(crate) async fn authenticate(config: &HttpConfig, headers: &HeaderMap) -> Result<Principal, HttpError> {
    let auth = config.auth.get();
    auth.authenticate(bearer(headers)).await.map_err(|error| {
        tracing::debug!(%error, "request refused");
        HttpError::Auth { error, metadata: auth.resource_metadata().map(str::to_owned) }
    })
}

/// DNS-rebinding protection: `Host` must name an allowed host, and an
/// `Origin`, when there is one, must be accepted (see the module docs).
pub(crate) fn check_origin(config: &HttpConfig, headers: &HeaderMap) -> Result<(), HttpError> {
    if !host_allowed(config, headers) {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
        return Err(HttpError::HostNotAllowed(host.chars().take(100).collect()));
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        if !origin_allowed(config, origin) {
            return Err(HttpError::OriginNotAllowed(origin.chars().take(100).collect()));
        }
    }
    Ok(())
}

/// Whether the request's `Host` names an allowed host (any host when the
/// configuration allows all): the DNS-rebinding check of the MCP path, for
/// routes that take their credential otherwise (the status page's cookie).
pub fn host_allowed(config: &HttpConfig, headers: &HeaderMap) -> bool {
    let Some(allowed) = &config.allowed_hosts else { return true };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    allowed.iter().any(|a| a.eq_ignore_ascii_case(host_name(host)))
}

/// The request's `Origin` if it is accepted: the only value CORS headers
/// may echo.
pub(crate) fn accepted_origin(config: &HttpConfig, headers: &HeaderMap) -> Option<HeaderValue> {
    let origin = headers.get(header::ORIGIN)?;
    origin_allowed(config, origin.to_str().ok()?).then(|| origin.clone())
}

/// `routes` behind the checks of the MCP path: `Host` and `Origin`, then
/// the bearer token. Requests that fail get the same answers as on the MCP
/// path (403, 401); the others reach the routes with their principal in
/// the request's extensions (`axum::Extension<herd_proto::Principal>`).
pub fn guarded(routes: axum::Router, config: &HttpConfig) -> axum::Router {
    if !routes.has_routes() {
        return routes;
    }
    let config = Arc::new(config.clone());
    routes.route_layer(axum::middleware::from_fn(move |mut request: Request, next: Next| {
        let config = config.clone();
        async move {
            match check(&config, request.headers()).await {
                Ok(principal) => {
                    request.extensions_mut().insert(principal);
                    next.run(request).await
                }
                Err(e) => e.into_response(),
            }
        }
    }))
}

/// `Origin: null` (sandboxed pages, local files) carries no host and is
/// refused, as is any origin neither configured nor on an allowed host.
fn origin_allowed(config: &HttpConfig, origin: &str) -> bool {
    let origin = origin.trim_end_matches('/');
    if config.allowed_origins.iter().any(|o| o.trim_end_matches('/').eq_ignore_ascii_case(origin)) {
        return true;
    }
    let Some(allowed) = &config.allowed_hosts else { return false };
    let Some((_, rest)) = origin.split_once("://") else { return false };
    let authority = rest.split('/').next().unwrap_or("");
    allowed.iter().any(|a| a.eq_ignore_ascii_case(host_name(authority)))
}

/// The host part of `host[:port]`, keeping IPv6 brackets.
fn host_name(authority: &str) -> &str {
    if authority.starts_with('[') {
        return authority.find(']').map_or(authority, |end| &authority[..=end]);
    }
    authority.rsplit_once(':').map_or(authority, |(host, _)| host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_drop_ports_and_keep_brackets() {
        assert_eq!(host_name("127.0.0.1:7800"), "127.0.0.1");
        assert_eq!(host_name("localhost"), "localhost");
        assert_eq!(host_name("[::1]:7800"), "[::1]");
    }

    #[test]
    fn origins_are_matched_by_host_on_loopback_binds() {
        let config = HttpConfig { allowed_hosts: Some(HttpConfig::loopback_hosts()), ..HttpConfig::default() };
        assert!(origin_allowed(&config, "http://localhost:3000"));
        assert!(origin_allowed(&config, "https://127.0.0.1"));
        assert!(!origin_allowed(&config, "http://evil.example.com"));
        assert!(!origin_allowed(&config, "http://localhost.evil.example.com"));
        assert!(!origin_allowed(&config, "null"));
    }

    #[test]
    fn without_allowed_hosts_only_configured_origins_pass() {
        let config = HttpConfig { allowed_origins: vec!["https://app.example.com".into()], ..HttpConfig::default() };
        assert!(origin_allowed(&config, "https://app.example.com"));
        assert!(origin_allowed(&config, "HTTPS://APP.example.com/"));
        assert!(!origin_allowed(&config, "http://app.example.com"), "another scheme is another origin");
        assert!(!origin_allowed(&config, "https://app.example.com:8443"));
        assert!(!origin_allowed(&config, "https://evil.example.com"));
        assert!(!origin_allowed(&HttpConfig::default(), "http://localhost:3000"));
        let mut headers = HeaderMap::new();
        headers.insert(header::ORIGIN, HeaderValue::from_static("https://evil.example.com"));
        assert_eq!(accepted_origin(&config, &headers), None);
        assert!(matches!(check_origin(&config, &headers), Err(HttpError::OriginNotAllowed(_))));
        headers.insert(header::ORIGIN, HeaderValue::from_static("https://app.example.com"));
        assert_eq!(accepted_origin(&config, &headers), Some(HeaderValue::from_static("https://app.example.com")));
        assert!(check_origin(&config, &headers).is_ok());
    }
}
