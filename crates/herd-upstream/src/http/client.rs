//! The HTTP client under a session: one request out, one response (head
//! and streaming body) back.
//!
//! `http://` upstreams, the usual case for agents on a LAN or loopback, go
//! through herd's own connection pool (`pool`), which is lean on the hub's
//! hot path. `https://` upstreams go through reqwest with rustls, which
//! brings certificate verification against the platform's roots (or only
//! the configured CA) and HTTP/2 when the server offers it by ALPN, so one
//! connection carries every concurrent call.
//!
//! Both give up idle connections before a herd server would close them
//! (`IDLE_TIMEOUT`), and both send an idempotent request once more on a
//! fresh connection when a pooled one broke under it (see `pool`; reqwest
//! does not say whether a connection was reused or the answer had begun,
//! so there any such request that got no response head is sent again).

use super::HttpUpstreamConfig;
use super::pool::{Dial, Pool};
use super::replay::Replay;
use crate::TrustedCa;
use bytes::Bytes;
use http::header::HOST;
use http::{HeaderMap, HeaderValue, Method, Request, Response, Uri};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use std::sync::Arc;
use std::time::Duration;

/// Why reading a body failed.
pub(super) type BodyError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A response body, whichever client read it.
pub(super) type Body = UnsyncBoxBody<Bytes, BodyError>;

fn boxed<E: std::error::Error + Send + Sync + 'static>(e: E) -> BodyError {
    Box::new(e)
}

/// Why a request got no response head.
#[derive(Debug)]
pub(super) enum SendError {
    /// No connection could be made: the request never left.
    Connect(String),
    /// The connection broke once the request may have been sent.
    Lost(String),
    /// No response head in time (reqwest's own limits).
    Timeout,
}

/// How long a connection stays quiet before TCP keepalive probes start.
const KEEPALIVE: Duration = Duration::from_secs(30);

/// How long an idle connection is kept for another request. A server closes
/// idle keep-alive connections on its own clock, and a request sent just as
/// it does fails for nothing; keeping them for less makes that race
/// impossible. herd's agents close them after
/// `herd_transport::http::HEADER_READ_TIMEOUT` (30 s); this stays well
/// below it, so a timer that fires late or a request still on its way
/// cannot reach it. (A probe every 30 s finds no connection to reuse; a
/// new one costs a round trip.)
pub(super) const IDLE_TIMEOUT: Duration = Duration::from_secs(20);

pub(super) enum Client {
    /// `http://`: herd's pool, with the request target and `Host` value
    /// worked out once.
    Plain { pool: Arc<Pool>, target: Uri, host: HeaderValue },
    /// `https://`: reqwest; `fresh` keeps no idle connections, for a
    /// request sent again after a pooled connection broke under it.
    Tls { client: reqwest::Client, fresh: reqwest::Client, url: reqwest::Url },
    /// Through a connection the upstream opened (see [`crate::Tunnel`]),
    /// to `target` (an absolute URI).
    Tunnel { tunnel: crate::TunnelLink, target: Uri },
}

impl Client {
    /// A client for `config.url`; the error says what is wrong with it.
    pub(super) fn new(config: &HttpUpstreamConfig) -> Result<Self, String> {
        let url = reqwest::Url::parse(&config.url).map_err(|e| format!("invalid URL: {e}"))?;
        if let Some(tunnel) = &config.tunnel {
            let target = Uri::try_from(url.as_str()).map_err(|e| format!("invalid URL: {e}"))?;
            return Ok(Self::Tunnel { tunnel: tunnel.clone(), target });
        }
        match url.scheme() {
            "http" => {
                let host = match url.host() {
                    Some(url::Host::Domain(name)) => name.to_owned(),
                    Some(url::Host::Ipv4(ip)) => ip.to_string(),
                    Some(url::Host::Ipv6(ip)) => ip.to_string(),
                    None => return Err("the URL names no host".into()),
                };
                let port = url.port_or_known_default().unwrap_or(80);
                let authority = &url[url::Position::BeforeHost..url::Position::AfterPort];
                let host_header = HeaderValue::from_str(authority).map_err(|_| "the host is not a valid header")?;
                let target = Uri::try_from(&url[url::Position::BeforePath..url::Position::AfterQuery])
                    .map_err(|e| format!("invalid path: {e}"))?;
                let dial = Dial {
                    host,
                    port,
                    connect_timeout: config.connect_timeout,
                    keepalive: KEEPALIVE,
                    idle_timeout: IDLE_TIMEOUT,
                };
                Ok(Self::Plain { pool: Pool::new(dial), target, host: host_header })
            }
            "https" => {
                let roots = config.ca.as_ref().map(TrustedCa::roots).transpose()?;
                let builder = || {
                    let builder = reqwest::Client::builder()
                        .connect_timeout(config.connect_timeout)
                        .tcp_nodelay(true)
                        .tcp_keepalive(KEEPALIVE)
                        .pool_idle_timeout(IDLE_TIMEOUT);
                    match &roots {
                        Some(roots) => builder.tls_certs_only(roots.clone()),
                        None => builder,
                    }
                };
                let client = builder().build().map_err(|e| e.to_string())?;
                let fresh = builder().pool_max_idle_per_host(0).build().map_err(|e| e.to_string())?;
                Ok(Self::Tls { client, fresh, url })
            }
            other => Err(format!("unsupported scheme {other:?} (use http or https)")),
        }
    }

    /// Sends one request and waits for the response head; `replay` says
    /// whether it may be sent again when a pooled connection breaks under
    /// it.
    pub(super) async fn send(
        &self,
        method: Method,
        headers: HeaderMap,
        body: Bytes,
        replay: Replay,
    ) -> Result<Response<Body>, SendError> {
        match self {
            Self::Plain { pool, target, host } => {
                let mut request = Request::new(Full::new(body));
                *request.method_mut() = method;
                *request.uri_mut() = target.clone();
                *request.headers_mut() = headers;
                request.headers_mut().insert(HOST, host.clone());
                let response = pool.send(request, replay).await?;
                Ok(response.map(|body| body.map_err(boxed).boxed_unsync()))
            }
            Self::Tunnel { tunnel, target } => {
                let mut request = Request::new(Full::new(body));
                *request.method_mut() = method;
                *request.uri_mut() = target.clone();
                *request.headers_mut() = headers;
                let response = tunnel.tunnel().send(request).await.map_err(|e| match e {
                    crate::TunnelError::NotConnected(reason) => SendError::Connect(reason),
                    crate::TunnelError::Lost(reason) => SendError::Lost(reason),
                })?;
                Ok(response.map(|body| body.map_err(boxed).boxed_unsync()))
            }
            Self::Tls { client, fresh, url } => {
                let again = (replay == Replay::Idempotent).then(|| (method.clone(), headers.clone(), body.clone()));
                let sent = send_tls(client, url, method, headers, body).await;
                match (sent, again) {
                    (Err(SendError::Lost(err)), Some((method, headers, body))) => {
                        tracing::debug!(%err, "a connection broke before any answer; sending again on a fresh one");
                        send_tls(fresh, url, method, headers, body).await
                    }
                    (sent, _) => sent,
                }
            }
        }
    }
}

async fn send_tls(
    client: &reqwest::Client,
    url: &reqwest::Url,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response<Body>, SendError> {
    let response =
        client.request(method, url.clone()).headers(headers).body(body).send().await.map_err(from_reqwest)?;
    Ok(http::Response::from(response).map(|body| body.map_err(boxed).boxed_unsync()))
}

/// Why a body could not be read to its end.
#[derive(Debug)]
pub(super) enum ReadError {
    /// It outgrew the limit.
    TooLarge,
    /// The connection broke.
    Broken(String),
}

/// Reads `body` to its end, refusing more than `max` bytes. A body that
/// comes in one piece (the usual case) is not copied.
pub(super) async fn read_to_end(mut body: Body, max: usize) -> Result<Bytes, ReadError> {
    let mut first: Option<Bytes> = None;
    let mut rest = bytes::BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| ReadError::Broken(with_causes(e.as_ref())))?;
        let Ok(data) = frame.into_data() else { continue };
        let so_far = first.as_ref().map_or(0, Bytes::len) + rest.len();
        if so_far + data.len() > max {
            return Err(ReadError::TooLarge);
        }
        match &first {
            None => first = Some(data),
            Some(head) => {
                if rest.is_empty() {
                    rest.extend_from_slice(head);
                }
                rest.extend_from_slice(&data);
            }
        }
    }
    Ok(if rest.is_empty() { first.unwrap_or_default() } else { rest.freeze() })
}

/// The first `max` bytes of `body` (fewer if it ends sooner), for quoting
/// an error answer of any length.
pub(super) async fn read_prefix(mut body: Body, max: usize) -> Bytes {
    let mut prefix = bytes::BytesMut::new();
    while prefix.len() < max {
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    let room = max - prefix.len();
                    prefix.extend_from_slice(&data[..data.len().min(room)]);
                }
            }
            Some(Err(_)) | None => break,
        }
    }
    prefix.freeze()
}

/// `error` and its causes, outermost first: what a log line or an error
/// message should say of a failed exchange.
pub fn with_causes(error: &dyn std::error::Error) -> String {
    let mut reason = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        reason = format!("{reason}: {s}");
        source = s.source();
    }
    reason
}

fn from_reqwest(e: reqwest::Error) -> SendError {
    // The error names the URL, credentials included; the session's errors
    // name the upstream themselves, without them.
    let e = e.without_url();
    if let Some(reason) = crate::tls::tls_failure(&e) {
        return SendError::Connect(reason);
    }
    // A connect timeout is both; the request never left, which matters more.
    if e.is_connect() {
        SendError::Connect(with_causes(&e))
    } else if e.is_timeout() {
        SendError::Timeout
    } else {
        SendError::Lost(with_causes(&e))
    }
}
