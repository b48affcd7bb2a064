//! The stateless revision end to end through a router: envelope checks,
//! questions across rounds, result shapes and listen streams.

#![allow(clippy::unwrap_used)]

use crate::tests::tool;
use crate::{Claims, Router, RouterConfig, SharedOutbox, StatelessAnswer, Verdict};
use herd_proto::model::CallToolResult;
use herd_proto::{LogLevel, Message, Request, method};
use herd_tools::Catalog;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::mpsc;

/// `two_questions` asks `first` then `second` and answers with both;
/// `chatty` logs once at info and reports progress; `runs` counts handler runs.
fn catalog(runs: Arc<AtomicUsize>) -> Catalog {
    let mut b = Catalog::builder();
    b.tool(tool("two_questions"), move |_, cx| {
        let runs = runs.clone();
        async move {
            runs.fetch_add(1, Ordering::SeqCst);
            let ask = json!({"message": "?", "requestedSchema": {"type": "object", "properties": {}}});
            let first = cx.ask("first", method::ELICITATION_CREATE, &ask).await?;
            let second = cx.ask("second", method::ELICITATION_CREATE, &ask).await?;
            Ok(CallToolResult::text(format!("{}+{}", first["content"]["v"], second["content"]["v"])))
        }
    });
    b.tool(tool("chatty"), |_, cx| async move {
        cx.log(LogLevel::Info, None, json!("hello"));
        cx.progress(1.0, Some(2.0), None);
        Ok(CallToolResult::text("done"))
    });
    b.logging().build()
}

fn router() -> (Router, Catalog, Arc<AtomicUsize>) {
    let runs = Arc::new(AtomicUsize::new(0));
    let catalog = catalog(runs.clone());
    (Router::new(RouterConfig::default(), vec![Arc::new(catalog.clone())]), catalog, runs)
}

fn meta() -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": { "elicitation": {} },
    })
}

fn request(id: u64, method: &str, mut params: Value) -> Request {
    if params.get("_meta").is_none() {
        params["_meta"] = meta();
    }
    let text = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string();
    match Message::parse(text.as_bytes()).unwrap() {
        Message::Request(r) => r,
        other => panic!("{other:?}"),
    }
}

async fn send(router: &Router, req: Request, claims: Claims<'_>, outbox: Option<SharedOutbox>) -> (Value, Verdict) {
    let StatelessAnswer { body, verdict } = router.handle_stateless(req, claims, outbox).await.unwrap();
    (serde_json::from_str(&body).unwrap(), verdict)
}

async fn call(router: &Router, params: Value) -> Value {
    let (answer, verdict) = send(router, request(7, method::TOOLS_CALL, params), Claims::default(), None).await;
    assert_eq!(verdict, Verdict::Answered, "{answer}");
    answer
}

#[tokio::test]
async fn the_envelope_is_checked_in_order_and_refused_with_the_revisions_codes() {
    let (router, _, _) = router();
    let bare = request(1, method::TOOLS_LIST, json!({"_meta": {}}));
    let (answer, verdict) = send(&router, bare, Claims::default(), None).await;
    assert_eq!((answer["error"]["code"].as_i64(), verdict), (Some(-32602), Verdict::Refused));
    assert_eq!(answer["id"], 1);

    let claims = Claims { version: Some("2026-07-28"), ..Claims::default() };
    let mut odd = meta();
    odd["io.modelcontextprotocol/protocolVersion"] = json!("v999.0.0");
    let (answer, verdict) = send(&router, request(2, method::TOOLS_LIST, json!({"_meta": odd})), claims, None).await;
    assert_eq!((answer["error"]["code"].as_i64(), verdict), (Some(-32020), Verdict::Refused));

    let claims = Claims { version: Some("v999.0.0"), ..Claims::default() };
    let (answer, verdict) = send(&router, request(3, method::TOOLS_LIST, json!({"_meta": odd})), claims, None).await;
    assert_eq!((answer["error"]["code"].as_i64(), verdict), (Some(-32022), Verdict::Refused));
    assert_eq!(answer["error"]["data"], json!({"supported": ["2026-07-28"], "requested": "v999.0.0"}));

    let claims = Claims { method: Some("prompts/list"), required: true, ..Claims::default() };
    let (answer, _) = send(&router, request(4, method::TOOLS_LIST, json!({})), claims, None).await;
    assert_eq!(answer["error"]["code"], -32020);
    let claims = Claims { method: Some("tools/call"), required: true, ..Claims::default() };
    let (answer, _) = send(&router, request(5, method::TOOLS_CALL, json!({"name": "chatty"})), claims, None).await;
    assert_eq!(answer["error"]["code"], -32020, "a missing Mcp-Name is refused when the body names a tool");

    for removed in [method::INITIALIZE, method::PING, method::LOGGING_SET_LEVEL, method::RESOURCES_SUBSCRIBE] {
        let (answer, verdict) = send(&router, request(6, removed, json!({})), Claims::default(), None).await;
        assert_eq!((answer["error"]["code"].as_i64(), verdict), (Some(-32601), Verdict::NoSuchMethod), "{removed}");
    }
}

#[tokio::test]
async fn questions_travel_in_input_required_results_and_signed_state_carries_the_answers() {
    let (router, _, runs) = router();
    let round1 = call(&router, json!({"name": "two_questions"})).await;
    let result = &round1["result"];
    assert_eq!(result["resultType"], "input_required");
    assert_eq!(result["inputRequests"]["first"]["method"], method::ELICITATION_CREATE);
    assert!(result["inputRequests"].get("second").is_none(), "questions come one round at a time here");
    let state1 = result["requestState"].as_str().unwrap().to_owned();

    let answer = |v: &str| json!({"action": "accept", "content": {"v": v}});
    let round2 = call(
        &router,
        json!({"name": "two_questions", "inputResponses": {"first": answer("a")}, "requestState": state1}),
    )
    .await;
    let state2 = round2["result"]["requestState"].as_str().unwrap().to_owned();
    assert!(round2["result"]["inputRequests"].get("second").is_some());
    assert_ne!(state1, state2);

    let round3 = call(
        &router,
        json!({"name": "two_questions", "inputResponses": {"second": answer("b")}, "requestState": state2}),
    )
    .await;
    assert_eq!(round3["result"]["resultType"], "complete");
    assert_eq!(round3["result"]["content"][0]["text"], "\"a\"+\"b\"");
    assert_eq!(runs.load(Ordering::SeqCst), 3, "each round runs the handler from the start");

    let tampered = format!("{state2}x");
    let bad = call(&router, json!({"name": "two_questions", "inputResponses": {}, "requestState": tampered})).await;
    assert_eq!(bad["error"]["code"], -32602);
    // A state is bound to its request: other arguments make it foreign.
    let other = json!({"name": "two_questions", "arguments": {"x": 1}, "requestState": state2});
    assert_eq!(call(&router, other).await["error"]["code"], -32602);
    // An answer of the wrong shape is no answer: the question comes again.
    let junk = call(&router, json!({"name": "two_questions", "inputResponses": {"first": "yes"}})).await;
    assert!(junk["result"]["inputRequests"].get("first").is_some());
}

#[tokio::test]
async fn a_question_needing_an_undeclared_capability_is_refused_with_minus_32021() {
    let (router, _, _) = router();
    let mut no_caps = meta();
    no_caps["io.modelcontextprotocol/clientCapabilities"] = json!({});
    let req = request(9, method::TOOLS_CALL, json!({"name": "two_questions", "_meta": no_caps}));
    let (answer, verdict) = send(&router, req, Claims::default(), None).await;
    assert_eq!((answer["error"]["code"].as_i64(), verdict), (Some(-32021), Verdict::Refused));
    assert_eq!(answer["error"]["data"]["requiredCapabilities"], json!({"elicitation": {}}));
}

#[tokio::test]
async fn results_carry_result_type_and_caching_hints_and_logs_need_a_level() {
    let (router, _, _) = router();
    let (list, _) = send(&router, request(1, method::TOOLS_LIST, json!({})), Claims::default(), None).await;
    let result = &list["result"];
    assert_eq!((result["resultType"].as_str(), result["ttlMs"].as_u64()), (Some("complete"), Some(0)));
    assert_eq!(result["cacheScope"], "private");
    assert_eq!(result["tools"].as_array().unwrap().len(), 2);

    let (discover, _) = send(&router, request(2, method::SERVER_DISCOVER, json!({})), Claims::default(), None).await;
    assert!(discover["result"]["supportedVersions"].as_array().unwrap().contains(&json!("2026-07-28")));
    assert_eq!(discover["result"]["_meta"]["io.modelcontextprotocol/serverInfo"]["name"], "herd");

    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    let req = request(3, method::TOOLS_CALL, json!({"name": "chatty"}));
    send(&router, req, Claims::default(), Some(Arc::new(tx.clone()))).await;
    let sent: Vec<String> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
    assert!(sent.iter().all(|m| !m.contains(method::LOG_MESSAGE)), "no level, no logs: {sent:?}");

    let mut with_level = meta();
    with_level["io.modelcontextprotocol/logLevel"] = json!("debug");
    with_level["progressToken"] = json!("p-1");
    let req = request(4, method::TOOLS_CALL, json!({"name": "chatty", "_meta": with_level}));
    send(&router, req, Claims::default(), Some(Arc::new(tx))).await;
    let sent: Vec<String> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
    assert!(sent.iter().any(|m| m.contains(method::LOG_MESSAGE)), "{sent:?}");
    assert!(sent.iter().any(|m| m.contains(method::PROGRESS) && m.contains("\"p-1\"")), "{sent:?}");
}

#[tokio::test]
async fn a_listen_stream_is_acknowledged_then_gets_only_what_it_opted_in_to() {
    let (router, catalog, _) = router();
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    let filter = json!({"notifications": {"toolsListChanged": true, "promptsListChanged": true}});
    let req = request(42, method::SUBSCRIPTIONS_LISTEN, filter);
    let router2 = router.clone();
    let listening =
        tokio::spawn(async move { router2.handle_stateless(req, Claims::default(), Some(Arc::new(tx))).await });

    let ack: Value = serde_json::from_str(&rx.recv().await.unwrap()).unwrap();
    assert_eq!(ack["method"], method::SUBSCRIPTIONS_ACKNOWLEDGED);
    assert_eq!(ack["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"], 42);
    // The catalog has no prompts capability with listChanged: not agreed.
    assert_eq!(ack["params"]["notifications"], json!({"toolsListChanged": true}));

    catalog.remove_tool("chatty");
    let note: Value = serde_json::from_str(&rx.recv().await.unwrap()).unwrap();
    assert_eq!(note["method"], method::TOOLS_LIST_CHANGED);
    assert_eq!(note["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"], 42);

    listening.abort();
    let _ = listening.await;
    assert!(router.shared.listeners.is_empty(), "an ended listen request leaves no listener");
}
