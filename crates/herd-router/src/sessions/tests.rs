//! Session caps, the idle reaper, and requests to ended sessions.

use crate::{Expiry, Owner, Router, RouterConfig, Session, TooManySessions};
use herd_proto::model::CallToolResult;
use herd_proto::{Message, code};
use herd_tools::Catalog;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

fn router(config: RouterConfig) -> Router {
    let mut b = Catalog::builder();
    b.tool(crate::tests::tool("echo"), |_, _| async { Ok(CallToolResult::text("echoed")) });
    Router::new(config, vec![Arc::new(b.build())])
}

async fn call(session: &Arc<Session>, text: &str) -> Option<Value> {
    let Ok(Message::Request(req)) = Message::parse(text.as_bytes()) else { panic!("not a request: {text}") };
    let answer = session.handle_request(req, None).await?;
    Some(serde_json::from_str(&answer).unwrap())
}

async fn initialize(session: &Arc<Session>) {
    let init =
        r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{}}}"#;
    assert!(call(session, init).await.is_some_and(|a| a.get("result").is_some()));
}

const CALL: &str = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"}}"#;

#[tokio::test]
async fn one_owner_cannot_take_every_session() {
    let config = RouterConfig { max_sessions: 3, max_sessions_per_owner: 2, ..RouterConfig::default() };
    let router = router(config);
    let greedy = Owner::bearer_token(b"greedy");
    let first = router.open_session(greedy.clone(), Expiry::WhenIdle).unwrap();
    router.open_session(greedy.clone(), Expiry::WhenIdle).unwrap();
    let refused = router.open_session(greedy.clone(), Expiry::WhenIdle).unwrap_err();
    assert_eq!(refused, TooManySessions::PerOwner { limit: 2 });
    assert!(refused.to_string().contains("limit 2 per client"), "{refused}");

    // Others still get in, up to the total.
    let other = Owner::address("192.0.2.7".parse().unwrap());
    router.open_session(other.clone(), Expiry::WhenIdle).unwrap();
    assert_eq!(router.open_session(other, Expiry::WhenIdle).unwrap_err(), TooManySessions::Total { limit: 3 });

    // An ended session frees its owner's slot.
    assert!(router.end_session(first.id()));
    router.open_session(greedy, Expiry::WhenIdle).unwrap();
}

#[tokio::test]
async fn the_reaper_ends_idle_sessions_but_not_transport_sessions() {
    let config = RouterConfig { session_idle_timeout: Duration::from_millis(20), ..RouterConfig::default() };
    let router = router(config);
    let stdio = router.open_session(Owner::local(), Expiry::WithTransport).unwrap();
    initialize(&stdio).await;
    // Opened after the stdio session went quiet: once the reaper has ended
    // it, it has looked at the stdio session too.
    let witness = router.create_session().unwrap();
    witness.closed().await;
    assert!(router.session(witness.id()).is_none());

    assert!(!stdio.is_closed());
    assert!(router.session(stdio.id()).is_some());
    let answer = call(&stdio, CALL).await.expect("an answer");
    assert_eq!(answer["result"]["content"][0]["text"], "echoed", "{answer}");
}

#[tokio::test]
async fn a_request_to_an_ended_session_gets_an_error_not_silence() {
    let router = router(RouterConfig::default());
    let session = router.create_session().unwrap();
    initialize(&session).await;
    assert!(router.end_session(session.id()));
    let answer = call(&session, CALL).await.expect("an answer, not silence");
    assert_eq!(answer["error"]["code"], code::INVALID_REQUEST, "{answer}");
    assert!(answer["error"]["message"].as_str().unwrap().contains("session has ended"), "{answer}");
    // ping, answered by the session itself, keeps working as before.
    let ping = call(&session, r#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#).await.unwrap();
    assert!(ping.get("result").is_some());
}

#[tokio::test]
async fn session_ids_carry_the_configured_prefix() {
    let prefixed = router(RouterConfig { id_prefix: "r1a2b.".into(), ..RouterConfig::default() });
    let (one, two) = (prefixed.create_session().unwrap(), prefixed.create_session().unwrap());
    for session in [&one, &two] {
        let rest = session.id().strip_prefix("r1a2b.").unwrap_or_else(|| panic!("no prefix: {}", session.id()));
        assert_eq!(rest.len(), 32, "{}", session.id());
    }
    assert_ne!(one.id(), two.id());
    let plain = router(RouterConfig::default());
    assert_eq!(plain.create_session().unwrap().id().len(), 32);
}
