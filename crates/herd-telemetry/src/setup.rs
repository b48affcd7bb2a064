//! The exporter and tracer provider, built from the standard `OTEL_*`
//! environment variables.

use crate::{ENABLED, TARGET};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{ExporterBuildError, Protocol, SpanExporter, WithExportConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SdkTracerProvider, Tracer};
use std::sync::atomic::Ordering;
use std::time::Duration;
use tracing::Subscriber;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::registry::LookupSpan;

const ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
const TRACES_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
const PROTOCOL: &str = "OTEL_EXPORTER_OTLP_PROTOCOL";
const TRACES_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL";

/// Why traces cannot be exported as the environment asks.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// `OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL` names no protocol herd speaks.
    #[error("unknown OTLP protocol {0:?} (expected http/protobuf, http/json or grpc)")]
    Protocol(String),
    /// The exporter refused its settings (an endpoint that is no URL, say).
    #[error("cannot build the OTLP exporter: {0}")]
    Exporter(#[from] ExporterBuildError),
}

/// Trace export while it runs: hand [`Telemetry::layer`] to the
/// subscriber, and call [`Telemetry::shutdown`] before the process ends so
/// that spans still queued are sent.
pub struct Telemetry {
    provider: SdkTracerProvider,
    tracer: Tracer,
}

impl Telemetry {
    /// The exporter the environment asks for, or `None` when it asks for
    /// none: no `OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT`, or
    /// `OTEL_SDK_DISABLED=true`, or `OTEL_TRACES_EXPORTER=none`.
    ///
    /// The protocol is `http/protobuf` unless `OTEL_EXPORTER_OTLP_PROTOCOL`
    /// (or its `TRACES_` form) says `grpc` or `http/json`; headers, timeout
    /// and compression are read by the exporter from their usual variables;
    /// the service is `OTEL_SERVICE_NAME` (or `service.name` in
    /// `OTEL_RESOURCE_ATTRIBUTES`), else `service`.
    ///
    /// gRPC runs on the Tokio runtime of `runtime`, which must outlive
    /// [`Telemetry::shutdown`].
    pub fn from_env(service: &str, runtime: &tokio::runtime::Handle) -> Result<Option<Self>, TelemetryError> {
        if !wanted() {
            return Ok(None);
        }
        let exporter = match protocol()?.as_str() {
            "grpc" => {
                let _entered = runtime.enter();
                SpanExporter::builder().with_tonic().build()?
            }
            "http/json" => SpanExporter::builder().with_http().with_protocol(Protocol::HttpJson).build()?,
            _ => SpanExporter::builder().with_http().with_protocol(Protocol::HttpBinary).build()?,
        };
        let mut resource = Resource::builder();
        if !service_named() {
            resource = resource.with_service_name(service.to_owned());
        }
        let provider =
            SdkTracerProvider::builder().with_resource(resource.build()).with_batch_exporter(exporter).build();
        let tracer = provider.tracer("herd");
        Ok(Some(Self { provider, tracer }))
    }

    /// The subscriber layer that turns herd's MCP spans (and nothing else)
    /// into OpenTelemetry spans. Spans are made from the moment it exists.
    pub fn layer<S>(&self) -> impl Layer<S> + Send + Sync + use<S>
    where
        S: Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
    {
        ENABLED.store(true, Ordering::Relaxed);
        let only_ours = Targets::new().with_target(TARGET, tracing::Level::TRACE);
        // Only the conventions' attributes: no source locations, threads,
        // targets or busy/idle times.
        tracing_opentelemetry::layer()
            .with_tracer(self.tracer.clone())
            .with_location(false)
            .with_threads(false)
            .with_target(false)
            .with_level(false)
            .with_tracked_inactivity(false)
            .with_filter(only_ours)
    }

    /// Stops making spans and sends those still queued, waiting at most
    /// `deadline`. Blocks: call it outside the async runtime.
    pub fn shutdown(self, deadline: Duration) -> Result<(), String> {
        ENABLED.store(false, Ordering::Relaxed);
        self.provider.shutdown_with_timeout(deadline).map_err(|e| e.to_string())
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// Whether the environment asks for trace export at all.
fn wanted() -> bool {
    let endpoint = var(TRACES_ENDPOINT).or_else(|| var(ENDPOINT)).is_some();
    let disabled = var("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let no_exporter = var("OTEL_TRACES_EXPORTER").is_some_and(|v| v.eq_ignore_ascii_case("none"));
    endpoint && !disabled && !no_exporter
}

/// The protocol asked for; `http/protobuf` by default, as the
/// specification says.
fn protocol() -> Result<String, TelemetryError> {
    let asked = var(TRACES_PROTOCOL).or_else(|| var(PROTOCOL)).unwrap_or_else(|| "http/protobuf".into());
    match asked.as_str() {
        "grpc" | "http/protobuf" | "http/json" => Ok(asked),
        _ => Err(TelemetryError::Protocol(asked)),
    }
}

/// Whether the environment names the service itself.
fn service_named() -> bool {
    var("OTEL_SERVICE_NAME").is_some()
        || var("OTEL_RESOURCE_ATTRIBUTES").is_some_and(|attrs| {
            attrs.split(',').any(|kv| kv.split_once('=').is_some_and(|(k, _)| k.trim() == "service.name"))
        })
}
