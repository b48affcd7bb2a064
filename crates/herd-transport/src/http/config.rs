//! Settings of the HTTP transport and the bearer token check.

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
    /// Bearer tokens; `None` serves without authentication.
    pub auth: Option<BearerAuth>,
    /// Host names (without port) a request's `Host` may carry; `None`
    /// accepts any. Set for loopback binds against DNS rebinding.
    pub allowed_hosts: Option<Vec<String>>,
    /// A comment line is sent on an idle SSE stream this often.
    pub sse_keep_alive: Duration,
    /// `retry` advice (ms) sent to clients with the first event of a stream.
    pub sse_retry_ms: u64,
    /// How long an ended stream stays available for resumption.
    pub stream_retention: Duration,
    /// Events kept per stream for resumption; older ones are dropped.
    pub max_stream_events: usize,
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
            auth: None,
            allowed_hosts: None,
            sse_keep_alive: Duration::from_secs(15),
            sse_retry_ms: 500,
            stream_retention: Duration::from_secs(60),
            max_stream_events: 4096,
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

/// Accepted bearer tokens, compared in constant time.
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
