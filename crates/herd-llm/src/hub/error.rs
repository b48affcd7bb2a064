//! Every way a relayed request can fail, and the one place each becomes
//! an HTTP answer: OpenAI's `{"error": {"message", "type", "code"}}`, or
//! Anthropic's `{"type": "error", "error": {"type", "message"}}` on
//! `/v1/messages`.

use axum::response::{IntoResponse, Response};
use herd_store::Outcome;
use http::StatusCode;
use serde_json::{Value, json};

/// Why the relay answers with an error of its own.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RelayError {
    /// No principal on the request.
    #[error("no credentials")]
    Unauthorized,
    /// The principal may not use the relay at all.
    #[error("{0}")]
    Forbidden(String),
    /// The request cannot be relayed as sent.
    #[error("{0}")]
    BadRequest(String),
    /// The body is larger than the relay takes.
    #[error("the request body is larger than {0} bytes")]
    TooLarge(usize),
    /// No model of that name the caller may use (unknown and invisible
    /// read the same).
    #[error("the model {0:?} does not exist or you do not have access to it")]
    ModelNotFound(String),
    /// Every member is busy and stayed busy for the queue wait, or the
    /// queue is full.
    #[error("{0}")]
    Busy(String),
    /// No member is active.
    #[error("{0}")]
    Unavailable(String),
    /// The channel or the agent failed.
    #[error("{0}")]
    Upstream(String),
    /// The agent answered for itself (the wire's failure header).
    #[error("{message}")]
    Agent {
        /// Its HTTP status.
        status: u16,
        /// The failure it named.
        code: &'static str,
        /// What it said.
        message: String,
    },
    /// No first byte, or no next event, in time.
    #[error("{0}")]
    Timeout(String),
}

impl RelayError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::ModelNotFound(_) => StatusCode::NOT_FOUND,
            Self::Busy(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Upstream(_) => StatusCode::BAD_GATEWAY,
            Self::Agent { status, .. } => StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY),
            Self::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
        }
    }

    /// The OpenAI error `type` and `code`.
    fn kind_and_code(&self) -> (&'static str, &'static str) {
        match self {
            Self::Unauthorized => ("authentication_error", "unauthorized"),
            Self::Forbidden(_) => ("permission_error", "forbidden"),
            Self::BadRequest(_) => ("invalid_request_error", "bad_request"),
            Self::TooLarge(_) => ("invalid_request_error", "body_too_large"),
            Self::ModelNotFound(_) => ("invalid_request_error", "model_not_found"),
            Self::Busy(_) => ("rate_limit_error", "busy"),
            Self::Unavailable(_) => ("server_error", "unavailable"),
            Self::Upstream(_) => ("server_error", "upstream_error"),
            Self::Agent { code, .. } => ("server_error", code),
            Self::Timeout(_) => ("server_error", "timeout"),
        }
    }

    /// How the audit log reads it.
    pub(crate) fn outcome(&self) -> Outcome {
        match self {
            Self::Unauthorized | Self::Forbidden(_) | Self::ModelNotFound(_) => Outcome::Denied,
            Self::Timeout(_) => Outcome::Timeout,
            _ => Outcome::RpcError,
        }
    }

    /// The OpenAI-shaped body.
    pub fn body(&self) -> Value {
        let (kind, code) = self.kind_and_code();
        crate::wire::error_body(&self.to_string(), kind, code)
    }

    /// The Anthropic-shaped body (`/v1/messages`).
    pub fn anthropic_body(&self) -> Value {
        let kind = match self.status() {
            StatusCode::UNAUTHORIZED => "authentication_error",
            StatusCode::FORBIDDEN => "permission_error",
            StatusCode::NOT_FOUND => "not_found_error",
            StatusCode::PAYLOAD_TOO_LARGE => "request_too_large",
            StatusCode::TOO_MANY_REQUESTS => "rate_limit_error",
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT => "overloaded_error",
            s if s.is_client_error() => "invalid_request_error",
            _ => "api_error",
        };
        json!({ "type": "error", "error": { "type": kind, "message": self.to_string() } })
    }

    /// The answer, in the shape of the API that was called.
    pub(crate) fn answer(&self, shape: Shape) -> Response {
        let body = match shape {
            Shape::OpenAi => self.body(),
            Shape::Anthropic => self.anthropic_body(),
        };
        json_response(self.status(), &body)
    }
}

/// `body` as a JSON answer with `status`.
pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response {
    (status, [(http::header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

impl IntoResponse for RelayError {
    fn into_response(self) -> Response {
        self.answer(Shape::OpenAi)
    }
}

/// Which API's error shape an answer takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    OpenAi,
    Anthropic,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_has_its_status_and_shape() {
        let missing = RelayError::ModelNotFound("m".into());
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        assert_eq!(missing.body()["error"]["code"], "model_not_found");
        assert_eq!(missing.anthropic_body()["error"]["type"], "not_found_error");
        assert_eq!(RelayError::Busy("full".into()).status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(RelayError::Timeout("slow".into()).outcome(), Outcome::Timeout);
        let agent = RelayError::Agent { status: 503, code: "wake_failed", message: "asleep".into() };
        assert_eq!(
            (agent.status(), agent.body()["error"]["code"].clone()),
            (StatusCode::SERVICE_UNAVAILABLE, json!("wake_failed"))
        );
    }
}
