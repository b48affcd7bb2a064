//! One tool call to one host: through its agent when it answers, over the
//! fallback when it cannot be reached, and a clear account when neither
//! works.
//!
//! The rules, in order:
//! 1. A host whose agent is known DOWN (a fresh failed probe) goes straight
//!    to the fallback, so a dead agent costs nothing per call.
//! 2. Otherwise the agent is tried. If the request never left (the
//!    connection could not be made), the fallback runs it.
//! 3. If the agent failed after the request may have reached it, only
//!    read-only tools are retried over the fallback: re-running a `shell`
//!    or a write could do the work twice.
//!
//! The call's timeout bounds the whole route: opening the agent session
//! (which another call may be doing already), the call over it, and the
//! fallback after it, which gets what time is left.
//!
//! Every call ends in one log line (tool, host, path, elapsed, outcome) and
//! in the call metrics.

use crate::Fleet;
use crate::raw::{RawObject, to_raw};
use crate::trace;
use herd_fleet::{Host, ProbeOk};
use herd_proto::{Backend, Context, Request, RequestId, RequestMeta, RpcError, method};
use herd_telemetry::McpSpan;
use herd_upstream::UpstreamError;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::time::Duration;
use tokio::time::{Instant, timeout_at};

/// Tools that change nothing, so running one twice is harmless: a call
/// that may have reached the agent is run again over the fallback, and one
/// lost with a connection the agent closed is sent again on a fresh one.
pub(crate) const READ_ONLY: &[&str] = &["read_file", "list_dir", "search_files"];

/// A call that some path answered (the tool itself may still have failed:
/// see [`Served::is_error`]).
#[derive(Debug, Clone)]
pub struct Served {
    /// The host.
    pub host: String,
    /// `agent`, `channel` (an agent reached over the connection it opened),
    /// or the fallback's name (`ssh`).
    pub via: &'static str,
    /// Why the agent was not used, when it was not.
    pub detour: Option<String>,
    /// The `CallToolResult` object as the path returned it, with the path
    /// noted: `host` and `via` in `structuredContent`, a closing line of
    /// text in `content`.
    pub result: Box<RawValue>,
    is_error: bool,
}

/// A call no path could answer.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{host}: {}", attempts.iter().map(|(p, why)| format!("{p}: {why}")).collect::<Vec<_>>().join("; "))]
pub struct Failure {
    /// The host.
    pub host: String,
    /// Each path tried (or why it was not), in order.
    pub attempts: Vec<(&'static str, String)>,
}

/// The note the hub adds to a result's `content`.
#[derive(Serialize)]
struct TextContent<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    text: &'a str,
}

impl Served {
    /// A result `via` a path, noted with where it came from.
    ///
    /// Only the members that get a note are taken apart, in the one pass
    /// that also reads `isError`; the rest of the result (file contents,
    /// say) is passed on as the bytes that came.
    fn new(host: &str, via: &'static str, detour: Option<String>, result: Box<RawValue>) -> Self {
        let Some(mut object) = RawObject::parse(&result) else {
            return Self { host: host.to_owned(), via, detour, result, is_error: false };
        };
        let is_error = object.get("isError").is_some_and(|v| v.get() == "true");
        if let Some(structured) = object.object_mut("structuredContent") {
            structured.set("host", to_raw(host));
            structured.set("via", to_raw(via));
        }
        if let Some(content) = object.list_mut("content") {
            let text = match &detour {
                Some(detour) => format!("[{host} via {via}; {detour}]"),
                None => format!("[{host} via {via}]"),
            };
            content.push(Cow::Owned(to_raw(&TextContent { kind: "text", text: &text })));
        }
        let result = object.to_raw();
        Self { host: host.to_owned(), via, detour, result, is_error }
    }

    /// Whether the tool reported a failure.
    pub fn is_error(&self) -> bool {
        self.is_error
    }

    /// The result, parsed.
    pub fn value(&self) -> Value {
        serde_json::from_str(self.result.get()).unwrap_or(Value::Null)
    }
}

impl Fleet {
    /// Runs agent tool `tool` on `host` with `arguments`; progress, log
    /// messages and client requests of the agent reach the client through
    /// `cx`. `timeout` bounds the whole call.
    pub async fn call_tool(
        &self,
        host: &Host,
        tool: &str,
        arguments: Map<String, Value>,
        cx: &Context,
        timeout: Duration,
    ) -> Result<Served, Failure> {
        self.call_tool_raw(host, tool, &to_raw(&arguments), cx, timeout).await
    }

    /// [`Fleet::call_tool`] with the arguments as JSON (an object), passed
    /// to the agent as they are.
    pub async fn call_tool_raw(
        &self,
        host: &Host,
        tool: &str,
        arguments: &RawValue,
        cx: &Context,
        timeout: Duration,
    ) -> Result<Served, Failure> {
        let started = Instant::now();
        let outcome = self.route(host, tool, arguments, cx, timeout).await;
        crate::metrics::call(tool, &host.name, &outcome, started.elapsed());
        outcome
    }

    async fn route(
        &self,
        host: &Host,
        tool: &str,
        arguments: &RawValue,
        cx: &Context,
        timeout: Duration,
    ) -> Result<Served, Failure> {
        let deadline = Instant::now() + timeout;
        let mut attempts = Vec::new();
        let fallback = self.fallback().filter(|f| f.supports(tool) && host.ssh.is_some());
        let state = self.health().state(&host.name);
        let was_up = state.as_ref().is_some_and(|s| s.is_up());
        let known_down = state
            .filter(|s| !s.is_up() && s.is_fresh(Instant::now(), &self.health().config()))
            .and_then(|s| s.error().map(str::to_owned));
        // An agent that joined over its channel is reached through it.
        let path = if host.channel.is_some() { "channel" } else { "agent" };
        let reachable = host.url.is_some() || host.channel.is_some();
        match (reachable, known_down) {
            (false, _) if host.by_channel => attempts.push(("channel", "its channel is not open".to_owned())),
            (false, _) => attempts.push(("agent", "no agent url configured".to_owned())),
            (true, Some(why)) if fallback.is_some() => attempts.push((path, format!("down ({why})"))),
            (true, _) => {
                let transport = if host.channel.is_some() { "channel" } else { "http" };
                let span = trace::tool_call(tool, &host.name, transport);
                let via_agent = self.via_agent(host, tool, arguments, cx, (deadline, timeout), was_up);
                match McpSpan::instrument(span.as_ref(), via_agent).await {
                    Ok(result) => {
                        trace::answered(span.as_ref(), &result);
                        return Ok(Served::new(&host.name, path, None, result));
                    }
                    Err((error, retry)) => {
                        if let Some(span) = &span {
                            span.fail(if retry { "unreachable" } else { "call_failed" });
                        }
                        attempts.push((path, error));
                        if !retry {
                            return Err(Failure { host: host.name.clone(), attempts });
                        }
                    }
                }
            }
        }
        let Some(fallback) = fallback else {
            let why = match (&host.ssh, self.fallback()) {
                (None, _) => "no ssh destination configured".to_owned(),
                (Some(_), None) => "the hub has no ssh fallback".to_owned(),
                (Some(_), Some(_)) => format!("{tool} is not available over ssh"),
            };
            attempts.push(("ssh", why));
            return Err(Failure { host: host.name.clone(), attempts });
        };
        if Instant::now() >= deadline {
            attempts.push((fallback.name(), format!("not tried: the call's {:.1}s were spent", timeout.as_secs_f64())));
            return Err(Failure { host: host.name.clone(), attempts });
        }
        let destination = host.ssh.as_deref().unwrap_or_default();
        let arguments: Map<String, Value> = serde_json::from_str(arguments.get()).unwrap_or_default();
        let span = trace::tool_call(tool, &host.name, fallback.name());
        let call = McpSpan::instrument(span.as_ref(), fallback.call_tool(destination, tool, &arguments));
        let outcome = tokio::select! {
            outcome = timeout_at(deadline, call) => outcome,
            () = cx.cancelled() => Ok(Err("cancelled by the client".to_owned())),
        };
        if let Some(span) = &span {
            match &outcome {
                Ok(Ok(result)) if result.get("isError").and_then(Value::as_bool) == Some(true) => {
                    span.fail("tool_error")
                }
                Ok(Ok(_)) => {}
                Ok(Err(_)) => span.fail("call_failed"),
                Err(_) => span.fail("timeout"),
            }
        }
        match outcome {
            Ok(Ok(result)) => {
                let result = to_raw(&result);
                let detour = attempts.iter().map(|(p, why)| format!("{p}: {why}")).collect::<Vec<_>>().join("; ");
                Ok(Served::new(&host.name, fallback.name(), Some(detour), result))
            }
            Ok(Err(why)) => {
                attempts.push((fallback.name(), why));
                Err(Failure { host: host.name.clone(), attempts })
            }
            Err(_) => {
                attempts.push((fallback.name(), format!("no answer within {}s", timeout.as_secs())));
                Err(Failure { host: host.name.clone(), attempts })
            }
        }
    }

    /// `Err((why, fallback may run it))`. `was_up`: the health cache
    /// already says UP, so a success need not be reported. Opening the
    /// session and the call share the call's `deadline` (`limit` after it
    /// started).
    async fn via_agent(
        &self,
        host: &Host,
        tool: &str,
        arguments: &RawValue,
        cx: &Context,
        (deadline, limit): (Instant, Duration),
        was_up: bool,
    ) -> Result<Box<RawValue>, (String, bool)> {
        let upstream = self.prober().upstream(host).map_err(|e| (e, true))?;
        // Bounded here as well as by the session's own exchange limit: a
        // call queued behind another call's open waits no longer than it may.
        // Opening is rare and its future large: boxed, it stays out of every
        // call's own future (which is moved to the heap whole, per call).
        if !upstream.is_open() {
            match timeout_at(deadline, Box::pin(upstream.connect())).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    self.health().report(&host.name, Err(e.to_string()));
                    return Err((e.to_string(), true));
                }
                Err(_) => {
                    let why = format!("no MCP session opened within the call's {:.1}s", limit.as_secs_f64());
                    return Err((why, true));
                }
            }
        }
        let relay = crate::fleet::relay_over(upstream, deadline.saturating_duration_since(Instant::now()));
        #[derive(serde::Serialize)]
        struct Params<'a> {
            name: &'a str,
            arguments: &'a RawValue,
        }
        let params = crate::raw::to_raw(&Params { name: tool, arguments });
        let request = Request {
            id: cx.meta().request_id.clone().unwrap_or_else(|| RequestId::number(0)),
            method: method::TOOLS_CALL.to_owned(),
            params: Some(params),
            extra: Vec::new(),
        };
        match relay.call(request, cx.clone()).await {
            Ok(raw) => {
                if !was_up {
                    self.health().report(&host.name, Ok(ProbeOk::default()));
                }
                Ok(raw)
            }
            Err(err) => Err(self.agent_failed(host, tool, &err)),
        }
    }

    fn agent_failed(&self, host: &Host, tool: &str, err: &RpcError) -> (String, bool) {
        let never_sent = UpstreamError::never_sent(err);
        let unreachable = err.code == herd_proto::code::UPSTREAM_UNAVAILABLE;
        if unreachable {
            self.health().report(&host.name, Err(err.message.clone()));
        }
        let retry = never_sent || (unreachable && READ_ONLY.contains(&tool));
        let mut why = err.message.clone();
        if unreachable && !retry {
            why.push_str(" (not retried over ssh: the command may have run)");
        }
        (why, retry)
    }
}

/// A context for a sub-call that must not report progress under the
/// client's token (one of many parallel calls).
pub(crate) fn quiet(cx: &Context) -> Context {
    cx.with_meta(RequestMeta { progress_token: None, ..cx.meta().clone() })
}
