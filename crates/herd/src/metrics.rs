//! Prometheus `/metrics`: the recorder the libraries' `metrics::` calls
//! land in, served beside the MCP path and behind the same token.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use herd_transport::http::BearerAuth;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the recorder (once per process) and returns the `/metrics`
/// route; with `auth`, scrapes must present the token.
pub(crate) fn route(auth: Option<BearerAuth>) -> axum::Router {
    let handle = HANDLE.get_or_init(|| match PrometheusBuilder::new().install_recorder() {
        Ok(handle) => Some(handle),
        Err(err) => {
            tracing::warn!(%err, "metrics disabled: cannot install the recorder");
            None
        }
    });
    let handle = handle.clone();
    axum::Router::new().route(
        "/metrics",
        axum::routing::get(move |headers: HeaderMap| async move {
            if let Some(auth) = &auth {
                let presented = headers
                    .get(header::AUTHORIZATION)
                    .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
                    .unwrap_or_default();
                if !auth.accepts(presented) {
                    return (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer")], String::new())
                        .into_response();
                }
            }
            match &handle {
                Some(h) => ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], h.render()).into_response(),
                None => (StatusCode::SERVICE_UNAVAILABLE, "metrics are disabled").into_response(),
            }
        }),
    )
}
