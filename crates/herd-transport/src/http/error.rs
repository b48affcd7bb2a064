//! Every way an HTTP exchange can fail, and the one place that turns each
//! into a status and a JSON-RPC error body.

use super::auth::AuthError;
use axum::body::Body;
use axum::response::{IntoResponse, Response};
use herd_proto::{RequestId, RpcError, error_json};
use herd_router::{TooManySessions, Verdict};
use http::{HeaderValue, StatusCode, header};

/// A failed HTTP exchange.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HttpError {
    #[error("Host header not allowed: {0}")]
    HostNotAllowed(String),
    #[error("Origin not allowed: {0}")]
    OriginNotAllowed(String),
    /// No principal: 401, 403 or 503 (see [`AuthError`]), with the
    /// server's RFC 9728 metadata URL named in the challenge.
    #[error("{error}")]
    Auth { error: AuthError, metadata: Option<String> },
    #[error("Content-Type must be application/json")]
    UnsupportedMediaType,
    #[error("Accept must include application/json or text/event-stream")]
    NotAcceptable,
    #[error("GET needs Accept: text/event-stream")]
    SseNotAccepted,
    #[error("request body larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("could not read the request body: {0}")]
    BodyRead(String),
    #[error("unsupported MCP-Protocol-Version: {0}")]
    UnsupportedVersion(String),
    #[error("Mcp-Session-Id header is required")]
    SessionRequired,
    #[error("session not found (it ended or never existed); initialize a new one")]
    SessionNotFound,
    #[error("no stream matches Last-Event-ID {0}")]
    StreamNotFound(String),
    #[error("{0}")]
    TooManySessions(TooManySessions),
    #[error("method not allowed")]
    MethodNotAllowed,
    /// A message that is not valid JSON-RPC (-32700/-32600), answered with the
    /// id when known.
    #[error("{}", .0.message)]
    Rpc(RpcError, Option<RequestId>),
}

impl HttpError {
    fn status(&self) -> StatusCode {
        match self {
            Self::HostNotAllowed(_) | Self::OriginNotAllowed(_) => StatusCode::FORBIDDEN,
            Self::Auth { error: AuthError::Missing | AuthError::InvalidToken(_), .. } => StatusCode::UNAUTHORIZED,
            Self::Auth { error: AuthError::InsufficientScope(_), .. } => StatusCode::FORBIDDEN,
            Self::Auth { error: AuthError::Unavailable, .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::NotAcceptable | Self::SseNotAccepted => StatusCode::NOT_ACCEPTABLE,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BodyRead(_) | Self::UnsupportedVersion(_) | Self::SessionRequired | Self::Rpc(..) => {
                StatusCode::BAD_REQUEST
            }
            Self::SessionNotFound | Self::StreamNotFound(_) => StatusCode::NOT_FOUND,
            Self::TooManySessions(TooManySessions::Total { .. }) => StatusCode::SERVICE_UNAVAILABLE,
            Self::TooManySessions(TooManySessions::PerOwner { .. }) => StatusCode::TOO_MANY_REQUESTS,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        }
    }

    fn rpc_error(&self) -> RpcError {
        match self {
            Self::Rpc(err, _) => err.clone(),
            Self::TooManySessions(cap) => {
                let (TooManySessions::Total { limit } | TooManySessions::PerOwner { limit }) = *cap;
                let scope = if matches!(cap, TooManySessions::Total { .. }) { "server" } else { "client" };
                RpcError::invalid_request(cap.to_string())
                    .with_data(serde_json::json!({ "limit": limit, "per": scope }))
            }
            other => RpcError::invalid_request(other.to_string()),
        }
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let id = match &self {
            Self::Rpc(_, id) => id.as_ref(),
            _ => None,
        };
        let body = error_json(id, &self.rpc_error());
        let mut response = Response::new(Body::from(body));
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        match self {
            Self::Auth { error, metadata } => {
                if let Some(challenge) = challenge(&error, metadata.as_deref()) {
                    headers.insert(header::WWW_AUTHENTICATE, challenge);
                }
            }
            Self::MethodNotAllowed => {
                headers.insert(header::ALLOW, HeaderValue::from_static("GET, POST, DELETE, OPTIONS"));
            }
            _ => {}
        }
        response
    }
}

/// The `WWW-Authenticate` value of a refusal (RFC 6750 section 3): the
/// metadata URL when OAuth is on, and the error code when a token was
/// judged. A 503 gets none.
fn challenge(error: &AuthError, metadata: Option<&str>) -> Option<HeaderValue> {
    let mut value = String::from(r#"Bearer realm="herd""#);
    if let Some(url) = metadata {
        value.push_str(&format!(", resource_metadata=\"{}\"", quoted(url)));
    }
    let (code, description) = match error {
        AuthError::Missing => return HeaderValue::from_str(&value).ok(),
        AuthError::InvalidToken(why) => ("invalid_token", why),
        AuthError::InsufficientScope(why) => ("insufficient_scope", why),
        AuthError::Unavailable => return None,
    };
    value.push_str(&format!(", error=\"{code}\", error_description=\"{}\"", quoted(description)));
    HeaderValue::from_str(&value).ok()
}

/// Text fit for a quoted-string parameter: printable ASCII without `"`
/// and `\`; anything else becomes `?`.
fn quoted(text: &str) -> String {
    text.chars()
        .take(300)
        .map(|c| if (c == ' ' || c.is_ascii_graphic()) && c != '"' && c != '\\' { c } else { '?' })
        .collect()
}

/// The status of a stateless answer.
pub(crate) fn status_of(verdict: Verdict) -> StatusCode {
    match verdict {
        Verdict::Answered => StatusCode::OK,
        Verdict::Refused => StatusCode::BAD_REQUEST,
        Verdict::NoSuchMethod => StatusCode::NOT_FOUND,
    }
}
