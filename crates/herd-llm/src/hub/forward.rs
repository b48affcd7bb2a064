//! One relayed request, from its body to its answer: resolve the model,
//! pick a member, send over its channel, fail over to another member
//! while nothing has reached the client yet, then relay the answer: a
//! stream event by event, anything else whole once its record is written.

use super::Inner;
use super::error::{RelayError, Shape};
use super::pick::{Picked, pick};
use super::record::LlmRecord;
use super::registry::Place;
use super::request::{self, Endpoint, Prepared};
use super::resolve::{Member, resolve};
use super::sse::Usage;
use super::stream::{Relayed, next_data};
use crate::wire::{FAILURE_HEADER, FORWARD_PREFIX, Failure};
use axum::response::Response;
use bytes::{Bytes, BytesMut};
use herd_auth::{Action, Model, Principal, allows};
use herd_proto::BoxFuture;
use herd_store::Outcome;
use http::{HeaderValue, header};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use std::sync::Arc;
use tokio::time::Instant;

/// Largest agent error body read.
const MAX_FAILURE_BYTES: usize = 64 * 1024;

/// What one try at one member gave.
enum Tried {
    /// The answer's head and its first data (if any).
    Answer { head: http::response::Parts, body: Incoming, first: Option<Bytes> },
    /// Failed before anything reached the client; another member may be
    /// tried.
    Retry(RelayError),
    /// Failed; no other member is tried.
    Final(RelayError),
}

/// Relays `raw`, the body of a request to `endpoint` by `principal`.
pub(super) async fn relay(inner: Arc<Inner>, principal: Principal, endpoint: Endpoint, raw: Bytes) -> Response {
    let shape = endpoint.shape();
    let mut record = LlmRecord::begin(inner.audit.clone(), &principal, endpoint, &raw, inner.config.payloads);
    let mut prepared = match request::parse(&raw, inner.config.max_depth) {
        Ok(prepared) => prepared,
        Err(error) => return fail(record, error, shape).await,
    };
    // What the caller's role allows at all (agents: no models), asked of
    // the policy as for a public model nobody owns.
    let any = Model { name: &prepared.model, owner: None, visibility: herd_auth::Visibility::Public };
    if let Err(missing) = allows(&principal, &Action::UseModel(any)).into_result() {
        record.asked(&prepared.model, false);
        return fail(record, RelayError::Forbidden(missing.to_string()), shape).await;
    }
    let target = match resolve(&inner.registry.snapshot(), &principal, &prepared.model) {
        Ok(target) => target,
        Err(error) => {
            record.asked(&prepared.model, false);
            return fail(record, error, shape).await;
        }
    };
    record.asked(&prepared.model, true);
    prepared.prepare(endpoint, target.preset.as_ref());
    let deadline = Instant::now() + inner.config.queue_wait;
    let mut tried = Vec::new();
    let mut last: Option<RelayError> = None;
    loop {
        let Picked { index, place } = match pick(&inner, &target.members, &tried, deadline).await {
            Ok(picked) => picked,
            Err(error) => return fail(record, last.unwrap_or(error), shape).await,
        };
        tried.push(index);
        let member = &target.members[index];
        record.served(&member.host, &member.provider.name);
        let (head, body, first) = match attempt(&inner, member, &prepared, endpoint).await {
            Tried::Answer { head, body, first } => (head, body, first),
            Tried::Retry(error) => {
                tracing::info!(host = %member.host, provider = %member.provider.name, %error, "trying another member");
                last = Some(error);
                continue;
            }
            Tried::Final(error) => return fail(record, error, shape).await,
        };
        record.first_byte();
        let answer = Answer { head, body, first, place, record, shape };
        return answer.relay(&inner, prepared.strip_usage).await;
    }
}

/// A member's answer, its head and first data in.
struct Answer {
    head: http::response::Parts,
    body: Incoming,
    first: Option<Bytes>,
    place: Place,
    record: LlmRecord,
    shape: Shape,
}

impl Answer {
    /// A stream event by event; anything else (an error of the provider's
    /// own included) whole, once its record is committed. The whole path
    /// is boxed, so the future a stream's request waits in stays small.
    async fn relay(self, inner: &Inner, strip_usage: bool) -> Response {
        let content_type = self.head.headers.get(header::CONTENT_TYPE);
        let sse = content_type.and_then(|v| v.to_str().ok()).is_some_and(|ct| ct.starts_with("text/event-stream"));
        if !(sse && self.head.status.is_success()) {
            return Box::pin(self.whole(inner)).await;
        }
        let Answer { head, body, first, place, record, shape } = self;
        let stall = inner.config.stall_timeout;
        let relayed = Relayed { body, first, strip_usage, stall, shape, record, place };
        let mut response = Response::new(relayed.into_body());
        *response.status_mut() = head.status;
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        response
    }

    /// The answer read whole, answered once its record is committed.
    async fn whole(self, inner: &Inner) -> Response {
        let Answer { head, body, first, place, mut record, shape } = self;
        let answer = whole(inner, body, first).await;
        drop(place);
        let bytes = match answer {
            Ok(bytes) => bytes,
            Err(error) => return fail(record, error, shape).await,
        };
        if memchr::memmem::find(&bytes, b"\"usage\"").is_some()
            && let Ok(value) = serde_json::from_slice::<serde_json::Value>(&bytes)
        {
            record.usage(Usage::of_answer(&value));
        }
        let outcome = if head.status.is_success() { Outcome::Ok } else { Outcome::RpcError };
        let error = (!head.status.is_success()).then(|| format!("the provider answered {}", head.status));
        record.finish(outcome, error.as_deref()).await;
        let mut response = Response::new(axum::body::Body::from(bytes));
        *response.status_mut() = head.status;
        if let Some(content_type) = head.headers.get(header::CONTENT_TYPE) {
            response.headers_mut().insert(header::CONTENT_TYPE, content_type.clone());
        }
        response
    }
}

/// Answers `error` to a request whose body was not taken, recording it.
pub(super) async fn refuse(inner: &Inner, principal: &Principal, endpoint: Endpoint, error: RelayError) -> Response {
    let record = LlmRecord::begin(inner.audit.clone(), principal, endpoint, &[], inner.config.payloads);
    fail(record, error, endpoint.shape()).await
}

/// Boxed: a failure is the rare path, and writing its record inline would
/// make the future of every relayed request as large as the write.
fn fail(record: LlmRecord, error: RelayError, shape: Shape) -> BoxFuture<'static, Response> {
    Box::pin(async move {
        record.finish(error.outcome(), Some(&error.to_string())).await;
        error.answer(shape)
    })
}

/// Sends `prepared` to `member` and waits for the answer's head and first
/// data, within the first-token limit.
async fn attempt(inner: &Inner, member: &Member, prepared: &Prepared, endpoint: Endpoint) -> Tried {
    let limit = inner.config.first_token_timeout;
    let host = &member.host;
    match tokio::time::timeout(limit, first(inner, member, prepared, endpoint)).await {
        Ok(tried) => tried,
        Err(_) => Tried::Final(RelayError::Timeout(format!("{host} sent no answer within {limit:?}"))),
    }
}

async fn first(inner: &Inner, member: &Member, prepared: &Prepared, endpoint: Endpoint) -> Tried {
    let host = &member.host;
    let uri = format!("http://{host}{FORWARD_PREFIX}{}/{}", segment(&member.provider.name), endpoint.path());
    let body = Full::new(prepared.for_provider(&member.provider.name)).map_err(|never| match never {}).boxed();
    let request = match http::Request::post(uri).header(header::CONTENT_TYPE, "application/json").body(body) {
        Ok(request) => request,
        Err(err) => {
            return Tried::Final(RelayError::BadRequest(format!(
                "cannot name provider {:?}: {err}",
                member.provider.name
            )));
        }
    };
    let response = match inner.channels.send(host, request).await {
        Ok(response) => response,
        Err(err) => return Tried::Retry(RelayError::Upstream(err.to_string())),
    };
    let (head, mut body) = response.into_parts();
    if let Some(failure) = head.headers.get(FAILURE_HEADER) {
        let failure = failure.to_str().ok().and_then(Failure::parse);
        let text = http_body_util::Limited::new(body, MAX_FAILURE_BYTES)
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let message = serde_json::from_slice::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
            .unwrap_or_else(|| format!("the agent of {host} failed"));
        let Some(failure) = failure else {
            return Tried::Retry(RelayError::Upstream(format!("{host}: {message}")));
        };
        let error = RelayError::Agent {
            status: failure.status(),
            code: failure.as_str(),
            message: format!("{host}: {message}"),
        };
        return if failure.may_retry_elsewhere() { Tried::Retry(error) } else { Tried::Final(error) };
    }
    match next_data(&mut body).await {
        Ok(first) => Tried::Answer { head, body, first },
        Err(err) => Tried::Retry(RelayError::Upstream(format!("the answer of {host} broke off: {err}"))),
    }
}

/// `name` as one path segment: every byte but `A-Z a-z 0-9 - . _ ~`
/// percent-encoded (a model id may hold `/` or `:`).
fn segment(name: &str) -> String {
    name.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The rest of a whole (not streamed) answer, each read within the stall
/// limit, up to the answer cap.
async fn whole(inner: &Inner, mut body: Incoming, first: Option<Bytes>) -> Result<Bytes, RelayError> {
    let mut out = BytesMut::new();
    if let Some(first) = first {
        out.extend_from_slice(&first);
    }
    let stall = inner.config.stall_timeout;
    loop {
        match tokio::time::timeout(stall, next_data(&mut body)).await {
            Err(_) => return Err(RelayError::Timeout(format!("the answer stalled for {stall:?}"))),
            Ok(Err(err)) => return Err(RelayError::Upstream(format!("the answer broke off: {err}"))),
            Ok(Ok(None)) => return Ok(out.freeze()),
            Ok(Ok(Some(data))) => {
                if out.len() + data.len() > inner.config.max_answer_bytes {
                    return Err(RelayError::Upstream(format!(
                        "the answer is larger than {} bytes",
                        inner.config.max_answer_bytes
                    )));
                }
                out.extend_from_slice(&data);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_provider_name_is_one_path_segment() {
        assert_eq!(super::segment("qwen3-8b_v1.2"), "qwen3-8b_v1.2");
        assert_eq!(super::segment("org/model:8b"), "org%2Fmodel%3A8b");
    }
}
