//! Tasks through a router: a long call becomes a task of its caller only,
//! parks on its question until `tasks/update`, and ends completed; the
//! extension is required where it must be, and the owner's cap holds.

#![allow(clippy::unwrap_used)]

use super::TaskLimits;
use crate::tests::tool;
use crate::{Claims, Router, RouterConfig, StatelessAnswer, Verdict};
use herd_proto::model::{CallToolResult, TaskSupport};
use herd_proto::{Message, method};
use herd_tools::Catalog;
use serde_json::{Value, json};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, mpsc};

/// `wait` waits for `go`, then asks `ok`; `at_once` must run as a task.
fn router(go: Arc<Notify>) -> Router {
    let mut b = Catalog::builder();
    b.task_tool(tool("wait"), TaskSupport::Optional, move |_, cx| {
        let go = go.clone();
        async move {
            go.notified().await;
            let ask = json!({ "message": "?", "requestedSchema": { "type": "object", "properties": {} } });
            let answer = cx.ask("ok", method::ELICITATION_CREATE, &ask).await?;
            Ok(CallToolResult::text(format!("answered {}", answer["action"])))
        }
    });
    b.task_tool(tool("at_once"), TaskSupport::Required, |_, _| async { Ok(CallToolResult::text("done")) });
    // Every call still running once it is polled is a task at once.
    let tasks = TaskLimits { answer_in_place: Duration::ZERO, max_per_owner: 1, ..TaskLimits::default() };
    Router::new(RouterConfig { tasks, ..RouterConfig::default() }, vec![Arc::new(b.build())])
}

fn from(last: u8) -> Claims<'static> {
    Claims { address: Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))), ..Claims::default() }
}

async fn send(router: &Router, claims: Claims<'_>, method: &str, mut params: Value, tasks: bool) -> (Value, Verdict) {
    let capabilities = if tasks {
        json!({ "elicitation": {}, "extensions": { "io.modelcontextprotocol/tasks": {} } })
    } else {
        json!({})
    };
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": capabilities,
    });
    let text = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params }).to_string();
    let Message::Request(req) = Message::parse(text.as_bytes()).unwrap() else { unreachable!() };
    let StatelessAnswer { body, verdict } = router.handle_stateless(req, claims, None).await.unwrap();
    (serde_json::from_str(&body).unwrap(), verdict)
}

/// `tasks/get` until the task's status is `status`, letting its work run
/// in between (the test runtime has one thread).
async fn until(router: &Router, id: &str, status: &str) -> Value {
    for _ in 0..1000 {
        let (got, _) = send(router, from(1), "tasks/get", json!({ "taskId": id }), true).await;
        if got["result"]["status"] == status {
            return got["result"].clone();
        }
        tokio::task::yield_now().await;
    }
    panic!("task {id} never became {status}");
}

#[tokio::test]
async fn a_long_call_becomes_its_callers_task_and_parks_on_its_question() {
    let go = Arc::new(Notify::new());
    let router = router(go.clone());
    let (created, verdict) = send(&router, from(1), "tools/call", json!({ "name": "wait" }), true).await;
    assert_eq!(verdict, Verdict::Answered);
    assert_eq!(created["result"]["resultType"], "task", "{created}");
    let id = created["result"]["taskId"].as_str().unwrap().to_owned();

    // Another client, and the owner without the extension.
    let (other, _) = send(&router, from(2), "tasks/get", json!({ "taskId": &id }), true).await;
    assert_eq!(other["error"]["code"], -32602, "{other}");
    let (undeclared, verdict) = send(&router, from(1), "tasks/cancel", json!({ "taskId": &id }), false).await;
    assert_eq!((undeclared["error"]["code"].as_i64(), verdict), (Some(-32021), Verdict::Refused));
    // The owner's one slot is taken; a required tool wants the extension.
    let (full, _) = send(&router, from(1), "tools/call", json!({ "name": "wait" }), true).await;
    assert!(full["error"]["message"].as_str().unwrap().contains("limit 1"), "{full}");
    let (required, _) = send(&router, from(3), "tools/call", json!({ "name": "at_once" }), false).await;
    assert_eq!(required["error"]["code"], -32021, "{required}");
    assert!(
        required["error"]["data"]["requiredCapabilities"]["extensions"]["io.modelcontextprotocol/tasks"].is_object()
    );
    // The methods the extension removed are unknown.
    let (removed, verdict) = send(&router, from(1), "tasks/list", json!({}), true).await;
    assert_eq!((removed["error"]["code"].as_i64(), verdict), (Some(-32601), Verdict::NoSuchMethod));

    go.notify_one();
    let parked = until(&router, &id, "input_required").await;
    assert_eq!(parked["inputRequests"]["ok"]["method"], "elicitation/create", "{parked}");
    let answers = json!({ "taskId": &id, "inputResponses": { "ok": { "action": "accept", "content": {} } } });
    let (ack, _) = send(&router, from(1), "tasks/update", answers, true).await;
    assert_eq!(ack["result"], json!({ "resultType": "complete" }));
    let done = until(&router, &id, "completed").await;
    assert_eq!(done["result"]["content"][0]["text"], "answered \"accept\"", "{done}");

    let (ack, _) = send(&router, from(1), "tasks/cancel", json!({ "taskId": &id }), true).await;
    assert_eq!(ack["result"], json!({ "resultType": "complete" }));
    assert_eq!(until(&router, &id, "completed").await["status"], "completed");
}

/// Opens a listen stream from `client` for `task_ids`; its messages.
async fn listen(
    router: &Router,
    client: u8,
    task_ids: &[&str],
) -> (tokio::task::JoinHandle<()>, mpsc::UnboundedReceiver<String>) {
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    let params = json!({
        "notifications": { "taskIds": task_ids },
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": { "extensions": { "io.modelcontextprotocol/tasks": {} } },
        },
    });
    let text = json!({ "jsonrpc": "2.0", "id": 9, "method": "subscriptions/listen", "params": params }).to_string();
    let Message::Request(req) = Message::parse(text.as_bytes()).unwrap() else { unreachable!() };
    let router = router.clone();
    let listening = tokio::spawn(async move {
        router.handle_stateless(req, from(client), Some(Arc::new(tx))).await;
    });
    let ack: Value = serde_json::from_str(&rx.recv().await.unwrap()).unwrap();
    assert_eq!(ack["params"]["notifications"]["taskIds"], json!(task_ids), "{ack}");
    (listening, rx)
}

#[tokio::test]
async fn the_owners_listen_stream_hears_each_change_of_its_task_and_no_one_elses_does() {
    let go = Arc::new(Notify::new());
    let router = router(go.clone());
    let (created, _) = send(&router, from(1), "tools/call", json!({ "name": "wait" }), true).await;
    let id = created["result"]["taskId"].as_str().unwrap().to_owned();
    let (mine, mut heard) = listen(&router, 1, &[&id]).await;
    let (theirs, mut overheard) = listen(&router, 2, &[&id]).await;

    go.notify_one();
    let parked: Value = loop {
        let note: Value = serde_json::from_str(&heard.recv().await.unwrap()).unwrap();
        assert_eq!(note["method"], "notifications/tasks", "{note}");
        assert_eq!(note["params"]["taskId"], id.as_str());
        assert_eq!(note["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"], 9);
        if note["params"]["status"] == "input_required" {
            break note;
        }
    };
    assert!(parked["params"]["inputRequests"]["ok"].is_object(), "{parked}");
    let answers = json!({ "taskId": &id, "inputResponses": { "ok": { "action": "decline" } } });
    send(&router, from(1), "tasks/update", answers, true).await;
    let done: Value = loop {
        let note: Value = serde_json::from_str(&heard.recv().await.unwrap()).unwrap();
        if note["params"]["status"] == "completed" {
            break note;
        }
    };
    assert_eq!(done["params"]["result"]["content"][0]["text"], "answered \"decline\"", "{done}");
    assert!(overheard.try_recv().is_err(), "another client's stream hears nothing of the task");
    for listening in [mine, theirs] {
        listening.abort();
        let _ = listening.await;
    }
}
