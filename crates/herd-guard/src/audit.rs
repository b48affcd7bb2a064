//! One audit record per request that reaches a tool, resource, prompt or
//! completion.
//!
//! [`Audit::begin`] starts the record when the request arrives, from what
//! the request's context knows (principal, session, client) and the request
//! itself (method, target, a digest of the arguments); [`Pending::finish`]
//! adds the outcome, the duration and the host(s) and path the result
//! names (`structuredContent.host`/`via`, which the hub adds to its
//! results), and returns once the record is committed: the caller answers
//! only after that. A request whose handler is dropped before it finished
//! (the client cancelled, the session ended) is recorded `cancelled` from
//! [`Pending`]'s `Drop`, without waiting.
//!
//! Requests without a principal (herd's own background work) are not
//! audited. A request a hub forwarded is attributed to the principal the
//! hub names in its `_meta` ([`OnBehalfOf`]), when the caller is trusted
//! to name one; the record's client is then the hub. That record is
//! queued, not awaited: the hub authorized the call and holds its durable
//! record, committed before the answer leaves the hub, so the hop pays
//! for one commit, not two.

use herd_proto::{Context, OnBehalfOf, Request, RpcError, code, method};
use herd_store::{AuditPath, AuditRecord, AuditWriter, ERROR_CAP, Outcome, StoreError, Timestamp};
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::time::Instant;

/// Where audit records go, and whether argument values are kept
/// (`audit.payloads`). Cheap to clone.
#[derive(Clone, Debug)]
pub struct Audit {
    writer: AuditWriter,
    payloads: bool,
}

impl Audit {
    /// Records written by `writer`; argument values kept only when
    /// `payloads` (their digest and size always are).
    pub fn new(writer: AuditWriter, payloads: bool) -> Self {
        Self { writer, payloads }
    }

    /// Starts the record of `req`: `None` for herd's own background work
    /// and for methods that reach nothing audited (subscriptions, unknown
    /// methods).
    pub fn begin(&self, req: &Request, cx: &Context) -> Option<Pending> {
        let principal = cx.meta().principal.as_ref()?;
        if !audited(&req.method) {
            return None;
        }
        let params = req.params.as_deref().and_then(|p| serde_json::from_str::<Params<'_>>(p.get()).ok());
        let claim = params.as_ref().and_then(|p| p.meta.as_ref()).and_then(|m| m.principal.as_ref());
        let claim = claim.and_then(|c| serde_json::from_str::<OnBehalfOf>(c.get()).ok());
        let mut record = AuditRecord::new(Timestamp::now(), req.method.clone(), Outcome::Ok);
        let claim = claim.filter(|_| OnBehalfOf::trusted_from(principal));
        let forwarded = claim.is_some();
        match claim {
            Some(claim) => {
                record.user = claim.user;
                record.token_id = claim.token_id;
                record.oauth_subject = claim.oauth_subject;
            }
            None => record.attribute_to(principal),
        }
        let meta = cx.meta();
        record.session = meta.session_id.as_deref().map(str::to_owned);
        if let Some(client) = &meta.client {
            record.client_name = client.name.clone();
            record.client_version = client.version.clone();
            record.client_address = client.address.map(|a| a.to_string());
        }
        if let Some(params) = params {
            record.target = params.name.or(params.uri).or(params.target.and_then(|r| r.name.or(r.uri)));
            if let Some(args) = params.arguments.or(params.argument) {
                record.set_args(args.get().as_bytes(), self.payloads);
            }
        }
        Some(Pending { writer: self.writer.clone(), record: Some(record), started: Instant::now(), forwarded })
    }
}

/// Whether requests of `method` are audited.
pub(crate) fn audited(method: &str) -> bool {
    matches!(method, method::TOOLS_CALL | method::RESOURCES_READ | method::PROMPTS_GET | method::COMPLETION_COMPLETE)
}

/// The members of a request's params an audit record names.
#[derive(Deserialize)]
struct Params<'a> {
    name: Option<String>,
    uri: Option<String>,
    #[serde(borrow)]
    arguments: Option<&'a RawValue>,
    #[serde(borrow)]
    argument: Option<&'a RawValue>,
    #[serde(rename = "ref")]
    target: Option<Ref>,
    #[serde(rename = "_meta", borrow)]
    meta: Option<Meta<'a>>,
}

/// The `_meta` member an audit record reads: who a hub forwarded the
/// request for.
/// (Read apart, so a malformed claim costs only itself.)
#[derive(Deserialize)]
struct Meta<'a> {
    #[serde(rename = "herd/principal", borrow)]
    principal: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Ref {
    name: Option<String>,
    uri: Option<String>,
}

/// A record begun and not yet written. Dropping it unfinished records the
/// request as `cancelled`.
#[derive(Debug)]
pub struct Pending {
    writer: AuditWriter,
    record: Option<AuditRecord>,
    started: Instant,
    /// A hub forwarded the request: its record is queued, not awaited.
    forwarded: bool,
}

impl Pending {
    /// The host(s) the request went to and how, unless its result names
    /// them itself.
    pub fn at(&mut self, hosts: Vec<String>, path: Option<AuditPath>) {
        if let Some(record) = &mut self.record {
            record.hosts = hosts;
            record.path = path;
        }
    }

    /// Completes the record with how `result` ended and writes it; returns
    /// once it is committed (once it is queued, for a request a hub
    /// forwarded: see the module docs).
    ///
    /// # Cancel safety
    /// Once polled, the record is written whether or not the future is
    /// still there (see [`AuditWriter::append`]).
    pub async fn finish(mut self, result: &Result<Box<RawValue>, RpcError>) -> Result<(), StoreError> {
        let Some(mut record) = self.record.take() else { return Ok(()) };
        record.duration_ms = elapsed_ms(self.started);
        match result {
            Ok(raw) => describe_result(&mut record, raw),
            Err(err) => {
                record.outcome = match err.code {
                    code::FORBIDDEN => Outcome::Denied,
                    code::REQUEST_CANCELLED => Outcome::Cancelled,
                    code::UPSTREAM_UNAVAILABLE if err.message.contains("did not answer") => Outcome::Timeout,
                    _ => Outcome::RpcError,
                };
                record.error = Some(cut(&err.message));
            }
        }
        if self.forwarded { self.writer.submit(record).await } else { self.writer.append(record).await }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        let Some(mut record) = self.record.take() else { return };
        record.outcome = Outcome::Cancelled;
        record.duration_ms = elapsed_ms(self.started);
        let writer = self.writer.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    if let Err(e) = writer.append(record).await {
                        tracing::warn!(error = %e, "audit record of a cancelled request not written");
                    }
                });
            }
            Err(_) => tracing::warn!("audit record of a cancelled request dropped: no runtime"),
        }
    }
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// At most [`ERROR_CAP`] bytes (and a few more, so the store marks the cut).
fn cut(text: &str) -> String {
    let mut end = text.len().min(ERROR_CAP + 4);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// Outcome, error text, host(s) and path of a result, reading only the
/// members that say so (the rest may be large).
fn describe_result(record: &mut AuditRecord, raw: &RawValue) {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Probe<'a> {
        is_error: Option<serde_json::Value>,
        #[serde(borrow)]
        structured_content: Option<&'a RawValue>,
        #[serde(borrow)]
        content: Option<&'a RawValue>,
    }
    #[derive(Deserialize)]
    struct Served {
        host: Option<String>,
        via: Option<String>,
        #[serde(default)]
        results: Vec<Served>,
    }
    #[derive(Deserialize)]
    struct Text {
        text: Option<String>,
    }
    let Ok(probe) = serde_json::from_str::<Probe<'_>>(raw.get()) else { return };
    if probe.is_error.as_ref().and_then(serde_json::Value::as_bool) == Some(true) {
        record.outcome = Outcome::ToolError;
        let texts = probe.content.and_then(|c| serde_json::from_str::<Vec<Text>>(c.get()).ok());
        record.error = texts.and_then(|t| t.into_iter().find_map(|t| t.text)).map(|t| cut(&t));
    }
    let Some(served) = probe.structured_content.and_then(|s| serde_json::from_str::<Served>(s.get()).ok()) else {
        return;
    };
    let each = if served.host.is_some() { vec![served] } else { served.results };
    let hosts: Vec<String> = each.iter().filter_map(|s| s.host.clone()).collect();
    if hosts.is_empty() {
        return;
    }
    let paths: Vec<Option<AuditPath>> =
        each.iter().filter(|s| s.host.is_some()).map(|s| path(s.via.as_deref())).collect();
    record.path = paths.first().copied().flatten().filter(|p| paths.iter().all(|q| *q == Some(*p)));
    record.hosts = hosts;
}

fn path(via: Option<&str>) -> Option<AuditPath> {
    match via? {
        "agent" => Some(AuditPath::Agent),
        "ssh" => Some(AuditPath::Ssh),
        "channel" => Some(AuditPath::Channel),
        _ => None,
    }
}
