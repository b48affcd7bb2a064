//! A small MCP client over Streamable HTTP for tests that need to time
//! calls or hold one session across events: herd's own client session
//! (herd-upstream), which the relay tests check against real servers.
#![allow(dead_code, unreachable_pub)]

use herd_proto::Message;
use herd_upstream::{HttpUpstream, HttpUpstreamConfig, Upstream};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::sync::mpsc;

/// One client session.
pub struct Client {
    upstream: HttpUpstream,
}

impl Client {
    /// A session to `url` with `token`.
    pub async fn connect(url: &str, token: Option<&str>) -> Client {
        let config = HttpUpstreamConfig {
            token: token.map(str::to_owned),
            exchange_timeout: Duration::from_secs(30),
            ..HttpUpstreamConfig::new(url)
        };
        Client::connect_with(config).await
    }

    /// A session with `config`.
    pub async fn connect_with(config: HttpUpstreamConfig) -> Client {
        let url = herd_proto::redact_url(&config.url).into_owned();
        let upstream = HttpUpstream::new(config).unwrap();
        upstream.connect().await.unwrap_or_else(|e| panic!("cannot open a session to {url}: {e}"));
        Client { upstream }
    }

    /// Sends `method` and returns the result, or the error as `Err`.
    pub async fn request(&self, method: &str, params: Value) -> Result<Value, Value> {
        let (events, _ignored) = mpsc::unbounded_channel::<Message>();
        let params = serde_json::value::to_raw_value(&params).unwrap();
        let call = self.upstream.request(method, Some(params), Vec::new(), events);
        let response = tokio::time::timeout(Duration::from_secs(120), call.response)
            .await
            .unwrap_or_else(|_| panic!("{method}: no answer within 120 s"))
            .unwrap_or_else(|e| panic!("{method}: {e}"));
        match response.into_result() {
            Ok(raw) => Ok(serde_json::from_str(raw.get()).unwrap()),
            Err(e) => Err(serde_json::to_value(&e).unwrap()),
        }
    }

    /// Calls tool `name`; `Err` says why no answer came (the server was
    /// unreachable, the connection broke) or quotes the JSON-RPC error.
    pub async fn try_call(&self, name: &str, arguments: Value) -> Result<Value, String> {
        let (events, _ignored) = mpsc::unbounded_channel::<Message>();
        let params = json!({ "name": name, "arguments": arguments });
        let params = serde_json::value::to_raw_value(&params).unwrap();
        let call = self.upstream.request("tools/call", Some(params), Vec::new(), events);
        let response = tokio::time::timeout(Duration::from_secs(120), call.response)
            .await
            .map_err(|_| format!("{name}: no answer within 120 s"))?
            .map_err(|e| e.to_string())?;
        match response.into_result() {
            Ok(raw) => Ok(serde_json::from_str(raw.get()).unwrap()),
            Err(e) => Err(serde_json::to_value(&e).unwrap().to_string()),
        }
    }

    /// Calls tool `name` and returns its result object.
    pub async fn call(&self, name: &str, arguments: Value) -> Value {
        self.request("tools/call", json!({ "name": name, "arguments": arguments }))
            .await
            .unwrap_or_else(|e| panic!("tools/call {name}: {e}"))
    }

    /// Calls tool `name` with a progress token; returns the result and the
    /// progress notifications' params that came back for this call. A
    /// server-to-client request met on the way is answered with `answer`'s
    /// result for its method; `seen` is called on each progress notification
    /// as it arrives.
    pub async fn call_observed(
        &self,
        name: &str,
        arguments: Value,
        token: &str,
        answer: impl Fn(&str, &Value) -> Value,
        mut seen: impl FnMut(&Value),
    ) -> (Result<Value, Value>, Vec<Value>) {
        let params = json!({ "name": name, "arguments": arguments, "_meta": { "progressToken": token } });
        let (events, mut rx) = mpsc::unbounded_channel::<Message>();
        let params = serde_json::value::to_raw_value(&params).unwrap();
        let call = self.upstream.request("tools/call", Some(params), Vec::new(), events);
        let mut response = call.response;
        let mut progress = Vec::new();
        let deadline = tokio::time::sleep(Duration::from_secs(120));
        tokio::pin!(deadline);
        let outcome = loop {
            tokio::select! {
                Some(message) = rx.recv() => match message {
                    Message::Notification(n) if n.method == "notifications/progress" => {
                        let params: Value = serde_json::from_str(n.params.unwrap().get()).unwrap();
                        seen(&params);
                        progress.push(params);
                    }
                    Message::Request(r) => {
                        let params: Value = r.params.map(|p| serde_json::from_str(p.get()).unwrap()).unwrap_or_default();
                        let result = serde_json::value::to_raw_value(&answer(&r.method, &params)).unwrap();
                        self.upstream.respond(herd_proto::Response::result(r.id, result)).await.unwrap();
                    }
                    _ => {}
                },
                outcome = &mut response => break outcome.unwrap_or_else(|e| panic!("tools/call {name}: {e}")),
                () = &mut deadline => panic!("tools/call {name}: no answer within 120 s"),
            }
        };
        while let Ok(Message::Notification(n)) = rx.try_recv() {
            if n.method == "notifications/progress" {
                progress.push(serde_json::from_str(n.params.unwrap().get()).unwrap());
            }
        }
        let result = match outcome.into_result() {
            Ok(raw) => Ok(serde_json::from_str(raw.get()).unwrap()),
            Err(e) => Err(serde_json::to_value(&e).unwrap()),
        };
        (result, progress)
    }

    /// The names of the listed tools.
    pub async fn tool_names(&self) -> Vec<String> {
        let list = self.request("tools/list", json!({})).await.unwrap();
        list["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_owned()).collect()
    }
}

/// The text of a tool result's content blocks, joined by newlines.
pub fn text(result: &Value) -> String {
    let blocks = result["content"].as_array().cloned().unwrap_or_default();
    blocks.iter().filter_map(|b| b["text"].as_str()).collect::<Vec<_>>().join("\n")
}
