//! Which requests may be sent a second time.
//!
//! A server closes a keep-alive connection that stayed idle too long, and
//! a request can go out on it at that very moment: it then fails before
//! any answer, and the client cannot tell whether the server read it.
//! Mature HTTP clients send such a request again on a fresh connection
//! only when running it twice is harmless. This module says which MCP
//! requests those are: the ones that only read, `initialize` (a second
//! session the server never hears from again is harmless), and calls of
//! tools the caller names as read-only. Everything else is sent again only
//! when it provably never left.

use herd_proto::method;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

/// Whether a request may be sent again after its connection broke before
/// any answer came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Replay {
    /// Running it twice is harmless: sent once more on a fresh connection.
    Idempotent,
    /// It may change something: sent again only when it never left.
    AtMostOnce,
}

/// Requests that change nothing on the server (or, `initialize`, nothing
/// that matters when done twice).
const IDEMPOTENT: &[&str] = &[
    method::INITIALIZE,
    method::PING,
    method::TOOLS_LIST,
    method::RESOURCES_LIST,
    method::RESOURCE_TEMPLATES_LIST,
    method::RESOURCES_READ,
    method::PROMPTS_LIST,
    method::PROMPTS_GET,
    method::COMPLETION_COMPLETE,
    method::SERVER_DISCOVER,
];

impl Replay {
    /// For a request of `method` with `params`: a `tools/call` is
    /// idempotent when it names one of `read_only_tools`.
    pub(super) fn of(method: &str, params: Option<&RawValue>, read_only_tools: &[String]) -> Self {
        if IDEMPOTENT.contains(&method) {
            return Self::Idempotent;
        }
        if method == method::TOOLS_CALL
            && !read_only_tools.is_empty()
            && let Some(name) = params.and_then(tool_name)
            && read_only_tools.iter().any(|tool| *tool == name)
        {
            return Self::Idempotent;
        }
        Self::AtMostOnce
    }
}

/// The `name` of a `tools/call`'s params; the arguments are skipped, not
/// built.
fn tool_name(params: &RawValue) -> Option<Cow<'_, str>> {
    #[derive(Deserialize)]
    struct Named<'a> {
        #[serde(borrow)]
        name: Cow<'a, str>,
    }
    serde_json::from_str::<Named<'_>>(params.get()).ok().map(|named| named.name)
}

#[cfg(test)]
mod tests {
    use super::Replay;
    use serde_json::value::RawValue;

    fn call(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_owned()).unwrap()
    }

    #[test]
    fn only_reads_and_read_only_tools_are_idempotent() {
        let read_only = vec!["read_file".to_owned()];
        for method in ["initialize", "ping", "tools/list", "resources/read", "prompts/get"] {
            assert_eq!(Replay::of(method, None, &[]), Replay::Idempotent, "{method}");
        }
        for method in ["resources/subscribe", "logging/setLevel", "sampling/createMessage", "vendor/anything"] {
            assert_eq!(Replay::of(method, None, &read_only), Replay::AtMostOnce, "{method}");
        }
        let read = call(r#"{"arguments":{"path":"/etc/hosts","name":"shell"},"name":"read_file"}"#);
        assert_eq!(Replay::of("tools/call", Some(&read), &read_only), Replay::Idempotent);
        assert_eq!(Replay::of("tools/call", Some(&read), &[]), Replay::AtMostOnce);
        let escaped = call(r#"{"name":"read\u005ffile"}"#);
        assert_eq!(Replay::of("tools/call", Some(&escaped), &read_only), Replay::Idempotent);
        for other in [r#"{"name":"shell","arguments":{}}"#, r#"{"arguments":{}}"#, r#"{"name":7}"#, "[]"] {
            assert_eq!(Replay::of("tools/call", Some(&call(other)), &read_only), Replay::AtMostOnce, "{other}");
        }
        assert_eq!(Replay::of("tools/call", None, &read_only), Replay::AtMostOnce);
    }
}
