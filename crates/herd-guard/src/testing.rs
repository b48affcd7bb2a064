//! Helpers for tests of guarded routers (feature `test-util`): principals
//! with a role and grant, and a client session opened as one of them.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use herd_auth::{Grant, Identity, Principal, Role, TokenId, UserId};
use herd_proto::{Request, RequestId, RpcError};
use herd_router::{Caller, Expiry, Owner, Router, Session};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// User `name` (id `id`, token `tok_` and `id * 10`) with `role` and the grants
/// `hosts`/`tools` (`None`: all).
pub fn principal(id: i64, name: &str, role: Role, hosts: Option<&str>, tools: Option<&str>) -> Principal {
    let identity =
        Identity::User { user_id: UserId(id), name: name.into(), token_id: TokenId(format!("tok_{}", id * 10).into()) };
    Principal::new(identity, role, Grant::parse(hosts, tools).unwrap())
}

/// A session of `router` opened and initialized as `principal`.
pub struct Client {
    pub session: Arc<Session>,
    next: AtomicU64,
}

impl Client {
    pub async fn open(router: &Router, principal: Principal) -> Self {
        let caller = Caller { principal: Some(principal), address: Some([127, 0, 0, 1].into()) };
        let session = router.open_session_as(Owner::unknown(), Expiry::WhenIdle, caller).unwrap();
        let client = Self { session, next: AtomicU64::new(1) };
        let init = json!({ "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": { "name": "policy-test", "version": "1.0" } });
        client.request("initialize", init).await.unwrap();
        client
    }

    /// One request; its result or error.
    pub async fn request(&self, method: &str, params: Value) -> Result<Value, RpcError> {
        let id = RequestId::number(self.next.fetch_add(1, Ordering::Relaxed));
        let params = Some(serde_json::value::to_raw_value(&params).unwrap());
        let req = Request { id, method: method.into(), params, extra: Vec::new() };
        let answer = self.session.handle_request(req, None).await.expect("an answer");
        let answer: Value = serde_json::from_str(&answer).unwrap();
        match answer.get("error") {
            Some(error) => Err(serde_json::from_value(error.clone()).unwrap()),
            None => Ok(answer["result"].clone()),
        }
    }

    /// The names (or URIs) of every entry of a list.
    pub async fn names(&self, method: &str, key: &str, member: &str) -> Vec<String> {
        let result = self.request(method, json!({})).await.unwrap();
        result[key].as_array().unwrap().iter().map(|e| e[member].as_str().unwrap().to_owned()).collect()
    }

    /// `tools/list` names.
    pub async fn tools(&self) -> Vec<String> {
        self.names("tools/list", "tools", "name").await
    }

    /// `tools/call`.
    pub async fn call(&self, name: &str, arguments: Value) -> Result<Value, RpcError> {
        self.request("tools/call", json!({ "name": name, "arguments": arguments })).await
    }
}

/// Whether `outcome` is the policy's refusal.
pub fn is_forbidden(outcome: &Result<Value, RpcError>) -> bool {
    matches!(outcome, Err(e) if e.code == herd_proto::code::FORBIDDEN)
}
