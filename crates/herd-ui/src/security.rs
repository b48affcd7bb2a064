//! What every answer of the page carries, and the same-origin rule for
//! requests that change something.
//!
//! The policy allows scripts, styles and fetches from this origin only, no
//! inline code of any kind, no frames around the page, no plugins, forms
//! posting only here; the page's own files follow it (the script is
//! `assets/ui.js`, never inline).

use axum::response::Response;
use http::{HeaderMap, HeaderValue, header};

/// The Content-Security-Policy of every answer.
pub(crate) const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                              connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Adds the security headers to an answer.
pub(crate) async fn headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `Ok` when a state-changing request comes from this server's own pages.
///
/// Browsers mark every request with `Sec-Fetch-Site`, a header pages
/// cannot set; when present it decides: only `same-origin` passes. Without
/// it (older browsers), `Origin` must name this server: its `host[:port]`
/// is the request's `Host` (the scheme is not compared, so a
/// TLS-terminating proxy in front does not break sign-in). `Origin: null`
/// is what a browser sends for a form posted under `Referrer-Policy:
/// no-referrer`, so it proves nothing and is refused when it is all there
/// is. A request with neither header comes from no browser, so it carries
/// no cookie a browser added for another site, and is let through.
pub(crate) fn same_origin(headers: &HeaderMap) -> Result<(), &'static str> {
    const REFUSED: &str = "Refused: this form may only be sent from this server's own page.";
    if let Some(site) = headers.get("sec-fetch-site") {
        return if site.as_bytes() == b"same-origin" { Ok(()) } else { Err(REFUSED) };
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
        let authority = origin.split_once("://").map(|(_, rest)| rest.trim_end_matches('/'));
        if host.is_empty() || !authority.is_some_and(|a| a.eq_ignore_ascii_case(host)) {
            return Err(REFUSED);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn same_origin_posts_pass_and_others_do_not() {
        let host = ("host", "127.0.0.1:7800");
        assert!(same_origin(&headers(&[host, ("origin", "http://127.0.0.1:7800")])).is_ok());
        assert!(same_origin(&headers(&[host, ("origin", "https://127.0.0.1:7800")])).is_ok());
        assert!(same_origin(&headers(&[host, ("sec-fetch-site", "same-origin")])).is_ok());
        assert!(same_origin(&headers(&[host])).is_ok(), "no browser, no ambient cookie");
        assert!(same_origin(&headers(&[host, ("origin", "http://evil.example")])).is_err());
        assert!(same_origin(&headers(&[host, ("origin", "http://127.0.0.1:7801")])).is_err());
        assert!(same_origin(&headers(&[host, ("origin", "null")])).is_err());
        assert!(same_origin(&headers(&[host, ("sec-fetch-site", "cross-site")])).is_err());
        assert!(same_origin(&headers(&[host, ("sec-fetch-site", "same-site")])).is_err());
        let both = [host, ("origin", "http://127.0.0.1:7800"), ("sec-fetch-site", "cross-site")];
        assert!(same_origin(&headers(&both)).is_err());
        // What a browser sends for its own form under no-referrer.
        let own_form = [host, ("origin", "null"), ("sec-fetch-site", "same-origin")];
        assert!(same_origin(&headers(&own_form)).is_ok());
        assert!(same_origin(&headers(&[("origin", "http://127.0.0.1:7800")])).is_err(), "no Host");
    }
}
