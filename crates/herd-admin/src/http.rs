//! The admin API over HTTP: an axum router of the [`Admin`] operations,
//! every route behind the admin check.
//!
//! | route | does |
//! |---|---|
//! | `GET /api/v1/users` | `{"users": [...]}` |
//! | `POST /api/v1/users` | adds one ([`AddUser`](crate::AddUser)); 201 and the user |
//! | `PATCH /api/v1/users/{name}` | changes one ([`SetUser`](crate::SetUser)) |
//! | `POST /api/v1/users/{name}/disable` | disables one |
//! | `GET /api/v1/tokens?user=` | `{"tokens": [...]}` |
//! | `POST /api/v1/tokens` | makes one ([`CreateToken`](crate::CreateToken)); 201 and its only copy of the secret |
//! | `DELETE /api/v1/tokens/{id}` | revokes one |
//! | `GET /api/v1/audit?user=&host=&tool=&outcome=&since=&until=&limit=&after_id=` | NDJSON, one record per line, oldest first |
//!
//! The fleet CA's routes (`GET /api/v1/ca`, `POST /api/v1/certificates`)
//! are decided per request instead: see `certificates.rs`.
//!
//! The caller is the [`Principal`] the transport put in the request's
//! extensions after checking its credential. No principal is 401 (never
//! taken as an admin); a principal that is not an admin is 403 naming the
//! missing permission. Bodies are capped at [`BODY_LIMIT`]; every failure
//! is `{"error": {"message", "type"}}` (see `reply.rs`). Every request
//! that changes something, refused or not, leaves an audit record (see
//! `audit.rs`).

mod audit;
mod certificates;
mod handlers;
mod reply;
#[cfg(test)]
mod tests;

use crate::Admin;
use axum::extract::Request;
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse as _, Response};
use axum::routing::{get, patch, post};
use herd_auth::{Action, AdminTask, Principal, allows};
use herd_store::AuditWriter;
use reply::ApiError;

pub use certificates::{CertificateRoutes, certificate_routes};

/// Largest request body accepted, in bytes.
pub const BODY_LIMIT: usize = 16 * 1024;

/// The admin API's routes, each behind the admin check, for
/// `herd_transport::http::guarded` to put beside the MCP endpoint.
pub(crate) fn router(admin: Admin, audit: AuditWriter) -> axum::Router {
    let users = axum::Router::new()
        .route("/api/v1/users", get(handlers::list_users).post(handlers::add_user))
        .route("/api/v1/users/{name}", patch(handlers::set_user))
        .route("/api/v1/users/{name}/disable", post(handlers::disable_user))
        .route_layer(from_fn(|req, next| require(AdminTask::ManageUsers, req, next)));
    let tokens = axum::Router::new()
        .route("/api/v1/tokens", get(handlers::list_tokens).post(handlers::create_token))
        .route("/api/v1/tokens/{id}", axum::routing::delete(handlers::revoke_token))
        .route_layer(from_fn(|req, next| require(AdminTask::ManageTokens, req, next)));
    let reads = axum::Router::new()
        .route("/api/v1/audit", get(handlers::query_audit))
        .route_layer(from_fn(|req, next| require(AdminTask::ReadAudit, req, next)));
    let audited = from_fn_with_state(audit, self::audit::record);
    users.merge(tokens).merge(reads).route_layer(audited).with_state(admin)
}

/// Lets the request through only when its principal may do `task`.
async fn require(task: AdminTask, request: Request, next: Next) -> Response {
    let Some(principal) = request.extensions().get::<Principal>() else {
        return ApiError::unauthorized().into_response();
    };
    match allows(principal, &Action::Administer(task)).into_result() {
        Ok(()) => next.run(request).await,
        Err(missing) => {
            tracing::info!(%principal, ?task, %missing, "admin request denied");
            ApiError::forbidden(&missing).into_response()
        }
    }
}
