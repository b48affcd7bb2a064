//! What the hub and an agent say to each other about LLMs, over the
//! agent's channel.
//!
//! Two requests, both from the hub to the agent:
//!
//! - `GET` [`LISTING_PATH`]: the agent answers `200` with a [`Listing`]
//!   (JSON): its providers and presets as its config declares them, and
//!   the state it last saw each provider in.
//! - `POST` [`FORWARD_PREFIX`]`{provider}/{endpoint}`, where `endpoint` is
//!   one of [`ENDPOINTS`]: the body is the client's JSON as the hub
//!   relays it (a preset's system prompt and parameters already applied,
//!   `stream_options.include_usage` already asked for). The agent puts its
//!   provider's upstream model id in `model`, sends the body to
//!   `{url}/{endpoint}` with the provider's API key, and streams the
//!   provider's answer back unchanged: status, `content-type`, and body
//!   bytes as they arrive. When the hub drops the stream, the agent drops
//!   its upstream request (its connection to the provider closes).
//!
//! When the agent cannot produce the provider's answer it replies with an
//! OpenAI-shaped error body (`{"error": {"message", "type", "code"}}`) and
//! the header [`FAILURE_HEADER`] naming a [`Failure`]; the hub reads the
//! header to decide whether another pool member may be tried. A status
//! without that header is the provider's own answer and is passed on.

use serde::{Deserialize, Serialize};

/// Where the hub asks an agent for its [`Listing`].
pub const LISTING_PATH: &str = "/api/v1/llm";
/// Where the hub sends a request for a provider: this, then
/// `{provider}/{endpoint}`.
pub const FORWARD_PREFIX: &str = "/api/v1/llm/";
/// The endpoints a provider may be sent, relative to its base URL.
pub const ENDPOINTS: [&str; 4] = ["chat/completions", "completions", "embeddings", "messages"];
/// The response header by which an agent says it, not the provider,
/// produced an error answer.
pub const FAILURE_HEADER: &str = "herd-llm-failure";

/// An agent's providers and presets.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Listing {
    /// One entry per `[[llm]]`.
    pub providers: Vec<Provider>,
    /// One entry per `[[preset]]`.
    #[serde(default)]
    pub presets: Vec<Preset>,
}

/// One `[[llm]]` of an agent, as the hub sees it (no URL, no key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provider {
    /// The model id clients ask for.
    pub name: String,
    /// The pool it is a member of, if any; clients may ask for the pool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    /// Who may use it besides admins.
    pub visibility: Visibility,
    /// Requests the provider takes at once.
    pub max_concurrency: u32,
    /// The state the agent last saw it in.
    pub state: ProviderState,
    /// Whether a request for it while it hibernates wakes it.
    #[serde(default)]
    pub wakes: bool,
}

/// One `[[preset]]` of an agent: a named system prompt and parameters
/// pinned to one of its providers or pools.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preset {
    /// The model id clients ask for.
    pub name: String,
    /// The provider or pool it runs on.
    pub llm: String,
    /// The system prompt put first (replacing the client's own system
    /// message, if any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// Request fields set over the client's (`temperature`, ...).
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub params: serde_json::Map<String, serde_json::Value>,
    /// Who may use it besides admins.
    pub visibility: Visibility,
}

/// Who may use a provider or preset besides admins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// Its owner (the user whose token the agent's channel holds).
    #[default]
    Private,
    /// Every user but agents.
    Public,
}

impl From<Visibility> for herd_auth::Visibility {
    fn from(v: Visibility) -> Self {
        match v {
            Visibility::Private => Self::Private,
            Visibility::Public => Self::Public,
        }
    }
}

/// The state of a provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderState {
    /// It answers.
    Active,
    /// It does not answer, and has a wake recipe: a request wakes it.
    Hibernating,
    /// It does not answer, and nothing wakes it (or its agent is gone).
    Inactive,
}

/// Why an agent answered a forwarded request itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Failure {
    /// No provider of that name on this agent (404).
    UnknownProvider,
    /// The endpoint is not one of [`ENDPOINTS`] (404).
    UnknownEndpoint,
    /// The body is not a JSON object (400).
    BadRequest,
    /// The provider could not be connected to, or broke before its
    /// answer's head (502).
    Unreachable,
    /// The provider hibernates and its wake failed or timed out (503).
    WakeFailed,
    /// The provider is at its `max_concurrency` (429).
    Busy,
}

impl Failure {
    /// The header value, and the OpenAI error `code`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnknownProvider => "unknown_provider",
            Self::UnknownEndpoint => "unknown_endpoint",
            Self::BadRequest => "bad_request",
            Self::Unreachable => "unreachable",
            Self::WakeFailed => "wake_failed",
            Self::Busy => "busy",
        }
    }

    /// The failure a header value names.
    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::UnknownProvider,
            Self::UnknownEndpoint,
            Self::BadRequest,
            Self::Unreachable,
            Self::WakeFailed,
            Self::Busy,
        ]
        .into_iter()
        .find(|f| f.as_str() == text)
    }

    /// The HTTP status the agent answers with.
    pub fn status(self) -> u16 {
        match self {
            Self::UnknownProvider | Self::UnknownEndpoint => 404,
            Self::BadRequest => 400,
            Self::Unreachable => 502,
            Self::WakeFailed => 503,
            Self::Busy => 429,
        }
    }

    /// Whether another pool member may be tried for the same request.
    pub fn may_retry_elsewhere(self) -> bool {
        matches!(self, Self::UnknownProvider | Self::Unreachable | Self::WakeFailed | Self::Busy)
    }
}

/// The OpenAI-shaped error body: `{"error": {"message", "type", "code"}}`.
pub fn error_body(message: &str, kind: &str, code: &str) -> serde_json::Value {
    serde_json::json!({ "error": { "message": message, "type": kind, "code": code } })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_reads_back_what_it_wrote_and_tolerates_missing_optionals() {
        let listing = Listing {
            providers: vec![Provider {
                name: "qwen3-8b".into(),
                pool: Some("qwen3".into()),
                visibility: Visibility::Public,
                max_concurrency: 4,
                state: ProviderState::Hibernating,
                wakes: true,
            }],
            presets: vec![],
        };
        let text = serde_json::to_string(&listing).unwrap();
        assert_eq!(serde_json::from_str::<Listing>(&text).unwrap(), listing);
        let minimal: Listing = serde_json::from_str(
            r#"{"providers":[{"name":"m","visibility":"private","max_concurrency":1,"state":"active"}]}"#,
        )
        .unwrap();
        assert_eq!((minimal.providers[0].pool.as_deref(), minimal.providers[0].wakes), (None, false));
    }

    #[test]
    fn every_failure_reads_back_from_its_header_value() {
        for f in [
            Failure::UnknownProvider,
            Failure::UnknownEndpoint,
            Failure::BadRequest,
            Failure::Unreachable,
            Failure::WakeFailed,
            Failure::Busy,
        ] {
            assert_eq!(Failure::parse(f.as_str()), Some(f));
        }
        assert_eq!(Failure::parse("nope"), None);
        assert!(!Failure::BadRequest.may_retry_elsewhere());
    }
}
