//! Protects the Streamable HTTP transport (`herd_transport::http::app`): the
//! guards (Host, Origin, bearer token), the header checks (Content-Type,
//! Accept, MCP-Protocol-Version, Mcp-Session-Id, Last-Event-ID,
//! Content-Length), the body limit and depth check, JSON-RPC parsing, session
//! handling, and the JSON-or-SSE answer path, all driven with `oneshot` against
//! the conformance catalog.
//!
//! Each input is a server configuration, an optional valid `initialize` (so a
//! live session exists and its id can be sent back), and up to three requests
//! whose method, path, headers and body the fuzzer picks. For every response:
//! - nothing panics and an answer comes within a (virtual) minute;
//! - the status is one the transport is meant to produce;
//! - a JSON body is one JSON-RPC response (result or error);
//! - an SSE body (at most a few chunks are read) is made of well-formed
//!   events whose data are JSON-RPC messages;
//! - 202 and 204 carry no body.

#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use axum::body::Body;
use herd_transport::http::{Authenticator, BearerAuth, HttpConfig, app};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use libfuzzer_sys::fuzz_target;
use std::time::Duration;
use tower::ServiceExt;

const TOKEN: &str = "fuzz-token";
const BEARER: &str = "Bearer fuzz-token";
const SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");
/// At most this many body chunks are read from a response.
const MAX_CHUNKS: usize = 6;
/// A chunk not ready within this (virtual) time ends the read.
const CHUNK_WAIT: Duration = Duration::from_millis(500);

/// Decoded from the control bytes. When they run out, `arbitrary` yields
/// the first variant of every enum, `false` and empty vectors, so the
/// all-default input is: an initialize prefix, then one POST to `/mcp` with
/// the usual headers and the tail of the input as its body.
#[derive(Arbitrary, Debug)]
struct Input {
    init: InitChoice,
    first: Req,
    more: Vec<Req>,
    config: ConfigChoice,
}

#[derive(Arbitrary, Debug)]
enum InitChoice {
    Yes(Init),
    No,
}

#[derive(Arbitrary, Debug)]
struct ConfigChoice {
    auth: bool,
    loopback_only: bool,
    small_body_limit: bool,
    fast_keep_alive: bool,
    few_stream_events: bool,
}

#[derive(Arbitrary, Debug)]
struct Init {
    version: Version,
    sse_only: bool,
    skip_initialized: bool,
}

#[derive(Arbitrary, Debug)]
enum Version {
    V2025_11_25,
    V2025_06_18,
    V2025_03_26,
    V2024_11_05,
    Raw(String),
}

impl Version {
    fn as_str(&self) -> &str {
        match self {
            Self::V2025_11_25 => "2025-11-25",
            Self::V2025_06_18 => "2025-06-18",
            Self::V2025_03_26 => "2025-03-26",
            Self::V2024_11_05 => "2024-11-05",
            Self::Raw(s) => s,
        }
    }
}

#[derive(Arbitrary, Debug)]
struct Req {
    method: Verb,
    path: PathChoice,
    body: BodyChoice,
    /// Applied over the defaults (JSON content type, both media types
    /// accepted, the live session, a loopback Host, the valid token).
    headers: Vec<HeaderChoice>,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Verb {
    Post,
    Get,
    Delete,
    Options,
    Head,
    Put,
    Patch,
}

#[derive(Arbitrary, Debug)]
enum PathChoice {
    Mcp,
    Healthz,
    Other,
}

#[derive(Arbitrary, Debug)]
enum HeaderChoice {
    Remove(Defaulted),
    ContentType(ContentType),
    Accept(AcceptChoice),
    SessionId(SessionChoice),
    ProtocolVersion(Version),
    LastEventId(EventIdChoice),
    Host(HostChoice),
    Origin(OriginChoice),
    Authorization(AuthChoice),
    ContentLength(LengthChoice),
}

/// Headers that are set unless removed.
#[derive(Arbitrary, Debug)]
enum Defaulted {
    ContentType,
    Accept,
    SessionId,
    Host,
    Authorization,
}

#[derive(Arbitrary, Debug)]
enum ContentType {
    Json,
    JsonCharset,
    TextPlain,
    EventStream,
    Raw(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
enum AcceptChoice {
    Both,
    Json,
    Sse,
    Any,
    Html,
    Raw(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
enum SessionChoice {
    Live,
    Unknown,
    Raw(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
enum EventIdChoice {
    Event { stream: u8, seq: u8 },
    Raw(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
enum HostChoice {
    Localhost,
    LoopbackPort,
    Ipv6,
    Elsewhere,
    Raw(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
enum OriginChoice {
    Localhost,
    Elsewhere,
    Null,
    Raw(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
enum AuthChoice {
    Valid,
    LowerCase,
    Wrong,
    Raw(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
enum LengthChoice {
    Actual,
    Zero,
    Huge,
    Raw(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
enum BodyChoice {
    /// The input's bytes after the control part.
    Tail,
    Rpc(RpcChoice),
    Raw(Vec<u8>),
}

/// A JSON-RPC message from templates, so deep paths are reachable without
/// the fuzzer having to spell method and tool names.
#[derive(Arbitrary, Debug)]
struct RpcChoice {
    id: Option<IdChoice>,
    method: MethodChoice,
    params: ParamsChoice,
}

#[derive(Arbitrary, Debug)]
enum IdChoice {
    Number(i64),
    Text(String),
    Float,
    Null,
}

#[derive(Arbitrary, Debug)]
enum MethodChoice {
    Initialize,
    Initialized,
    Ping,
    ToolsList,
    ToolsCall(ToolName),
    ResourcesList,
    TemplatesList,
    ResourcesRead(u8),
    Subscribe(u8),
    Unsubscribe(u8),
    PromptsList,
    PromptsGet(u8),
    Complete,
    SetLevel,
    Cancelled,
    Progress,
    RootsListChanged,
    Response,
    ErrorResponse,
    Raw(String),
}

#[derive(Arbitrary, Debug)]
enum ToolName {
    SimpleText,
    Image,
    Audio,
    Embedded,
    Multiple,
    Logging,
    Progress,
    Error,
    Sampling,
    Elicitation,
    Reconnection,
    Json,
    Raw(String),
}

#[derive(Arbitrary, Debug)]
enum ParamsChoice {
    Template,
    None,
    Raw(String),
}

const RESOURCES: [&str; 6] = [
    "test://static-text",
    "test://static-binary",
    "test://embedded-resource",
    "test://mixed-content-resource",
    "test://watched-resource",
    "test://template/7/data",
];
const PROMPTS: [&str; 3] = ["test_simple_prompt", "test_prompt_with_arguments", "test_prompt_with_embedded_resource"];

impl RpcChoice {
    fn render(&self) -> String {
        let id = match &self.id {
            None => None,
            Some(IdChoice::Number(n)) => Some(n.to_string()),
            Some(IdChoice::Text(s)) => Some(serde_json::to_string(s).expect("a string serializes")),
            Some(IdChoice::Float) => Some("1.50".to_owned()),
            Some(IdChoice::Null) => Some("null".to_owned()),
        };
        let (method, params): (Option<String>, String) = match &self.method {
            MethodChoice::Initialize => (
                Some("initialize".into()),
                r#"{"protocolVersion":"2025-11-25","capabilities":{"sampling":{},"elicitation":{}},"clientInfo":{"name":"fuzz","version":"0"}}"#.into(),
            ),
            MethodChoice::Initialized => (Some("notifications/initialized".into()), "{}".into()),
            MethodChoice::Ping => (Some("ping".into()), "{}".into()),
            MethodChoice::ToolsList => (Some("tools/list".into()), r#"{"cursor":"0"}"#.into()),
            MethodChoice::ToolsCall(tool) => {
                let name = match tool {
                    ToolName::SimpleText => "test_simple_text",
                    ToolName::Image => "test_image_content",
                    ToolName::Audio => "test_audio_content",
                    ToolName::Embedded => "test_embedded_resource",
                    ToolName::Multiple => "test_multiple_content_types",
                    ToolName::Logging => "test_tool_with_logging",
                    ToolName::Progress => "test_tool_with_progress",
                    ToolName::Error => "test_error_handling",
                    ToolName::Sampling => "test_sampling",
                    ToolName::Elicitation => "test_elicitation",
                    ToolName::Reconnection => "test_reconnection",
                    ToolName::Json => "json_schema_2020_12_tool",
                    ToolName::Raw(s) => s,
                };
                let name = serde_json::to_string(name).expect("a string serializes");
                (
                    Some("tools/call".into()),
                    format!(r#"{{"name":{name},"arguments":{{"prompt":"hi","message":"hi"}},"_meta":{{"progressToken":"p"}}}}"#),
                )
            }
            MethodChoice::ResourcesList => (Some("resources/list".into()), "{}".into()),
            MethodChoice::TemplatesList => (Some("resources/templates/list".into()), "{}".into()),
            MethodChoice::ResourcesRead(i) => {
                (Some("resources/read".into()), format!(r#"{{"uri":"{}"}}"#, RESOURCES[*i as usize % RESOURCES.len()]))
            }
            MethodChoice::Subscribe(i) => {
                (Some("resources/subscribe".into()), format!(r#"{{"uri":"{}"}}"#, RESOURCES[*i as usize % RESOURCES.len()]))
            }
            MethodChoice::Unsubscribe(i) => (
                Some("resources/unsubscribe".into()),
                format!(r#"{{"uri":"{}"}}"#, RESOURCES[*i as usize % RESOURCES.len()]),
            ),
            MethodChoice::PromptsList => (Some("prompts/list".into()), "{}".into()),
            MethodChoice::PromptsGet(i) => (
                Some("prompts/get".into()),
                format!(r#"{{"name":"{}","arguments":{{"arg1":"a","arg2":"b","resourceUri":"test://static-text"}}}}"#, PROMPTS[*i as usize % PROMPTS.len()]),
            ),
            MethodChoice::Complete => (
                Some("completion/complete".into()),
                r#"{"ref":{"type":"ref/prompt","name":"test_prompt_with_arguments"},"argument":{"name":"arg1","value":"a"}}"#.into(),
            ),
            MethodChoice::SetLevel => (Some("logging/setLevel".into()), r#"{"level":"debug"}"#.into()),
            MethodChoice::Cancelled => (Some("notifications/cancelled".into()), r#"{"requestId":1,"reason":"fuzz"}"#.into()),
            MethodChoice::Progress => {
                (Some("notifications/progress".into()), r#"{"progressToken":"p","progress":1}"#.into())
            }
            MethodChoice::RootsListChanged => (Some("notifications/roots/list_changed".into()), "{}".into()),
            MethodChoice::Response => {
                (None, r#""result":{"role":"assistant","content":{"type":"text","text":"ok"},"model":"m","action":"accept","content2":{}}"#.into())
            }
            MethodChoice::ErrorResponse => (None, r#""error":{"code":-1,"message":"no"}"#.into()),
            MethodChoice::Raw(m) => (Some(m.clone()), "{}".into()),
        };
        let mut out = String::from(r#"{"jsonrpc":"2.0""#);
        if let Some(id) = id {
            out.push_str(r#","id":"#);
            out.push_str(&id);
        }
        match method {
            Some(method) => {
                out.push_str(r#","method":"#);
                out.push_str(&serde_json::to_string(&method).expect("a string serializes"));
                match &self.params {
                    ParamsChoice::Template => {
                        out.push_str(r#","params":"#);
                        out.push_str(&params);
                    }
                    ParamsChoice::None => {}
                    ParamsChoice::Raw(raw) => {
                        out.push_str(r#","params":"#);
                        out.push_str(raw);
                    }
                }
            }
            None => {
                out.push(',');
                match &self.params {
                    ParamsChoice::Raw(raw) => out.push_str(&format!(r#""result":{raw}"#)),
                    _ => out.push_str(&params),
                }
            }
        }
        out.push('}');
        out
    }
}

/// Statuses the transport may answer with.
const EXPECTED: [u16; 12] = [200, 202, 204, 400, 401, 403, 404, 405, 406, 413, 415, 503];

struct Outcome {
    status: StatusCode,
    session: Option<String>,
}

// Input layout: `[n][n control bytes][tail]`. The control bytes decode (with
// `arbitrary`) to an `Input`; the tail is the body of requests that choose
// `BodyChoice::Tail`. A seed is thus a zero byte followed by a message.
fuzz_target!(|data: &[u8]| {
    let Some((&n, rest)) = data.split_first() else { return };
    let n = (n as usize).min(rest.len());
    let (control, tail) = rest.split_at(n);
    let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(control)) else { return };
    if input.more.len() > 2 {
        return;
    }
    let rt = herd_fuzz::runtime();
    rt.block_on(async move {
        run(input, tail).await;
        herd_fuzz::settle().await;
    });
});

async fn run(input: Input, tail: &[u8]) {
    let mut config = HttpConfig::default();
    if input.config.auth {
        config.auth = Authenticator::static_tokens(BearerAuth::new([TOKEN.to_owned()]));
    }
    if input.config.loopback_only {
        config.allowed_hosts = Some(HttpConfig::loopback_hosts());
    }
    if input.config.small_body_limit {
        config.max_body_bytes = 256;
    }
    if input.config.fast_keep_alive {
        config.sse_keep_alive = Duration::from_millis(100);
    }
    if input.config.few_stream_events {
        config.max_stream_events = 2;
    }
    let limit = config.max_body_bytes;
    let router = herd_fuzz::router();
    let app = app(router.clone(), config);
    let mut sessions: Vec<String> = Vec::new();

    if let InitChoice::Yes(init) = &input.init {
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":0,"method":"initialize","params":{{"protocolVersion":{},"capabilities":{{"sampling":{{}},"elicitation":{{}}}},"clientInfo":{{"name":"fuzz","version":"0"}}}}}}"#,
            serde_json::to_string(init.version.as_str()).expect("a string serializes")
        );
        let body_len = body.len();
        let accept = if init.sse_only { "text/event-stream" } else { "application/json, text/event-stream" };
        let request = Request::builder()
            .method(Method::POST)
            .uri("/mcp")
            .header(header::HOST, "localhost:7800")
            .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, accept)
            .body(Body::from(body))
            .expect("a valid request");
        let fits = body_len <= limit;
        let outcome = send(&app, request, "initialize prefix").await;
        if fits {
            assert_eq!(outcome.status, StatusCode::OK, "the valid initialize prefix was refused");
        }
        if let Some(id) = outcome.session {
            if !init.skip_initialized {
                let request = Request::builder()
                    .method(Method::POST)
                    .uri("/mcp")
                    .header(header::HOST, "localhost")
                    .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
                    .header(header::CONTENT_TYPE, "application/json")
                    .header(SESSION_ID, &id)
                    .body(Body::from(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#))
                    .expect("a valid request");
                assert_eq!(send(&app, request, "initialized").await.status, StatusCode::ACCEPTED);
            }
            sessions.push(id);
        }
    }

    for req in std::iter::once(&input.first).chain(&input.more) {
        let Some(request) = build(req, sessions.first().map(String::as_str), tail) else { continue };
        let outcome = send(&app, request, &format!("{req:?}")).await;
        if let Some(id) = outcome.session
            && !sessions.contains(&id)
        {
            sessions.push(id);
        }
    }

    for id in &sessions {
        router.end_session(id);
    }
}

fn build(req: &Req, live: Option<&str>, tail: &[u8]) -> Option<Request<Body>> {
    let method = match req.method {
        Verb::Post => Method::POST,
        Verb::Get => Method::GET,
        Verb::Delete => Method::DELETE,
        Verb::Options => Method::OPTIONS,
        Verb::Head => Method::HEAD,
        Verb::Put => Method::PUT,
        Verb::Patch => Method::PATCH,
    };
    let path = match req.path {
        PathChoice::Mcp => "/mcp",
        PathChoice::Healthz => "/healthz",
        PathChoice::Other => "/mcp/other",
    };
    let body: Vec<u8> = match &req.body {
        BodyChoice::Tail => tail.to_vec(),
        BodyChoice::Raw(bytes) => bytes.clone(),
        BodyChoice::Rpc(rpc) => rpc.render().into_bytes(),
    };
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(header::ACCEPT, HeaderValue::from_static("application/json, text/event-stream"));
    if let Some(live) = live.and_then(|id| HeaderValue::from_str(id).ok()) {
        headers.insert(SESSION_ID, live);
    }
    headers.insert(header::HOST, HeaderValue::from_static("localhost:7800"));
    headers.insert(header::AUTHORIZATION, HeaderValue::from_static(BEARER));
    for choice in req.headers.iter().take(12) {
        let (name, value): (HeaderName, Vec<u8>) = match choice {
            HeaderChoice::Remove(which) => {
                headers.remove(match which {
                    Defaulted::ContentType => header::CONTENT_TYPE,
                    Defaulted::Accept => header::ACCEPT,
                    Defaulted::SessionId => SESSION_ID,
                    Defaulted::Host => header::HOST,
                    Defaulted::Authorization => header::AUTHORIZATION,
                });
                continue;
            }
            HeaderChoice::ContentType(c) => (
                header::CONTENT_TYPE,
                match c {
                    ContentType::Json => b"application/json".to_vec(),
                    ContentType::JsonCharset => b"Application/JSON; charset=utf-8".to_vec(),
                    ContentType::TextPlain => b"text/plain".to_vec(),
                    ContentType::EventStream => b"text/event-stream".to_vec(),
                    ContentType::Raw(v) => v.clone(),
                },
            ),
            HeaderChoice::Accept(a) => (
                header::ACCEPT,
                match a {
                    AcceptChoice::Both => b"application/json, text/event-stream".to_vec(),
                    AcceptChoice::Json => b"application/json".to_vec(),
                    AcceptChoice::Sse => b"text/event-stream".to_vec(),
                    AcceptChoice::Any => b"*/*".to_vec(),
                    AcceptChoice::Html => b"text/html".to_vec(),
                    AcceptChoice::Raw(v) => v.clone(),
                },
            ),
            HeaderChoice::SessionId(s) => (
                SESSION_ID,
                match s {
                    SessionChoice::Live => live.unwrap_or("none").as_bytes().to_vec(),
                    SessionChoice::Unknown => b"00000000000000000000000000000000".to_vec(),
                    SessionChoice::Raw(v) => v.clone(),
                },
            ),
            HeaderChoice::ProtocolVersion(v) => {
                (HeaderName::from_static("mcp-protocol-version"), v.as_str().as_bytes().to_vec())
            }
            HeaderChoice::LastEventId(e) => (
                HeaderName::from_static("last-event-id"),
                match e {
                    EventIdChoice::Event { stream, seq } => format!("{stream}-{seq}").into_bytes(),
                    EventIdChoice::Raw(v) => v.clone(),
                },
            ),
            HeaderChoice::Host(h) => (
                header::HOST,
                match h {
                    HostChoice::Localhost => b"localhost".to_vec(),
                    HostChoice::LoopbackPort => b"127.0.0.1:7800".to_vec(),
                    HostChoice::Ipv6 => b"[::1]:7800".to_vec(),
                    HostChoice::Elsewhere => b"evil.example.com".to_vec(),
                    HostChoice::Raw(v) => v.clone(),
                },
            ),
            HeaderChoice::Origin(o) => (
                header::ORIGIN,
                match o {
                    OriginChoice::Localhost => b"http://localhost:3000".to_vec(),
                    OriginChoice::Elsewhere => b"https://evil.example.com".to_vec(),
                    OriginChoice::Null => b"null".to_vec(),
                    OriginChoice::Raw(v) => v.clone(),
                },
            ),
            HeaderChoice::Authorization(a) => (
                header::AUTHORIZATION,
                match a {
                    AuthChoice::Valid => format!("Bearer {TOKEN}").into_bytes(),
                    AuthChoice::LowerCase => format!("bearer {TOKEN}").into_bytes(),
                    AuthChoice::Wrong => b"Bearer nope".to_vec(),
                    AuthChoice::Raw(v) => v.clone(),
                },
            ),
            HeaderChoice::ContentLength(l) => (
                header::CONTENT_LENGTH,
                match l {
                    LengthChoice::Actual => body.len().to_string().into_bytes(),
                    LengthChoice::Zero => b"0".to_vec(),
                    LengthChoice::Huge => b"99999999999".to_vec(),
                    LengthChoice::Raw(v) => v.clone(),
                },
            ),
        };
        // Bytes no HTTP parser would hand over (control characters) are
        // dropped, as a server would never see them.
        if let Ok(value) = HeaderValue::from_bytes(&value) {
            headers.insert(name, value);
        }
    }
    let mut request = Request::builder().method(method).uri(path).body(Body::from(body)).ok()?;
    *request.headers_mut() = headers;
    Some(request)
}

async fn send(app: &axum::Router, request: Request<Body>, what: &str) -> Outcome {
    // HEAD answers carry the GET answer's headers and no body.
    let head = request.method() == Method::HEAD;
    let response = match tokio::time::timeout(Duration::from_secs(60), app.clone().oneshot(request)).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => match e {},
        Err(_) => panic!("no response within a minute to {what}"),
    };
    let status = response.status();
    assert!(EXPECTED.contains(&status.as_u16()), "unexpected status {status} for {what}");
    let session = response.headers().get("mcp-session-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let content_type =
        response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let mut body = response.into_body();
    let mut bytes = Vec::new();
    let mut complete = false;
    for _ in 0..MAX_CHUNKS {
        match tokio::time::timeout(CHUNK_WAIT, body.frame()).await {
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    bytes.extend_from_slice(&data);
                }
            }
            Ok(Some(Err(e))) => panic!("response body failed ({e}) for {what}"),
            Ok(None) => {
                complete = true;
                break;
            }
            Err(_) => break,
        }
    }
    drop(body);
    if head {
        return Outcome { status, session };
    }
    if status == StatusCode::ACCEPTED || status == StatusCode::NO_CONTENT {
        assert!(bytes.is_empty(), "{status} with a body {:?} for {what}", String::from_utf8_lossy(&bytes));
    }
    if content_type.starts_with("application/json") {
        assert!(complete, "JSON body did not end for {what}");
        let text = std::str::from_utf8(&bytes).unwrap_or_else(|e| panic!("JSON body not UTF-8 ({e}) for {what}"));
        if let Err(why) = herd_fuzz::check_response(text) {
            panic!("status {status}: {why} (request {what})");
        }
    } else if content_type.starts_with("text/event-stream") {
        if let Err(why) = herd_fuzz::check_sse(&bytes) {
            panic!("status {status}: {why} (request {what})");
        }
    }
    Outcome { status, session }
}
