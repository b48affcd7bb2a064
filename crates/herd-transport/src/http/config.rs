//! Settings of the HTTP transport, the check of its MCP path, and the
//! static bearer tokens.

use super::auth::Authenticator;
use std::time::Duration;
use subtle::ConstantTimeEq;

/// How long a client gets to send a request head, and with it how long an
/// idle keep-alive connection is kept: hyper starts the header read timer
/// the moment a connection goes idle and closes the connection when it
/// fires. A client that pools connections must give up idle ones sooner, or
/// it will now and then send a request on a connection being closed under
/// it (herd's own client keeps idle connections for less: herd-upstream's
/// `IDLE_TIMEOUT`).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Settings of the Streamable HTTP transport.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// The MCP path.
    pub path: String,
    /// Largest accepted request body (413 beyond).
    pub max_body_bytes: usize,
    /// Largest accepted header section (431 beyond).
    pub max_header_bytes: usize,
    /// Deepest accepted JSON nesting.
    pub max_json_depth: usize,
    /// Turns each request's bearer token into a principal (default:
    /// [`Authenticator::anonymous`], no authentication).
    pub auth: Authenticator,
    /// Host names (without port) a request's `Host` may carry; `None`
    /// accepts any. Set for loopback binds against DNS rebinding. An
    /// `Origin` whose host is one of these is accepted too.
    pub allowed_hosts: Option<Vec<String>>,
    /// Origins (`scheme://host[:port]`) a browser page may call from. A
    /// request with any other `Origin` is refused (403), and only an
    /// accepted origin is echoed in CORS headers.
    pub allowed_origins: Vec<String>,
    /// A comment line is sent on an idle SSE stream this often.
    pub sse_keep_alive: Duration,
    /// `retry` advice (ms) sent to clients with the first event of a stream.
    pub sse_retry_ms: u64,
    /// How long an ended stream stays available for resumption.
    pub stream_retention: Duration,
    /// Events kept per stream for resumption; older ones are dropped.
    pub max_stream_events: usize,
    /// Bytes of events kept per stream for resumption; older events are
    /// dropped beyond this (the newest is always kept, whatever its size).
    pub max_stream_bytes: usize,
    /// Notifications queued for a stateless SSE answer (`subscriptions/listen`
    /// and progress) whose client reads too slowly; more are dropped.
    pub max_queued_notifications: usize,
    /// Time allowed to send the request head; also how long an idle
    /// keep-alive connection is kept open (see [`HEADER_READ_TIMEOUT`]).
    pub header_read_timeout: Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            path: "/mcp".into(),
            max_body_bytes: 8 * 1024 * 1024,
            max_header_bytes: 64 * 1024,
            max_json_depth: 64,
            auth: Authenticator::anonymous(),
            allowed_hosts: None,
            allowed_origins: Vec::new(),
            sse_keep_alive: Duration::from_secs(15),
            sse_retry_ms: 500,
            stream_retention: Duration::from_secs(60),
            max_stream_events: 4096,
            max_stream_bytes: 4 * 1024 * 1024,
            max_queued_notifications: 1024,
            header_read_timeout: HEADER_READ_TIMEOUT,
        }
    }
}

impl HttpConfig {
    /// Host names that always mean this machine.
    pub fn loopback_hosts() -> Vec<String> {
        ["localhost", "127.0.0.1", "[::1]", "::1"].map(String::from).to_vec()
    }
}

/// Paths a herd server answers beside the MCP path (health, readiness,
/// metrics, the status page and everything under it), whether or not this
/// process mounts each of them.
pub const RESERVED_PATHS: [&str; 4] = ["/healthz", "/readyz", "/metrics", "/ui"];

/// Longest accepted MCP path.
const MAX_PATH_LEN: usize = 256;

/// An MCP path that cannot be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid MCP path {path:?}: {reason}")]
pub struct InvalidPath {
    path: String,
    reason: &'static str,
}

/// Checks an MCP path: it starts with `/`, is not one of
/// [`RESERVED_PATHS`], and is a plain path (letters, digits, `-._~/`, no
/// empty segment), so it can never be read as a route pattern.
pub fn check_path(path: &str) -> Result<(), InvalidPath> {
    let reason = if !path.starts_with('/') {
        "it must start with '/'"
    } else if RESERVED_PATHS.contains(&path) || path.starts_with("/ui/") {
        "it is reserved for /healthz, /readyz, /metrics and /ui; choose another, e.g. /mcp"
    } else if path.len() > MAX_PATH_LEN {
        "it is longer than 256 bytes"
    } else if path.contains("//") {
        "it has an empty segment"
    } else if !path.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~/".contains(&b)) {
        "only letters, digits and - . _ ~ / may appear in it"
    } else {
        return Ok(());
    };
    Err(InvalidPath { path: path.chars().take(MAX_PATH_LEN).collect(), reason })
}

/// Accepted bearer tokens, compared in constant time: an
/// [`Authenticate`](super::Authenticate) implementation giving the admin
/// principal.
#[derive(Clone)]
pub struct BearerAuth {
    tokens: Vec<Vec<u8>>,
}

impl BearerAuth {
    /// Accepts any of `tokens` (empty tokens are ignored).
    pub fn new(tokens: impl IntoIterator<Item = String>) -> Self {
        Self { tokens: tokens.into_iter().filter(|t| !t.is_empty()).map(String::into_bytes).collect() }
    }

    /// Whether `presented` is one of the tokens. Every token is compared, so
    /// timing reveals neither which matched nor how much of one did.
    pub fn accepts(&self, presented: &[u8]) -> bool {
        self.tokens.iter().fold(0u8, |hit, t| hit | t.as_slice().ct_eq(presented).unwrap_u8()) == 1
    }
}

impl std::fmt::Debug for BearerAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BearerAuth({} token(s), redacted)", self.tokens.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mcp_paths_must_be_plain_and_not_reserved() {
        for good in ["/mcp", "/", "/api/v1/mcp", "/a-b_c.d~e"] {
            assert_eq!(check_path(good), Ok(()), "{good}");
        }
        for (bad, why) in [
            ("mcp", "start with '/'"),
            ("/metrics", "reserved"),
            ("/healthz", "reserved"),
            ("/readyz", "reserved"),
            ("/{id}", "only letters"),
            ("/*rest", "only letters"),
            ("/a b", "only letters"),
            ("//mcp", "empty segment"),
        ] {
            let err = check_path(bad).unwrap_err().to_string();
            assert!(err.contains(why) && err.contains(bad), "{bad}: {err}");
        }
    }
}
