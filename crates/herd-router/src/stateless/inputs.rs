//! Questions to the client without a session (multi round-trip requests).
//!
//! On the stateless revision a handler that awaits the client cannot hold
//! a connection open for the answer: the question goes back in an
//! `input_required` result, and the client retries the same request with
//! `inputResponses` (answers by key) and the `requestState` it got. herd
//! keeps nothing in between: the state carries the answers the handler used
//! so far, signed (HMAC-SHA256) together with a digest of the request and
//! an expiry, so any replica holding the same [`StateKey`] can take the
//! retry, and a state that was altered, belongs to another request or
//! expired is refused. The handler runs again from the start and every
//! question it already asked is answered at once.

use aws_lc_rs::{digest, hmac, rand};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use herd_proto::{Request, RequestId, RpcError, method};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// How long a `requestState` stays good.
const STATE_LIFETIME: Duration = Duration::from_secs(3600);

/// Signs and checks `requestState`. Replicas behind one load balancer must
/// share it; the default is random per process.
#[derive(Clone)]
pub struct StateKey(Arc<hmac::Key>);

impl StateKey {
    /// A fresh random key.
    pub fn random() -> Self {
        let mut secret = [0u8; 32];
        // The system RNG failing leaves the all-zero key; say so loudly.
        if rand::fill(&mut secret).is_err() {
            tracing::error!("no system randomness: request states are signed with a fixed key");
        }
        Self::from_secret(&secret)
    }

    /// A key derived from a shared secret.
    pub fn from_secret(secret: &[u8]) -> Self {
        Self(Arc::new(hmac::Key::new(hmac::HMAC_SHA256, secret)))
    }
}

impl Default for StateKey {
    fn default() -> Self {
        Self::random()
    }
}

impl fmt::Debug for StateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StateKey(..)")
    }
}

/// What a state says, before signing.
#[derive(Serialize, Deserialize)]
struct Payload {
    /// Expiry, seconds since the epoch.
    exp: u64,
    /// Digest of the method and params the state belongs to.
    bind: String,
    /// Answers used so far, by key.
    answers: BTreeMap<String, Value>,
}

/// A question the handler asked that has no answer yet.
struct Question {
    key: String,
    method: String,
    params: Box<RawValue>,
}

#[derive(Default)]
struct Round {
    asked: Vec<Question>,
    used: BTreeMap<String, Value>,
    numbered: u32,
}

/// The answers one request arrived with, and the questions it raises.
pub(crate) struct Inputs {
    answers: BTreeMap<String, Value>,
    /// The request's method and params (without `_meta` and the input
    /// members), for the state's digest.
    method: String,
    params: Option<Box<RawValue>>,
    round: Mutex<Round>,
    asked: Notify,
    /// Cancelled when the request ends, releasing questions still awaited.
    ended: CancellationToken,
}

impl Inputs {
    /// Takes `inputResponses` and `requestState` out of `req` (handlers and
    /// relays never see them) and checks the state.
    pub(crate) fn take(mut req: Request, key: &StateKey) -> Result<(Request, Self), (RequestId, RpcError)> {
        let mut answers = BTreeMap::new();
        let carries = req.params.as_ref().is_some_and(|p| {
            let text = p.get();
            text.contains("\"inputResponses\"") || text.contains("\"requestState\"")
        });
        if carries {
            let (params, responses, state) = split(&req).map_err(|e| (req.id.clone(), e))?;
            req.params = Some(params);
            let inputs = Self::fresh(&req);
            if let Some(state) = state {
                answers = inputs.open(&state, key).map_err(|e| (req.id.clone(), e))?;
            }
            answers.extend(responses);
            return Ok((req, Self { answers, ..inputs }));
        }
        let inputs = Self::fresh(&req);
        Ok((req, inputs))
    }

    fn fresh(req: &Request) -> Self {
        Self {
            answers: BTreeMap::new(),
            method: req.method.clone(),
            params: req.params.clone(),
            round: Mutex::default(),
            asked: Notify::new(),
            ended: CancellationToken::new(),
        }
    }

    /// The answer to a question, or `None` after recording it as asked.
    pub(crate) fn answer(&self, key: Option<&str>, method: &str, params: Box<RawValue>) -> Option<Value> {
        let mut round = self.round.lock();
        let key = match key {
            Some(key) => key.to_owned(),
            None => {
                round.numbered += 1;
                format!("{}-{}", method.split('/').next().unwrap_or("input"), round.numbered)
            }
        };
        if let Some(answer) = self.answers.get(&key).filter(|a| answers_question(method, a)) {
            round.used.insert(key, answer.clone());
            return Some(answer.clone());
        }
        if !round.asked.iter().any(|q| q.key == key) {
            round.asked.push(Question { key, method: method.to_owned(), params });
        }
        drop(round);
        self.asked.notify_one();
        None
    }

    /// Resolves once the handler asked something it has no answer to.
    ///
    /// # Cancel safety
    /// Cancel safe: a question asked meanwhile is not missed.
    pub(crate) async fn needed(&self) {
        self.asked.notified().await;
    }

    /// Cancelled once the request is answered or dropped.
    pub(crate) fn ended(&self) -> CancellationToken {
        self.ended.clone()
    }

    pub(crate) fn has_questions(&self) -> bool {
        !self.round.lock().asked.is_empty()
    }

    /// The `input_required` result: the open questions and a signed state
    /// holding the answers used so far.
    pub(crate) fn input_required(&self, key: &StateKey) -> Result<Box<RawValue>, RpcError> {
        let round = self.round.lock();
        let requests: Map<String, Value> = round
            .asked
            .iter()
            .map(|q| {
                let params: Value = serde_json::from_str(q.params.get()).unwrap_or(Value::Null);
                (q.key.clone(), json!({ "method": q.method, "params": params }))
            })
            .collect();
        let exp = now_secs().saturating_add(STATE_LIFETIME.as_secs());
        let payload = Payload { exp, bind: self.bind()?, answers: round.used.clone() };
        let state = seal(&payload, key)?;
        let result = json!({ "resultType": "input_required", "inputRequests": requests, "requestState": state });
        serde_json::value::to_raw_value(&result).map_err(|e| RpcError::internal(e.to_string()))
    }

    /// Verifies `state` and returns its answers.
    fn open(&self, state: &str, key: &StateKey) -> Result<BTreeMap<String, Value>, RpcError> {
        let refused = || RpcError::invalid_params("requestState is not one this server issued for this request");
        let (body, tag) = state.split_once('.').ok_or_else(refused)?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| refused())?;
        hmac::verify(&key.0, body.as_bytes(), &tag).map_err(|_| refused())?;
        let body = URL_SAFE_NO_PAD.decode(body).map_err(|_| refused())?;
        let payload: Payload = serde_json::from_slice(&body).map_err(|_| refused())?;
        if payload.bind != self.bind()? {
            return Err(refused());
        }
        if payload.exp < now_secs() {
            return Err(RpcError::invalid_params("requestState expired: send the request again without it"));
        }
        Ok(payload.answers)
    }

    /// A digest of the method and the params minus `_meta`: the same for
    /// every round of one request, different for any other.
    fn bind(&self) -> Result<String, RpcError> {
        let mut params: Value = match &self.params {
            Some(p) => serde_json::from_str(p.get()).map_err(|e| RpcError::invalid_params(e.to_string()))?,
            None => Value::Null,
        };
        if let Value::Object(map) = &mut params {
            map.remove("_meta");
        }
        let text = format!("{}\n{}", self.method, params);
        let hash = digest::digest(&digest::SHA256, text.as_bytes());
        Ok(URL_SAFE_NO_PAD.encode(hash.as_ref()))
    }
}

/// A request's params without the input members, and those members.
type Split = (Box<RawValue>, BTreeMap<String, Value>, Option<String>);

/// Splits the input members off `req`'s params.
fn split(req: &Request) -> Result<Split, RpcError> {
    let mut params: Map<String, Value> = req.params_as()?;
    let responses = match params.remove("inputResponses") {
        Some(Value::Object(map)) => map.into_iter().collect(),
        Some(Value::Null) | None => BTreeMap::new(),
        Some(_) => return Err(RpcError::invalid_params("inputResponses must be an object")),
    };
    let state = match params.remove("requestState") {
        Some(Value::String(s)) => Some(s),
        Some(Value::Null) | None => None,
        Some(_) => return Err(RpcError::invalid_params("requestState must be a string")),
    };
    let params = serde_json::value::to_raw_value(&params).map_err(|e| RpcError::internal(e.to_string()))?;
    Ok((params, responses, state))
}

/// Whether `answer` has the shape of a client's result to `method`; any
/// other value counts as no answer, and the question is asked again.
fn answers_question(method: &str, answer: &Value) -> bool {
    match method {
        method::ELICITATION_CREATE => answer.get("action").is_some_and(Value::is_string),
        method::SAMPLING_CREATE_MESSAGE => answer.get("content").is_some(),
        method::ROOTS_LIST => answer.get("roots").is_some_and(Value::is_array),
        _ => answer.is_object(),
    }
}

fn seal(payload: &Payload, key: &StateKey) -> Result<String, RpcError> {
    let body = serde_json::to_vec(payload).map_err(|e| RpcError::internal(e.to_string()))?;
    let body = URL_SAFE_NO_PAD.encode(body);
    let tag = hmac::sign(&key.0, body.as_bytes());
    Ok(format!("{body}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref())))
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}
