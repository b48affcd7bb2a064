//! One handler per route: read the request, call the [`Admin`] operation,
//! log what changed (never a secret), answer.

use super::reply::{ApiError, json, read_json};
use crate::Admin;
use crate::wire::{AddUser, AuditQuery, CreateToken, SetUser};
use axum::body::Body;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Extension, Path, Query, State};
use axum::response::{IntoResponse as _, Response};
use herd_auth::Principal;
use http::{StatusCode, header};
use serde::Deserialize;
use serde_json::json;

type Answer = Result<Response, ApiError>;

fn path(arg: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    arg.map(|Path(p)| p).map_err(|e| ApiError::bad_request(e.body_text()))
}

fn query<T>(arg: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    arg.map(|Query(q)| q).map_err(|e| ApiError::bad_request(e.body_text()))
}

pub(super) async fn list_users(State(admin): State<Admin>) -> Answer {
    Ok(json(StatusCode::OK, &json!({ "users": admin.list_users().await? })))
}

pub(super) async fn add_user(State(admin): State<Admin>, Extension(by): Extension<Principal>, body: Body) -> Answer {
    let req: AddUser = read_json(body).await?;
    let user = admin.add_user(&req).await?;
    tracing::info!(by = %by, user = %user.name, role = %user.role, "user added");
    Ok(json(StatusCode::CREATED, &user))
}

pub(super) async fn set_user(
    State(admin): State<Admin>,
    Extension(by): Extension<Principal>,
    name: Result<Path<String>, PathRejection>,
    body: Body,
) -> Answer {
    let name = path(name)?;
    let req: SetUser = read_json(body).await?;
    let user = admin.set_user(&name, &req).await?;
    tracing::info!(by = %by, user = %user.name, role = %user.role, disabled = user.disabled, "user changed");
    Ok(json(StatusCode::OK, &user))
}

pub(super) async fn disable_user(
    State(admin): State<Admin>,
    Extension(by): Extension<Principal>,
    name: Result<Path<String>, PathRejection>,
) -> Answer {
    let user = admin.disable_user(&path(name)?).await?;
    tracing::info!(by = %by, user = %user.name, "user disabled");
    Ok(json(StatusCode::OK, &user))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TokensQuery {
    user: Option<String>,
}

pub(super) async fn list_tokens(State(admin): State<Admin>, q: Result<Query<TokensQuery>, QueryRejection>) -> Answer {
    let q = query(q)?;
    Ok(json(StatusCode::OK, &json!({ "tokens": admin.list_tokens(q.user.as_deref()).await? })))
}

pub(super) async fn create_token(
    State(admin): State<Admin>,
    Extension(by): Extension<Principal>,
    body: Body,
) -> Answer {
    let req: CreateToken = read_json(body).await?;
    let created = admin.create_token(&req).await?;
    let token = &created.token;
    tracing::info!(by = %by, token = %token.id, user = %token.user, expires_at = ?token.expires_at, "token created");
    Ok(json(StatusCode::CREATED, &created))
}

pub(super) async fn revoke_token(
    State(admin): State<Admin>,
    Extension(by): Extension<Principal>,
    id: Result<Path<String>, PathRejection>,
) -> Answer {
    let token = admin.revoke_token(&path(id)?).await?;
    tracing::info!(by = %by, token = %token.id, user = %token.user, "token revoked");
    Ok(json(StatusCode::OK, &token))
}

pub(super) async fn query_audit(State(admin): State<Admin>, q: Result<Query<AuditQuery>, QueryRejection>) -> Answer {
    let records = admin.query_audit(&query(q)?).await?;
    let mut body = String::new();
    for record in &records {
        body.push_str(&record.to_json_line());
        body.push('\n');
    }
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, "application/x-ndjson")], body).into_response())
}
