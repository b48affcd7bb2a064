//! The fleet CA over HTTP, for agents joining the fleet (`herd init agent`).
//!
//! | route | who | does |
//! |---|---|---|
//! | `GET /api/v1/ca` | anyone | the fleet CA certificate, PEM (public: the agent checks its fingerprint before trusting it) |
//! | `POST /api/v1/certificates` | admins, and the agent role for a granted host | signs `{"name", "csr"}`; 201 `{"name", "names", "certificate", "ca", "not_after"}` |
//!
//! A request is decided by the one policy as [`Action::JoinFleet`] of the
//! host it names; the CSR is checked by [`FleetCa::sign_request`] (DNS
//! names and IP addresses only, no wildcard, none of the hub's own names,
//! no CA). Every request, refused or not, leaves an audit record
//! (`admin/certificates.sign`, the host as target).

use super::reply::{ApiError, json, read_json};
use axum::extract::{Extension, State};
use axum::response::{IntoResponse as _, Response};
use axum::routing::{get, post};
use herd_auth::{Action, Host, Principal, allows};
use herd_ca::{CaError, FleetCa};
use herd_store::AuditWriter;
use http::{StatusCode, header};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

#[cfg(test)]
mod tests;

/// The CA routes: `public` answers without a credential, `guarded` goes
/// behind the credential check beside the admin API.
pub struct CertificateRoutes {
    /// `GET /api/v1/ca`.
    pub public: axum::Router,
    /// `POST /api/v1/certificates`.
    pub guarded: axum::Router,
}

/// The routes of `ca`, recording each signing request through `audit`.
pub fn certificate_routes(ca: FleetCa, audit: AuditWriter) -> CertificateRoutes {
    let ca = Arc::new(ca);
    let public = axum::Router::new().route("/api/v1/ca", get(ca_certificate)).with_state(Arc::clone(&ca));
    let guarded = axum::Router::new()
        .route("/api/v1/certificates", post(sign))
        .route_layer(axum::middleware::from_fn_with_state(audit, super::audit::record))
        .with_state(ca);
    CertificateRoutes { public, guarded }
}

async fn ca_certificate(State(ca): State<Arc<FleetCa>>) -> Response {
    ([(header::CONTENT_TYPE, "application/x-pem-file")], ca.cert_pem().to_owned()).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignRequest {
    /// The host the agent serves as.
    name: String,
    /// PEM certificate signing request.
    csr: String,
}

async fn sign(
    State(ca): State<Arc<FleetCa>>,
    principal: Option<Extension<Principal>>,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    let Some(Extension(principal)) = principal else { return Err(ApiError::unauthorized()) };
    let req: SignRequest = read_json(body).await?;
    if let Err(missing) = allows(&principal, &Action::JoinFleet { host: Host::named(&req.name) }).into_result() {
        tracing::info!(%principal, host = %req.name, %missing, "certificate request denied");
        return Err(ApiError::forbidden(&missing));
    }
    let signed = ca.sign_request(&req.name, &req.csr).map_err(|e| match e {
        CaError::Make(_) => {
            tracing::error!(error = %e, "certificate signing failed");
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "the certificate could not be made")
        }
        other => ApiError::bad_request(other.to_string()),
    })?;
    tracing::info!(by = %principal, host = %req.name, names = ?signed.names, "agent certificate signed");
    let answer = json!({
        "name": req.name,
        "names": signed.names,
        "certificate": signed.cert_pem,
        "ca": ca.cert_pem(),
        "not_after": signed.not_after,
    });
    Ok(json(StatusCode::CREATED, &answer))
}
