//! [`TestPeer`]: a client that records what it is sent and answers what it
//! is asked, either like the 0.1.16 suite's client (canned answers to every
//! question) or like the core on the 2026-07-28 wire (answers only from the
//! `inputResponses` of the current round).

use herd_proto::{BoxFuture, LogLevel, Peer, RpcError};
use parking_lot::Mutex;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

/// The code a stateless [`TestPeer`] fails an unanswered question with,
/// standing for the core's "the answer is still to come".
pub(super) const UNANSWERED: i32 = -32099;

/// One question the peer was asked.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Asked {
    pub(super) key: Option<String>,
    pub(super) method: String,
    pub(super) params: Value,
}

pub(super) struct TestPeer {
    capabilities: Value,
    /// `Some`: answer only from these (the retried request's
    /// `inputResponses`), fail any other key with [`UNANSWERED`], and send
    /// no log message without a level. `None`: canned answers.
    round: Option<Map<String, Value>>,
    log_level: Option<LogLevel>,
    pub(super) notifications: Mutex<Vec<(String, Value)>>,
    asked: Mutex<Vec<Asked>>,
    pub(super) closes: AtomicUsize,
}

impl TestPeer {
    /// A session client declaring sampling, elicitation and roots.
    pub(super) fn new() -> Arc<Self> {
        Self::with_capabilities(json!({ "sampling": {}, "elicitation": {}, "roots": {} }))
    }

    pub(super) fn with_capabilities(capabilities: Value) -> Arc<Self> {
        Self::build(capabilities, None, Some(LogLevel::Debug))
    }

    /// A 2026-07-28 request that carries `input_responses` (an object keyed
    /// like `inputRequests`) and sets no log level.
    pub(super) fn stateless(capabilities: Value, input_responses: Value) -> Arc<Self> {
        let Value::Object(round) = input_responses else { panic!("inputResponses must be an object") };
        Self::build(capabilities, Some(round), None)
    }

    /// A session client that asked for messages at `level` and above.
    pub(super) fn logging_at(level: LogLevel) -> Arc<Self> {
        Self::build(json!({}), None, Some(level))
    }

    fn build(capabilities: Value, round: Option<Map<String, Value>>, log_level: Option<LogLevel>) -> Arc<Self> {
        Arc::new(Self {
            capabilities,
            round,
            log_level,
            notifications: Mutex::default(),
            asked: Mutex::default(),
            closes: AtomicUsize::new(0),
        })
    }

    pub(super) fn notifications(&self, method: &str) -> Vec<Value> {
        self.notifications.lock().iter().filter(|(m, _)| m == method).map(|(_, p)| p.clone()).collect()
    }

    /// Every question, in the order asked.
    pub(super) fn asked(&self) -> Vec<Asked> {
        self.asked.lock().clone()
    }

    /// The keys of the questions, in the order asked.
    pub(super) fn keys(&self) -> Vec<String> {
        self.asked.lock().iter().map(|a| a.key.clone().unwrap_or_default()).collect()
    }

    /// `(method, params)` of every question.
    pub(super) fn requests(&self) -> Vec<(String, Value)> {
        self.asked.lock().iter().map(|a| (a.method.clone(), a.params.clone())).collect()
    }

    fn answer(&self, key: Option<&str>, method: &str, params: &Value) -> Result<Value, RpcError> {
        let capability = method.split('/').next().unwrap_or_default();
        if self.capabilities.get(capability).is_none() {
            return Err(RpcError::new(-32021, format!("{method} needs the {capability} capability"))
                .with_data(json!({ "requiredCapabilities": { capability: {} } })));
        }
        if let Some(round) = &self.round {
            let key = key.unwrap_or_default();
            return round.get(key).cloned().ok_or_else(|| RpcError::new(UNANSWERED, format!("input required: {key}")));
        }
        match method {
            "sampling/createMessage" => Ok(json!({
                "role": "assistant",
                "content": { "type": "text", "text": "This is a test response from the client" },
                "model": "test-model",
                "stopReason": "endTurn",
            })),
            "elicitation/create" => Ok(json!({ "action": "accept", "content": form(params) })),
            "roots/list" => Ok(json!({ "roots": [{ "uri": "file:///test/root", "name": "Test Root" }] })),
            other => Err(RpcError::method_not_found(other)),
        }
    }
}

/// A filled-in form: a canned value for every field of the requested schema.
fn form(params: &Value) -> Value {
    static CANNED: OnceLock<Map<String, Value>> = OnceLock::new();
    let canned = CANNED.get_or_init(|| {
        let Value::Object(m) = json!({
            "username": "testuser", "email": "test@example.com", "name": "Alice",
            "color": "blue", "context": "test context",
        }) else {
            unreachable!()
        };
        m
    });
    let empty = Map::new();
    let properties = params["requestedSchema"]["properties"].as_object().unwrap_or(&empty);
    let content: Map<String, Value> = properties
        .iter()
        .map(|(name, schema)| {
            let value = canned.get(name).cloned().unwrap_or_else(|| match schema["type"].as_str() {
                Some("boolean") => json!(true),
                Some("integer") => json!(25),
                Some("number") => json!(1.5),
                Some("array") => json!([]),
                _ => json!("value"),
            });
            (name.clone(), value)
        })
        .collect();
    Value::Object(content)
}

impl Peer for TestPeer {
    fn notify(&self, method: &str, params: Box<RawValue>) {
        self.notifications.lock().push((method.to_owned(), serde_json::from_str(params.get()).unwrap()));
    }

    fn request(
        &self,
        key: Option<&str>,
        method: &str,
        params: Box<RawValue>,
    ) -> BoxFuture<'static, Result<Box<RawValue>, RpcError>> {
        let params: Value = serde_json::from_str(params.get()).unwrap();
        let answer = self.answer(key, method, &params);
        self.asked.lock().push(Asked { key: key.map(str::to_owned), method: method.to_owned(), params });
        Box::pin(async move { answer.map(|a| serde_json::value::to_raw_value(&a).unwrap()) })
    }

    fn log_level(&self) -> Option<LogLevel> {
        self.log_level
    }

    fn logs_without_level(&self) -> bool {
        self.round.is_none()
    }

    fn client_capabilities(&self) -> Option<&Value> {
        Some(&self.capabilities)
    }

    fn close_stream(&self) {
        self.closes.fetch_add(1, Ordering::SeqCst);
    }
}
