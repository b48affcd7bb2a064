#![allow(unreachable_pub)]
//! An OTLP/HTTP trace receiver on loopback: decodes each export with the
//! protocol's own protobuf definitions (`opentelemetry-proto`) and keeps
//! the spans, so a test can wait for the ones it expects.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::any_value;
use parking_lot::Mutex;
use prost::Message as _;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::{Instant, timeout_at};

/// One exported span, flattened.
#[derive(Debug, Clone)]
pub struct Span {
    pub service: String,
    pub name: String,
    /// 2 SERVER, 3 CLIENT.
    pub kind: i32,
    pub trace_id: String,
    pub span_id: String,
    pub parent_span_id: String,
    /// Every attribute, its value as text.
    pub attributes: HashMap<String, String>,
    /// 2 ERROR.
    pub status: i32,
}

impl Span {
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).map(String::as_str)
    }
}

#[derive(Default)]
struct Received {
    spans: Mutex<Vec<Span>>,
    exports: Mutex<usize>,
    arrived: Notify,
}

/// The receiver; stops when dropped.
pub struct Receiver {
    /// `http://127.0.0.1:PORT`, for `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub endpoint: String,
    received: Arc<Received>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the receiver");
        let endpoint = format!("http://{}", listener.local_addr().expect("an address"));
        let received = Arc::new(Received::default());
        let app = axum::Router::new().route("/v1/traces", axum::routing::post(export)).with_state(received.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver { endpoint, received, task }
    }

    /// How many export requests arrived.
    pub fn exports(&self) -> usize {
        *self.received.exports.lock()
    }

    /// Waits (bounded by `limit`) until `done` holds for the spans
    /// received, and returns them.
    pub async fn wait_for(&self, limit: Duration, done: impl Fn(&[Span]) -> bool) -> Vec<Span> {
        let deadline = Instant::now() + limit;
        loop {
            let arrived = self.received.arrived.notified();
            let spans = self.received.spans.lock().clone();
            if done(&spans) {
                return spans;
            }
            if timeout_at(deadline, arrived).await.is_err() {
                panic!("the spans awaited did not arrive within {limit:?}; received: {spans:#?}");
            }
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn export(State(received): State<Arc<Received>>, headers: HeaderMap, body: Bytes) -> (StatusCode, Vec<u8>) {
    let protobuf = headers.get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes() == b"application/x-protobuf");
    let Ok(request) = ExportTraceServiceRequest::decode(body).map_err(|e| e.to_string()) else {
        return (StatusCode::BAD_REQUEST, Vec::new());
    };
    if !protobuf {
        return (StatusCode::UNSUPPORTED_MEDIA_TYPE, Vec::new());
    }
    let mut spans = Vec::new();
    for resource_spans in request.resource_spans {
        let service = resource_spans
            .resource
            .iter()
            .flat_map(|r| &r.attributes)
            .find(|kv| kv.key == "service.name")
            .map(|kv| text(kv.value.as_ref().and_then(|v| v.value.as_ref())))
            .unwrap_or_default();
        for span in resource_spans.scope_spans.into_iter().flat_map(|s| s.spans) {
            let attributes = span
                .attributes
                .iter()
                .map(|kv| (kv.key.clone(), text(kv.value.as_ref().and_then(|v| v.value.as_ref()))));
            spans.push(Span {
                service: service.clone(),
                name: span.name,
                kind: span.kind,
                trace_id: hex(&span.trace_id),
                span_id: hex(&span.span_id),
                parent_span_id: hex(&span.parent_span_id),
                attributes: attributes.collect(),
                status: span.status.map(|s| s.code).unwrap_or_default(),
            });
        }
    }
    received.spans.lock().extend(spans);
    *received.exports.lock() += 1;
    received.arrived.notify_waiters();
    (StatusCode::OK, ExportTraceServiceResponse::default().encode_to_vec())
}

fn text(value: Option<&any_value::Value>) -> String {
    match value {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
