//! A [`Backend`] that forwards to an [`Upstream`] without losing anything.

use crate::Upstream;
use herd_proto::{
    Backend, BoxFuture, Context, ListKind, MemberName, Message, Notification, OnBehalfOf, PRINCIPAL_META, Request,
    RequestId, Response, RpcError, code, method,
};
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;

/// Settings of a [`Relay`].
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// Longest a forwarded request may take.
    pub call_timeout: Duration,
    /// Capabilities to declare for the upstream (its own are learned only
    /// once connected; the default declares everything, and calls the
    /// upstream does not support fail there).
    pub capabilities: Arc<Map<String, Value>>,
    /// Most pages followed when listing.
    pub max_list_pages: usize,
    /// Name the request's principal to the upstream in `params._meta`
    /// ([`herd_proto::PRINCIPAL_META`]), replacing any the client put
    /// there: for a hub's agents, whose audit attributes the call. Off for
    /// other servers, which have no use for who asked.
    pub forward_principal: bool,
}

impl Default for RelayConfig {
    fn default() -> Self {
        static EVERYTHING: std::sync::OnceLock<Arc<Map<String, Value>>> = std::sync::OnceLock::new();
        let capabilities = EVERYTHING.get_or_init(|| {
            let all = json!({
                "tools": { "listChanged": true },
                "resources": { "subscribe": true, "listChanged": true },
                "prompts": { "listChanged": true },
                "completions": {},
                "logging": {}
            });
            Arc::new(all.as_object().cloned().unwrap_or_default())
        });
        Self {
            call_timeout: Duration::from_secs(300),
            capabilities: capabilities.clone(),
            max_list_pages: 100,
            forward_principal: false,
        }
    }
}

/// Forwards requests to an upstream server.
pub struct Relay {
    upstream: Arc<dyn Upstream>,
    config: RelayConfig,
    tokens: Arc<AtomicU64>,
}

impl Relay {
    /// A relay to `upstream`.
    pub fn new(upstream: Arc<dyn Upstream>, config: RelayConfig) -> Self {
        Self { upstream, config, tokens: Arc::new(AtomicU64::new(1)) }
    }
}

impl Backend for Relay {
    fn capabilities(&self) -> Map<String, Value> {
        (*self.config.capabilities).clone()
    }

    fn list(&self, kind: ListKind, _cx: Context) -> BoxFuture<'static, Result<Vec<Box<RawValue>>, RpcError>> {
        let upstream = self.upstream.clone();
        let config = self.config.clone();
        Box::pin(async move { list_all(&*upstream, kind, &config).await })
    }

    fn call(&self, req: Request, cx: Context) -> BoxFuture<'static, Result<Box<RawValue>, RpcError>> {
        let upstream = self.upstream.clone();
        let timeout = self.config.call_timeout;
        let token =
            cx.meta().progress_token.as_ref().map(|_| format!("herd-{}", self.tokens.fetch_add(1, Ordering::Relaxed)));
        let forward_principal = self.config.forward_principal;
        Box::pin(async move { forward(upstream, req, cx, timeout, token, forward_principal).await })
    }

    fn notify(&self, notification: &Notification) {
        if notification.method == method::ROOTS_LIST_CHANGED {
            let upstream = self.upstream.clone();
            let notification = notification.clone();
            tokio::spawn(async move { upstream.notify(notification).await });
        }
    }
}

async fn forward(
    upstream: Arc<dyn Upstream>,
    req: Request,
    cx: Context,
    timeout: Duration,
    token: Option<String>,
    forward_principal: bool,
) -> Result<Box<RawValue>, RpcError> {
    let principal = match (forward_principal, &cx.meta().principal) {
        (false, _) => Claim::Keep,
        (true, Some(principal)) => Claim::Set(to_raw(&OnBehalfOf::of(principal))?),
        (true, None) => Claim::Remove,
    };
    // The trace context of the call, for an upstream that reads it from
    // `_meta` (stdio has no other carrier); replaces one the client sent.
    let trace = herd_telemetry::meta_entries();
    let params = match (token.as_deref(), &principal, trace, req.params) {
        (None, Claim::Keep, None, params) | (_, _, _, params @ None) => params,
        (token, principal, trace, Some(params)) => {
            Some(with_meta(&params, token, principal, trace.as_deref().unwrap_or_default())?)
        }
    };
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let call = upstream.request(&req.method, params, req.extra, events_tx);
    let mut abandon = Abandon { upstream: upstream.clone(), id: Some(call.id) };
    let mut response = call.response;
    let mut stream_closes = call.stream_closes;
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            biased;
            Some(message) = events.recv() => pass_back(&upstream, &cx, message, token.as_deref()),
            // After `events`: what the upstream sent before it closed its
            // stream reaches the client's stream before that closes too.
            Some(()) = next_close(&mut stream_closes) => cx.close_stream(),
            outcome = &mut response => {
                while let Ok(message) = events.try_recv() {
                    pass_back(&upstream, &cx, message, token.as_deref());
                }
                abandon.id = None;
                return match outcome {
                    Ok(answer) => answer.into_result(),
                    Err(err) => Err(err.to_rpc_error()),
                };
            }
            () = &mut deadline => {
                let seconds = timeout.as_secs_f64();
                let message = format!("{} did not answer {} within {seconds:.1}s", upstream.describe(), req.method);
                return Err(RpcError::new(code::UPSTREAM_UNAVAILABLE, message));
            }
        }
    }
}

/// The upstream's next report that it closed the call's stream; `None`
/// when it reports no such thing (the `select!` branch then stays off).
async fn next_close(closes: &mut Option<mpsc::UnboundedReceiver<()>>) -> Option<()> {
    match closes {
        Some(closes) => closes.recv().await,
        None => None,
    }
}

/// Hands a message the upstream sent during a call to the client.
fn pass_back(upstream: &Arc<dyn Upstream>, cx: &Context, message: Message, token: Option<&str>) {
    match message {
        Message::Notification(n) if n.method == method::PROGRESS => {
            let (Some(token), Some(original), Some(params)) = (token, &cx.meta().progress_token, n.params) else {
                return;
            };
            if let Some(params) = swap_token(&params, token, original) {
                cx.notify_raw(method::PROGRESS, params);
            }
        }
        Message::Notification(n) => cx.notify_raw(&n.method, n.params.unwrap_or_else(empty)),
        Message::Request(r) => {
            let params = r.params.unwrap_or_else(empty);
            let key = input_key(&params);
            let question = cx.ask_raw(key.as_deref(), &r.method, params);
            let upstream = upstream.clone();
            let id = r.id;
            tokio::spawn(async move {
                let answer = match question.await {
                    Ok(result) => Response::result(id, result),
                    Err(err) => Response::error(id, &err),
                };
                if let Err(err) = upstream.respond(answer).await {
                    tracing::debug!(%err, "could not return the client's answer upstream");
                }
            });
        }
        Message::Response(_) => {}
    }
}

/// The key a herd upstream asked its question under, if it named one.
fn input_key(params: &RawValue) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Params {
        #[serde(rename = "_meta")]
        meta: Option<Meta>,
    }
    #[derive(serde::Deserialize)]
    struct Meta {
        #[serde(rename = "herd/inputKey")]
        key: Option<String>,
    }
    if !params.get().contains(herd_proto::INPUT_KEY_META) {
        return None;
    }
    serde_json::from_str::<Params>(params.get()).ok()?.meta?.key
}

/// Sends `notifications/cancelled` upstream for a call nobody waits for.
struct Abandon {
    upstream: Arc<dyn Upstream>,
    id: Option<RequestId>,
}

impl Drop for Abandon {
    fn drop(&mut self) {
        let Some(id) = self.id.take() else { return };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let params = json!({ "requestId": id, "reason": "cancelled by the client" });
        let Ok(params) = serde_json::value::to_raw_value(&params) else { return };
        let upstream = self.upstream.clone();
        runtime.spawn(async move { upstream.notify(Notification::new(method::CANCELLED, Some(params))).await });
    }
}

type Members = BTreeMap<String, Box<RawValue>>;

fn members(raw: &RawValue) -> Result<Members, RpcError> {
    serde_json::from_str(raw.get()).map_err(|e| RpcError::invalid_params(format!("params must be an object: {e}")))
}

/// An object's members as the bytes that came, names borrowed unless
/// escaped: read without copying what is only passed on.
struct Borrowed<'a>(BTreeMap<Cow<'a, str>, &'a RawValue>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for Borrowed<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Members<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Members<'a> {
            type Value = Borrowed<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut members = BTreeMap::new();
                while let Some((MemberName(key), value)) = map.next_entry::<MemberName<'a>, &'de RawValue>()? {
                    members.insert(key, value);
                }
                Ok(Borrowed(members))
            }
        }
        deserializer.deserialize_map(Members(std::marker::PhantomData))
    }
}

fn borrowed(raw: &RawValue) -> Result<BTreeMap<Cow<'_, str>, &RawValue>, RpcError> {
    serde_json::from_str::<Borrowed<'_>>(raw.get())
        .map(|b| b.0)
        .map_err(|e| RpcError::invalid_params(format!("params must be an object: {e}")))
}

fn to_raw<T: serde::Serialize>(value: &T) -> Result<Box<RawValue>, RpcError> {
    serde_json::value::to_raw_value(value).map_err(|e| RpcError::internal(e.to_string()))
}

fn empty() -> Box<RawValue> {
    RawValue::from_string("{}".into()).expect("{} is JSON")
}

/// What a forwarded request says of its principal.
enum Claim {
    /// Whatever the client sent.
    Keep,
    /// This [`OnBehalfOf`].
    Set(Box<RawValue>),
    /// Nothing (herd's own work names nobody).
    Remove,
}

/// `params` with `_meta.progressToken` set to `token` (when given), the
/// principal claim set as `principal` says and the `trace` entries
/// (`traceparent`, `tracestate`) set; every other member stays byte for
/// byte.
fn with_meta(
    params: &RawValue,
    token: Option<&str>,
    principal: &Claim,
    trace: &[(String, String)],
) -> Result<Box<RawValue>, RpcError> {
    let mut top = borrowed(params)?;
    let mut meta: BTreeMap<Cow<'_, str>, Cow<'_, RawValue>> = match top.get("_meta") {
        Some(raw) => borrowed(raw)?.into_iter().map(|(k, v)| (k, Cow::Borrowed(v))).collect(),
        None => BTreeMap::new(),
    };
    if let Some(token) = token {
        meta.insert(Cow::Borrowed("progressToken"), Cow::Owned(to_raw(&token)?));
    }
    match principal {
        Claim::Keep => {}
        Claim::Set(claim) => {
            meta.insert(Cow::Borrowed(PRINCIPAL_META), Cow::Borrowed(&**claim));
        }
        Claim::Remove => {
            meta.remove(PRINCIPAL_META);
        }
    }
    for (key, value) in trace {
        meta.insert(Cow::Borrowed(key.as_str()), Cow::Owned(to_raw(value)?));
    }
    let meta = to_raw(&meta)?;
    top.insert(Cow::Borrowed("_meta"), &meta);
    to_raw(&top)
}

/// A progress notification's params with our token replaced by the
/// client's; `None` if it is not ours.
fn swap_token(params: &RawValue, ours: &str, original: &RawValue) -> Option<Box<RawValue>> {
    let mut top = members(params).ok()?;
    let theirs: String = serde_json::from_str(top.get("progressToken")?.get()).ok()?;
    if theirs != ours {
        return None;
    }
    top.insert("progressToken".into(), original.to_owned());
    to_raw(&top).ok()
}

async fn list_all(
    upstream: &dyn Upstream,
    kind: ListKind,
    config: &RelayConfig,
) -> Result<Vec<Box<RawValue>>, RpcError> {
    let mut entries = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..config.max_list_pages {
        let params = cursor.as_ref().map(|c| to_raw(&json!({ "cursor": c }))).transpose()?;
        let (events, _ignored) = mpsc::unbounded_channel();
        let call = upstream.request(kind.method(), params, Vec::new(), events);
        let answer = tokio::time::timeout(config.call_timeout, call.response)
            .await
            .map_err(|_| {
                RpcError::new(code::UPSTREAM_UNAVAILABLE, format!("{} did not list in time", upstream.describe()))
            })?
            .map_err(|e| e.to_rpc_error())?;
        let page = members(&answer.into_result()?)?;
        if let Some(list) = page.get(kind.key()) {
            let list: Vec<Box<RawValue>> = serde_json::from_str(list.get())
                .map_err(|e| RpcError::internal(format!("{}: bad {} list: {e}", upstream.describe(), kind.key())))?;
            entries.extend(list);
        }
        match page.get("nextCursor").and_then(|c| serde_json::from_str::<String>(c.get()).ok()) {
            Some(next) if Some(&next) != cursor.as_ref() => cursor = Some(next),
            _ => return Ok(entries),
        }
    }
    Ok(entries)
}

#[cfg(test)]
mod tests;
