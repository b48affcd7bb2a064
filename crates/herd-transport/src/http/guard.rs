//! Checks every request to the MCP path passes before anything else:
//! DNS-rebinding protection (Host, Origin) and the bearer token.

use super::HttpConfig;
use super::error::HttpError;
use http::{HeaderMap, header};

/// Rejects requests whose `Host` or `Origin` names a host not allowed, and
/// requests without a valid bearer token.
pub(crate) fn check(config: &HttpConfig, headers: &HeaderMap) -> Result<(), HttpError> {
    check_origin(config, headers)?;
    check_auth(config, headers)
}

/// DNS-rebinding protection: `Host` and `Origin` must name an allowed host.
pub(crate) fn check_origin(config: &HttpConfig, headers: &HeaderMap) -> Result<(), HttpError> {
    if let Some(allowed) = &config.allowed_hosts {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
        if !allowed.iter().any(|a| a.eq_ignore_ascii_case(host_name(host))) {
            return Err(HttpError::HostNotAllowed(host.chars().take(100).collect()));
        }
        if let Some(origin) = headers.get(header::ORIGIN) {
            let origin = origin.to_str().unwrap_or("");
            if !origin_allowed(allowed, origin) {
                return Err(HttpError::OriginNotAllowed(origin.chars().take(100).collect()));
            }
        }
    }
    Ok(())
}

/// The bearer token, when the server requires one.
fn check_auth(config: &HttpConfig, headers: &HeaderMap) -> Result<(), HttpError> {
    if let Some(auth) = &config.auth {
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.as_bytes().strip_prefix(b"Bearer ").or_else(|| v.as_bytes().strip_prefix(b"bearer ")));
        if !presented.is_some_and(|token| auth.accepts(token)) {
            return Err(HttpError::Unauthorized);
        }
    }
    Ok(())
}

/// `Origin: null` (sandboxed pages, local files) carries no host and is
/// refused, as is any origin whose host is not allowed.
fn origin_allowed(allowed: &[String], origin: &str) -> bool {
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
    fn origins_are_matched_by_host() {
        let allowed = HttpConfig::loopback_hosts();
        assert!(origin_allowed(&allowed, "http://localhost:3000"));
        assert!(origin_allowed(&allowed, "https://127.0.0.1"));
        assert!(!origin_allowed(&allowed, "http://evil.example.com"));
        assert!(!origin_allowed(&allowed, "http://localhost.evil.example.com"));
        assert!(!origin_allowed(&allowed, "null"));
    }
}
