//! The one place admin failures become HTTP answers, and how bodies are
//! read (capped) and written (JSON).
//!
//! Every failure is `{"error": {"message": ..., "type": ...}}`. Input the
//! caller got wrong is described; a failure of the database is logged here
//! and answered with a generic message.

use super::BODY_LIMIT;
use crate::AdminError;
use axum::body::Body;
use axum::response::{IntoResponse, Response};
use herd_auth::Missing;
use herd_store::StoreError;
use http::{StatusCode, header};
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A failed admin request: status, a machine-readable type and a message.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    kind: &'static str,
    message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        Self { status, kind, message: message.into() }
    }

    pub(crate) fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", "no authenticated principal: present an admin's token")
    }

    pub(crate) fn forbidden(missing: &Missing) -> Self {
        Self::new(StatusCode::FORBIDDEN, "permission_denied", format!("permission denied: {missing}"))
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }
}

impl From<AdminError> for ApiError {
    fn from(err: AdminError) -> Self {
        let store = match err {
            AdminError::Role(_) | AdminError::Grant(_) | AdminError::Time { .. } => {
                return Self::bad_request(err.to_string());
            }
            AdminError::Store(store) => store,
        };
        match store {
            StoreError::NotFound(_) => Self::new(StatusCode::NOT_FOUND, "not_found", store.to_string()),
            StoreError::Conflict(_) | StoreError::LastAdmin => {
                Self::new(StatusCode::CONFLICT, "conflict", store.to_string())
            }
            StoreError::Invalid { .. } => Self::bad_request(store.to_string()),
            StoreError::Timeout(_) => {
                tracing::warn!(error = %store, "admin request: store timed out");
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "the state database did not answer in time")
            }
            StoreError::Database(_)
            | StoreError::Sqlite(_)
            | StoreError::Migration(_)
            | StoreError::Io { .. }
            | StoreError::Closed => {
                tracing::error!(error = %store, "admin request: store failed");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "the state database failed")
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": { "message": self.message, "type": self.kind } });
        (self.status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
    }
}

/// `value` as a JSON response with `status`.
pub(crate) fn json(status: StatusCode, value: &impl Serialize) -> Response {
    match serde_json::to_vec(value) {
        Ok(bytes) => (status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "admin response did not serialize");
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "response failed").into_response()
        }
    }
}

/// Reads a JSON body of at most [`BODY_LIMIT`] bytes into `T`.
pub(crate) async fn read_json<T: DeserializeOwned>(body: Body) -> Result<T, ApiError> {
    let bytes = match Limited::new(body, BODY_LIMIT).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<LengthLimitError>() => {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("request body larger than {BODY_LIMIT} bytes"),
            ));
        }
        Err(e) => return Err(ApiError::bad_request(format!("could not read the request body: {e}"))),
    };
    serde_json::from_slice(&bytes).map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
}
