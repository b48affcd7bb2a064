//! The MCP path: `POST`, `GET`, `DELETE` and `OPTIONS` handlers.

use super::auth::bearer;
use super::config::{InvalidPath, check_path};
use super::error::HttpError;
use super::recheck::{self, Recheck};
use super::stateless;
use super::stream::{Frame, PendingOutbox, ReplayLimits, ReplayStream, StandaloneOutbox, Streams};
use super::{HttpConfig, guard, owner};
use axum::Extension;
use axum::Router as AxumRouter;
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use bytes::Bytes;
use herd_proto::{Message, Principal, ProtocolVersion, Request, RpcError, check_depth, error_json};
use herd_router::{Caller, Expiry, Owner, Router, Session, SharedOutbox};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::mpsc;

mod batch;

pub(super) const SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");
pub(super) const PROTOCOL_VERSION: HeaderName = HeaderName::from_static("mcp-protocol-version");
const LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");
pub(super) const EVENT_STREAM: &str = "text/event-stream";

struct Shared {
    router: Router,
    config: HttpConfig,
}

type App = State<Arc<Shared>>;

/// The axum app serving MCP at `config.path` (plus `/healthz`), ready for
/// [`super::serve`] or for `tower::ServiceExt::oneshot` in tests.
///
/// # Panics
/// When `config.path` is not a valid MCP path ([`check_path`]); a path
/// that comes from outside the program goes through [`try_app`].
pub fn app(router: Router, config: HttpConfig) -> AxumRouter {
    try_app(router, config).unwrap_or_else(|err| panic!("{err}"))
}

/// [`app`], or why `config.path` cannot be served: it must pass
/// [`check_path`], so it can neither collide with `/healthz`, `/readyz` or
/// `/metrics` (which would make axum panic) nor be read as a route pattern.
pub fn try_app(router: Router, config: HttpConfig) -> Result<AxumRouter, InvalidPath> {
    check_path(&config.path)?;
    let path = config.path.clone();
    let shared = Arc::new(Shared { router, config });
    let mcp = MethodRouter::new()
        .post(post)
        .get(get)
        .delete(delete)
        .options(options)
        .fallback(|| async { HttpError::MethodNotAllowed.into_response() });
    Ok(AxumRouter::new().route(&path, mcp).route("/healthz", axum::routing::get(|| async { "ok" })).with_state(shared))
}

// === POST ===

async fn post(
    State(app): App,
    client: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let cors = guard::accepted_origin(&app.config, &headers);
    let client = client.map(|Extension(ConnectInfo(addr))| addr);
    let response = match post_inner(&app, &headers, client, body).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    with_cors(response, cors)
}

struct Accepts {
    json: bool,
    sse: bool,
}

fn accepts(headers: &HeaderMap) -> Accepts {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Accepts { json: true, sse: true };
    };
    let any = accept.contains("*/*");
    Accepts {
        json: any || accept.contains("application/json") || accept.contains("application/*"),
        sse: any || accept.contains(EVENT_STREAM) || accept.contains("text/*"),
    }
}

async fn post_inner(
    app: &Shared,
    headers: &HeaderMap,
    client: Option<SocketAddr>,
    body: Body,
) -> Result<Response, HttpError> {
    let principal = guard::check(&app.config, headers).await?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !content_type.trim_start().to_ascii_lowercase().starts_with("application/json") {
        return Err(HttpError::UnsupportedMediaType);
    }
    let accept = accepts(headers);
    if !accept.json && !accept.sse {
        return Err(HttpError::NotAcceptable);
    }
    let bytes = read_body(app, headers, body).await?;
    check_depth(&bytes, app.config.max_json_depth)
        .map_err(|e| HttpError::Rpc(RpcError::invalid_request(e.to_string()), None))?;
    if Message::is_batch(&bytes) {
        return batch::post(app, headers, principal, &bytes, &accept).await;
    }
    let message = Message::parse(&bytes).map_err(|e| HttpError::Rpc(e.to_rpc_error(), e.id().cloned()))?;
    if stateless::is_stateless(headers, &message) {
        let caller = Caller { principal: Some(principal), address: client.map(|a| a.ip()) };
        return Ok(stateless::post(&app.router, headers, message, accept.sse, &app.config, caller).await);
    }
    check_version_header(headers)?;
    if let Message::Request(req) = &message
        && req.method == herd_proto::method::INITIALIZE
    {
        let Message::Request(req) = message else { unreachable!("matched above") };
        let checked = bearer(headers).filter(|_| app.config.auth.checks_credentials());
        let owner = owner::of(&principal, checked, client);
        let caller = Caller { principal: Some(principal), address: client.map(|a| a.ip()) };
        return initialize(app, req, &accept, owner, caller, headers).await;
    }
    let session = session_of(app, headers, &principal)?;
    match message {
        Message::Request(req) => Ok(answer(app, session, req, &accept, principal, headers).await),
        Message::Notification(n) => {
            session.handle_notification(n);
            Ok(StatusCode::ACCEPTED.into_response())
        }
        Message::Response(r) => {
            session.handle_response(r);
            Ok(StatusCode::ACCEPTED.into_response())
        }
    }
}

fn check_version_header(headers: &HeaderMap) -> Result<(), HttpError> {
    // A known revision other than the session's is tolerated: clients in the
    // wild send 2025-03-26 inside newer sessions.
    match headers.get(PROTOCOL_VERSION).map(|v| v.to_str().unwrap_or("")) {
        Some(v) if ProtocolVersion::parse(v).is_none() => {
            Err(HttpError::UnsupportedVersion(v.chars().take(40).collect()))
        }
        _ => Ok(()),
    }
}

async fn read_body(app: &Shared, headers: &HeaderMap, body: Body) -> Result<Bytes, HttpError> {
    let limit = app.config.max_body_bytes;
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(HttpError::PayloadTooLarge(limit));
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<LengthLimitError>() => Err(HttpError::PayloadTooLarge(limit)),
        Err(e) => Err(HttpError::BodyRead(e.to_string())),
    }
}

/// The session the request names, if `principal` may use it: a session of
/// someone else is answered exactly as one that does not exist.
fn session_of(app: &Shared, headers: &HeaderMap, principal: &Principal) -> Result<Arc<Session>, HttpError> {
    let id = headers.get(SESSION_ID).ok_or(HttpError::SessionRequired)?;
    let id = id.to_str().map_err(|_| HttpError::SessionNotFound)?;
    let session = app.router.session(id).ok_or(HttpError::SessionNotFound)?;
    if !session.belongs_to(principal) {
        tracing::debug!(%principal, "request for a session of another principal");
        return Err(HttpError::SessionNotFound);
    }
    Ok(session)
}

async fn initialize(
    app: &Shared,
    req: Request,
    accept: &Accepts,
    owner: Owner,
    caller: Caller,
    headers: &HeaderMap,
) -> Result<Response, HttpError> {
    let principal = caller.principal.clone();
    let session = app.router.open_session_as(owner, Expiry::WhenIdle, caller).map_err(HttpError::TooManySessions)?;
    let inbound = herd_telemetry::Inbound::http(headers);
    let answer = match principal {
        Some(principal) => herd_telemetry::within(inbound, session.handle_request_as(req, None, principal)).await,
        None => herd_telemetry::within(inbound, session.handle_request(req, None)).await,
    };
    if !session.is_initialized() {
        app.router.end_session(session.id());
    }
    let mut response = single(answer.unwrap_or_default(), accept);
    if session.is_initialized()
        && let Ok(value) = HeaderValue::from_str(session.id())
    {
        response.headers_mut().insert(SESSION_ID, value);
    }
    Ok(response)
}

/// Runs a request; answers JSON if the handler finishes before sending
/// anything, otherwise switches to an SSE stream (see the module docs).
///
/// A client that does not accept SSE always gets JSON: what the handler
/// sends while it works goes to the session's standalone GET stream when
/// one is open (as for any message without a request stream), and is
/// dropped otherwise; a server-to-client request then fails at once.
async fn answer(
    app: &Shared,
    session: Arc<Session>,
    req: Request,
    accept: &Accepts,
    principal: Principal,
    headers: &HeaderMap,
) -> Response {
    if !accept.sse {
        let id = req.id.clone();
        let work = session.handle_request_as(req, None, principal);
        let answer = herd_telemetry::within(herd_telemetry::Inbound::http(headers), work).await;
        return json_response(answer.unwrap_or_else(|| error_json(Some(&id), &RpcError::cancelled())));
    }
    let (tx, mut rx) = mpsc::unbounded_channel();
    let outbox: Option<SharedOutbox> = Some(Arc::new(PendingOutbox(tx)));
    let id = req.id.clone();
    let handler_session = session.clone();
    let inbound = herd_telemetry::Inbound::http(headers);
    let mut work = Box::pin(herd_telemetry::within(inbound, async move {
        handler_session.handle_request_as(req, outbox, principal).await
    }));
    let mut early = Vec::new();
    let mut finished = None;
    if accept.json {
        tokio::select! {
            biased;
            answer = &mut work => {
                // Messages sent just before finishing still need a stream.
                while let Ok(frame) = rx.try_recv() {
                    early.push(frame);
                }
                if early.is_empty() {
                    return json_response(answer.unwrap_or_else(|| error_json(Some(&id), &RpcError::cancelled())));
                }
                finished = Some(answer);
            }
            // A handler that let go of its outbox can send nothing more
            // (`None` disables this branch): its answer still goes as JSON.
            Some(frame) = rx.recv() => early.push(frame),
        }
    }
    let Some(streams) = streams_of(&session) else {
        return json_response(error_json(Some(&id), &RpcError::internal("session state unavailable")));
    };
    let prime = session.protocol_version().is_some_and(|v| v >= ProtocolVersion::V2025_11_25);
    let stream = streams.open(replay_limits(&app.config), app.config.sse_retry_ms, prime);
    for frame in early {
        apply(&stream, frame);
    }
    let retention = app.config.stream_retention;
    if let Some(answer) = finished {
        if let Some(text) = answer {
            let _ = stream.push(&text);
        }
        stream.finish();
        streams.retire(&stream, retention);
        return sse(stream, 0, session, app, headers);
    }
    let pump_stream = stream.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                biased;
                Some(frame) = rx.recv() => apply(&pump_stream, frame),
                answer = &mut work => {
                    while let Ok(frame) = rx.try_recv() {
                        apply(&pump_stream, frame);
                    }
                    if let Some(text) = answer {
                        let _ = pump_stream.push(&text);
                    }
                    pump_stream.finish();
                    streams.retire(&pump_stream, retention);
                    return;
                }
            }
        }
    });
    sse(stream, 0, session, app, headers)
}

fn apply(stream: &ReplayStream, frame: Frame) {
    match frame {
        Frame::Message(text) => {
            let _ = stream.push(&text);
        }
        Frame::Close => stream.disconnect_readers(),
    }
}

fn replay_limits(config: &HttpConfig) -> ReplayLimits {
    ReplayLimits { events: config.max_stream_events, bytes: config.max_stream_bytes }
}

fn streams_of(session: &Session) -> Option<Arc<Streams>> {
    session.extension(Streams::default)
}

// === GET ===

async fn get(State(app): App, headers: HeaderMap) -> Response {
    let cors = guard::accepted_origin(&app.config, &headers);
    let response = match get_inner(&app, &headers).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    with_cors(response, cors)
}

async fn get_inner(app: &Shared, headers: &HeaderMap) -> Result<Response, HttpError> {
    let principal = guard::check(&app.config, headers).await?;
    if !accepts(headers).sse {
        return Err(HttpError::SseNotAccepted);
    }
    check_version_header(headers)?;
    let session = session_of(app, headers, &principal)?;
    let streams = streams_of(&session).ok_or(HttpError::SessionNotFound)?;
    if let Some(last) = headers.get(LAST_EVENT_ID) {
        let last = last.to_str().unwrap_or("");
        let (stream, after) =
            streams.resume(last).ok_or_else(|| HttpError::StreamNotFound(last.chars().take(60).collect()))?;
        return Ok(sse(stream, after, session, app, headers));
    }
    let stream = streams.open(replay_limits(&app.config), app.config.sse_retry_ms, false);
    streams.replace_standalone(stream.clone());
    session.set_standalone(Some(Arc::new(StandaloneOutbox(stream.clone()))));
    Ok(sse(stream, 0, session, app, headers))
}

/// An SSE response reading `stream` after event `after`, ended when the
/// request's credentials stop being accepted (`recheck`).
fn sse(stream: Arc<ReplayStream>, after: u64, session: Arc<Session>, app: &Shared, headers: &HeaderMap) -> Response {
    let id = HeaderValue::from_str(session.id()).ok();
    let reader = stream.reader(after, session, app.config.sse_keep_alive);
    let body = recheck::body(reader, Recheck::of(&app.config, headers));
    let mut response = Response::new(body);
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(EVENT_STREAM));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Some(id) = id {
        h.insert(SESSION_ID, id);
    }
    response
}

// === DELETE, OPTIONS ===

async fn delete(State(app): App, headers: HeaderMap) -> Response {
    let cors = guard::accepted_origin(&app.config, &headers);
    let outcome = guard::check(&app.config, &headers).await.and_then(|p| session_of(&app, &headers, &p));
    let response = match outcome {
        Ok(session) => {
            if let Some(streams) = streams_of(&session) {
                streams.finish_all();
            }
            app.router.end_session(session.id());
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => e.into_response(),
    };
    with_cors(response, cors)
}

async fn options(State(app): App, headers: HeaderMap) -> Response {
    // Preflights carry no Authorization header; only the origin is judged.
    if let Err(e) = guard::check_origin(&app.config, &headers) {
        return e.into_response();
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    let h = response.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST, DELETE, OPTIONS"));
    h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, allowed_headers(&headers));
    h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("86400"));
    with_cors(response, guard::accepted_origin(&app.config, &headers))
}

/// The headers a browser may send: herd's own, and the `Mcp-Param-*`
/// headers the preflight asks for (their names depend on the tool called).
fn allowed_headers(request: &HeaderMap) -> HeaderValue {
    const FIXED: &str = "authorization, content-type, accept, mcp-session-id, mcp-protocol-version, mcp-method, mcp-name, last-event-id";
    let requested = request.get(header::ACCESS_CONTROL_REQUEST_HEADERS).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mut allowed = String::from(FIXED);
    for name in requested.split(',').map(str::trim).take(64) {
        let lower = name.to_ascii_lowercase();
        if lower.starts_with(herd_router::PARAM_HEADER_PREFIX) && HeaderName::from_bytes(lower.as_bytes()).is_ok() {
            allowed.push_str(", ");
            allowed.push_str(&lower);
        }
    }
    HeaderValue::from_str(&allowed).unwrap_or(HeaderValue::from_static(FIXED))
}

// === helpers ===

pub(super) fn json_response(text: String) -> Response {
    let mut response = Response::new(Body::from(text));
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// One message as JSON, or as a one-event SSE stream for clients that only
/// take SSE.
fn single(text: String, accept: &Accepts) -> Response {
    if accept.json {
        return json_response(text);
    }
    let mut response = Response::new(Body::from(format!("data: {text}\n\n")));
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(EVENT_STREAM));
    response
}

/// Echoes an accepted Origin (`guard::accepted_origin`) so browser
/// clients can read the response and the session id.
fn with_cors(mut response: Response, origin: Option<HeaderValue>) -> Response {
    if let Some(origin) = origin {
        let h = response.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("mcp-session-id"));
        h.insert(header::VARY, HeaderValue::from_static("origin"));
    }
    response
}
