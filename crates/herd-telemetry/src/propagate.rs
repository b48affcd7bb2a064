//! W3C trace context in and out: HTTP headers, and `params._meta` for
//! every transport (stdio has nothing else).

use crate::enabled;
use crate::span::Transport;
use futures_util::future::Either;
use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::Context;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator as _};
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use std::collections::HashMap;
use tokio::task::futures::TaskLocalFuture;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

tokio::task_local! {
    static INBOUND: Inbound;
}

/// How the request being answered arrived: its transport, and the trace
/// context of its HTTP headers. Set by the transport around the handler
/// ([`within`]), read when the server span starts.
#[derive(Debug, Clone)]
pub struct Inbound {
    pub(crate) transport: Transport,
    pub(crate) parent: Option<Context>,
}

impl Inbound {
    /// A request that came over HTTP with `headers`; `None` while tracing
    /// is off.
    pub fn http(headers: &HeaderMap) -> Option<Self> {
        if !enabled() || !headers.contains_key("traceparent") {
            return enabled().then_some(Self { transport: Transport::Tcp, parent: None });
        }
        let parent = TraceContextPropagator::new().extract(&Headers(headers));
        let parent = parent.span().span_context().is_valid().then_some(parent);
        Some(Self { transport: Transport::Tcp, parent })
    }

    /// A request that came over stdio; `None` while tracing is off.
    pub fn pipe() -> Option<Self> {
        enabled().then_some(Self { transport: Transport::Pipe, parent: None })
    }

    pub(crate) fn current() -> Option<Self> {
        INBOUND.try_with(Clone::clone).ok()
    }
}

/// Runs `future` with `inbound` as how its request arrived; as it is when
/// there is none (tracing off).
pub fn within<F: Future>(inbound: Option<Inbound>, future: F) -> Either<TaskLocalFuture<Inbound, F>, F> {
    match inbound {
        Some(inbound) => Either::Left(INBOUND.scope(inbound, future)),
        None => Either::Right(future),
    }
}

/// Adds `traceparent` (and `tracestate`) of the current span to the
/// headers of an outgoing request. Nothing while tracing is off.
pub fn inject_headers(headers: &mut HeaderMap) {
    for (key, value) in meta_entries().into_iter().flatten() {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(key), HeaderValue::try_from(value)) {
            headers.insert(name, value);
        }
    }
}

/// The `traceparent` (and `tracestate`) of the current span, for the
/// `params._meta` of an outgoing request; `None` while tracing is off or
/// outside any span.
pub fn meta_entries() -> Option<Vec<(String, String)>> {
    if !enabled() {
        return None;
    }
    let context = tracing::Span::current().context();
    if !context.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&context, &mut Carrier(&mut carrier));
    let mut entries: Vec<_> = carrier.into_iter().collect();
    entries.sort();
    Some(entries)
}

/// The trace context in `params._meta`, if there is a valid one.
pub(crate) fn from_meta(params: &str) -> Option<Context> {
    #[derive(serde::Deserialize)]
    struct Params {
        #[serde(rename = "_meta")]
        meta: Option<HashMap<String, serde_json::Value>>,
    }
    if !params.contains("traceparent") {
        return None;
    }
    let meta = serde_json::from_str::<Params>(params).ok()?.meta?;
    let fields: HashMap<String, String> = meta
        .into_iter()
        .filter(|(k, _)| k == "traceparent" || k == "tracestate")
        .filter_map(|(k, v)| Some((k, v.as_str()?.to_owned())))
        .collect();
    let context = TraceContextPropagator::new().extract(&fields);
    context.span().span_context().is_valid().then_some(context)
}

struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

struct Carrier<'a>(&'a mut HashMap<String, String>);

impl Injector for Carrier<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key.to_owned(), value);
    }
}

#[cfg(test)]
mod tests;
