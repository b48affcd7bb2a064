//! Prometheus `/metrics`: the recorder the libraries' `metrics::` calls
//! land in, served beside the MCP path and behind the same checks (Host,
//! Origin, token: `server::serve_http` puts it behind them).

use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Duration;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Latency buckets (seconds): sub-millisecond hops up to long shell calls.
const BUCKETS: [f64; 17] =
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0];

/// How often recorded histogram samples are folded into their buckets.
/// Until then each sample is held on its own: without this upkeep a hub
/// nobody scrapes grew by about 20 bytes per call.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// Installs the recorder, once per process; metrics recorded before this
/// are lost, so roles call it first thing.
pub(crate) fn install() -> &'static Option<PrometheusHandle> {
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new().set_buckets(&BUCKETS);
        match builder.and_then(PrometheusBuilder::install_recorder) {
            Ok(handle) => {
                let upkept = handle.clone();
                let spawned = std::thread::Builder::new().name("herd-metrics".into()).spawn(move || {
                    loop {
                        std::thread::sleep(UPKEEP_INTERVAL);
                        upkept.run_upkeep();
                    }
                });
                if let Err(err) = spawned {
                    tracing::warn!(%err, "no metrics upkeep thread: histograms grow until scraped");
                }
                Some(handle)
            }
            Err(err) => {
                tracing::warn!(%err, "metrics disabled: cannot install the recorder");
                None
            }
        }
    })
}

/// Installs the recorder (once per process) and returns the `/metrics`
/// route, unguarded: serve it through `server::serve_http`.
pub(crate) fn route() -> axum::Router {
    let handle = install().clone();
    axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || async move {
            match &handle {
                Some(h) => ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], h.render()).into_response(),
                None => (StatusCode::SERVICE_UNAVAILABLE, "metrics are disabled").into_response(),
            }
        }),
    )
}
