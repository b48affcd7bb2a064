//! Signing in and out, and the check in front of every signed-in route.
//!
//! The cookie holds the token as the user typed it; nothing else is kept,
//! on either side. Each request hands it to the server's authenticator, so
//! the page is exactly as strong as the token: revoked, expired or of a
//! disabled user, it is refused on the next request, and the cookie is
//! cleared in the same answer.

use crate::assets;
use crate::reply::UiError;
use crate::security;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use herd_transport::http::{AuthError, HttpConfig, host_allowed};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use std::sync::Arc;

/// The cookie's name.
pub const COOKIE: &str = "herd_ui";

/// Largest sign-in form accepted, in bytes.
pub const LOGIN_BODY_LIMIT: usize = 8 * 1024;

/// Longest token accepted: browsers keep at most 4096 bytes of a cookie's
/// name and value.
const MAX_TOKEN_LEN: usize = 4000;

/// The authenticator and settings every route of the page checks with.
#[derive(Clone)]
pub(crate) struct Gate {
    http: Arc<HttpConfig>,
    tls: bool,
}

impl Gate {
    pub(crate) fn new(http: HttpConfig, tls: bool) -> Self {
        Self { http: Arc::new(http), tls }
    }

    /// The `Set-Cookie` value that keeps `token` for the page's paths.
    fn keep(&self, token: &str) -> String {
        let secure = if self.tls { "; Secure" } else { "" };
        format!("{COOKIE}={token}; Path=/ui; HttpOnly; SameSite=Strict{secure}")
    }

    /// The `Set-Cookie` value that drops it.
    fn clear(&self) -> HeaderValue {
        let secure = if self.tls { "; Secure" } else { "" };
        let value = format!("{COOKIE}=; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=0{secure}");
        HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("herd_ui=; Path=/ui; Max-Age=0"))
    }
}

/// The token in the request's cookie, if there is one.
fn cookie_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
        .filter(|value| !value.is_empty())
}

/// Whether `token` can travel in a cookie unchanged: printable ASCII
/// without separators (herd tokens and JWTs are).
fn cookie_safe(token: &str) -> bool {
    token.bytes().all(|b| b.is_ascii_graphic() && !b"\",;\\".contains(&b))
}

/// Refuses requests whose `Host` is not allowed (DNS rebinding), as the
/// MCP path does.
pub(crate) async fn check_host(State(gate): State<Gate>, request: Request, next: Next) -> Response {
    if !host_allowed(&gate.http, request.headers()) {
        return UiError::new(StatusCode::FORBIDDEN, "host not allowed").into_response();
    }
    next.run(request).await
}

/// Lets a request through with its principal when its cookie holds a
/// token the authenticator accepts. Otherwise the page redirects to the
/// form and the API answers 401; a refused cookie is cleared either way.
pub(crate) async fn require(State(gate): State<Gate>, mut request: Request, next: Next) -> Response {
    if !host_allowed(&gate.http, request.headers()) {
        return UiError::new(StatusCode::FORBIDDEN, "host not allowed").into_response();
    }
    let api = request.uri().path().starts_with("/ui/api/");
    let verdict = match cookie_token(request.headers()) {
        Some(token) => gate.http.auth.get().authenticate(Some(token)).await,
        None => Err(AuthError::Missing),
    };
    match verdict {
        Ok(principal) => {
            request.extensions_mut().insert(principal);
            next.run(request).await
        }
        Err(AuthError::Unavailable) => UiError::unavailable().into_response(),
        Err(error) => {
            tracing::debug!(%error, "status page request refused");
            let mut answer = if api {
                UiError::new(StatusCode::UNAUTHORIZED, "not signed in, or the token is no longer accepted")
                    .into_response()
            } else {
                redirect("/ui/login")
            };
            if !matches!(error, AuthError::Missing) {
                answer.headers_mut().insert(header::SET_COOKIE, gate.clear());
            }
            answer
        }
    }
}

/// `GET /ui/login`: the form.
pub(crate) async fn login_form() -> Response {
    assets::login_page(StatusCode::OK, None)
}

/// `POST /ui/login`: checks the token and keeps it in the cookie.
pub(crate) async fn login(State(gate): State<Gate>, headers: HeaderMap, body: Body) -> Response {
    if let Err(why) = security::same_origin(&headers) {
        let (origin, site) = (headers.get(header::ORIGIN), headers.get("sec-fetch-site"));
        tracing::info!(?origin, ?site, "status page sign-in from another origin refused");
        return assets::login_page(StatusCode::FORBIDDEN, Some(why));
    }
    let form = match Limited::new(body, LOGIN_BODY_LIMIT).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<LengthLimitError>() => {
            return assets::login_page(StatusCode::PAYLOAD_TOO_LARGE, Some("The form is too large."));
        }
        Err(_) => return assets::login_page(StatusCode::BAD_REQUEST, Some("The form could not be read.")),
    };
    let token = url::form_urlencoded::parse(&form).find(|(name, _)| name == "token").map(|(_, v)| v.into_owned());
    let token = token.as_deref().map(str::trim).unwrap_or_default();
    if token.is_empty() {
        return assets::login_page(StatusCode::BAD_REQUEST, Some("Enter a token."));
    }
    if token.len() > MAX_TOKEN_LEN {
        let message = format!("That token is too long to keep in a browser cookie (at most {MAX_TOKEN_LEN} bytes).");
        return assets::login_page(StatusCode::BAD_REQUEST, Some(&message));
    }
    if !cookie_safe(token) {
        return assets::login_page(StatusCode::UNAUTHORIZED, Some("That token was not accepted: it is malformed."));
    }
    match gate.http.auth.get().authenticate(Some(token)).await {
        Ok(principal) => {
            tracing::info!(%principal, "signed in to the status page");
            let mut answer = redirect("/ui");
            match HeaderValue::from_str(&gate.keep(token)) {
                Ok(cookie) => {
                    answer.headers_mut().insert(header::SET_COOKIE, cookie);
                    answer
                }
                Err(_) => assets::login_page(StatusCode::UNAUTHORIZED, Some("That token was not accepted.")),
            }
        }
        Err(AuthError::Unavailable) => assets::login_page(
            StatusCode::SERVICE_UNAVAILABLE,
            Some("Tokens cannot be checked right now; try again in a moment."),
        ),
        Err(error) => {
            tracing::info!(%error, "status page sign-in refused");
            // The texts of `AuthError` never quote the credential.
            let message = format!("That token was not accepted ({error}).");
            assets::login_page(StatusCode::UNAUTHORIZED, Some(&message))
        }
    }
}

/// `POST /ui/logout`: clears the cookie.
pub(crate) async fn logout(State(gate): State<Gate>, headers: HeaderMap) -> Response {
    if let Err(why) = security::same_origin(&headers) {
        return UiError::new(StatusCode::FORBIDDEN, why).into_response();
    }
    let mut answer = redirect("/ui/login");
    answer.headers_mut().insert(header::SET_COOKIE, gate.clear());
    answer
}

/// 303 See Other to `to`.
fn redirect(to: &'static str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        assert_eq!(cookie_token(&headers), None);
        headers.append(header::COOKIE, HeaderValue::from_static("a=1; herd_ui=herd_abc; b=2"));
        assert_eq!(cookie_token(&headers), Some("herd_abc"));
        let mut empty = HeaderMap::new();
        empty.append(header::COOKIE, HeaderValue::from_static("herd_ui="));
        assert_eq!(cookie_token(&empty), None);
        let mut prefixed = HeaderMap::new();
        prefixed.append(header::COOKIE, HeaderValue::from_static("xherd_ui=1"));
        assert_eq!(cookie_token(&prefixed), None);
    }

    #[test]
    fn only_plain_tokens_go_into_a_cookie() {
        assert!(cookie_safe("herd_AbC-123_x"));
        assert!(cookie_safe("eyJh.eyJz.c2ln"));
        assert!(!cookie_safe("a;b"));
        assert!(!cookie_safe("a b"));
        assert!(!cookie_safe("a\"b"));
        assert!(!cookie_safe("é"));
    }

    #[test]
    fn the_cookie_is_http_only_strict_and_secure_over_tls() {
        let plain = Gate::new(HttpConfig::default(), false);
        assert_eq!(plain.keep("t"), "herd_ui=t; Path=/ui; HttpOnly; SameSite=Strict");
        let tls = Gate::new(HttpConfig::default(), true);
        assert!(tls.keep("t").ends_with("; Secure"));
        assert!(tls.clear().to_str().unwrap_or_default().contains("Max-Age=0"));
    }
}
