//! First-class exposure against a real MCP server over HTTP (herd's
//! conformance fixtures behind herd's own HTTP front): only the chosen
//! tools appear, renamed with the host's prefix; calls reach the right tool
//! under its own name; resources pass through; and when the host goes down
//! or comes back, the backend announces `list_changed` and its lists follow.

#![allow(clippy::unwrap_used)]

#[path = "support/agent.rs"]
mod agent;

use agent::conformance_server;
use herd_fleet::{ProbeOk, Registry};
use herd_hub::{CallConfig, Hub};
use herd_proto::{Backend, Context, ListKind, Notifier, Request, RequestId, method};
use serde_json::{Value, json};
use std::time::Duration;

async fn names(backend: &dyn Backend, kind: ListKind, key: &str) -> Vec<String> {
    let list = backend.list(kind, Context::detached()).await.unwrap();
    let entries: Vec<Value> = list.iter().map(|e| serde_json::from_str(e.get()).unwrap()).collect();
    entries.iter().map(|e| e[key].as_str().unwrap().to_owned()).collect()
}

fn request(method: &str, params: Value) -> Request {
    let params = Some(serde_json::value::to_raw_value(&params).unwrap());
    Request { id: RequestId::number(1), method: method.into(), params, extra: Vec::new() }
}

#[tokio::test(flavor = "multi_thread")]
async fn exposes_chosen_tools_renamed_and_follows_the_host_up_and_down() {
    let (url, _server) = conformance_server().await;
    let text = format!(
        "[[hosts]]\nname = \"conf\"\nurl = \"{url}\"\n\
         expose = {{ tools = [\"test_simple_text\", \"test_image_content\"], prefix = \"conf_\", prompts = true }}\n"
    );
    let hub = Hub::new(Registry::parse(&text, "t").unwrap(), None, CallConfig::default());
    hub.probe_now().await;
    let exposed = hub.backends().pop().unwrap();
    let (notifier, mut notes) = Notifier::channel();
    exposed.attach(notifier);

    assert_eq!(names(&*exposed, ListKind::Tools, "name").await, ["conf_test_simple_text", "conf_test_image_content"]);
    assert!(names(&*exposed, ListKind::Prompts, "name").await.contains(&"conf_test_simple_prompt".to_owned()));
    assert!(names(&*exposed, ListKind::Resources, "uri").await.contains(&"test://static-text".to_owned()));

    let call = request(method::TOOLS_CALL, json!({ "name": "conf_test_simple_text", "arguments": {} }));
    let result: Value = serde_json::from_str(exposed.call(call, Context::detached()).await.unwrap().get()).unwrap();
    assert_eq!(result["content"][0]["type"], "text", "{result}");
    let prompt = request(method::PROMPTS_GET, json!({ "name": "conf_test_simple_prompt" }));
    assert!(exposed.call(prompt, Context::detached()).await.is_ok());
    let read = request(method::RESOURCES_READ, json!({ "uri": "test://static-text" }));
    let contents: Value = serde_json::from_str(exposed.call(read, Context::detached()).await.unwrap().get()).unwrap();
    assert_eq!(contents["contents"][0]["uri"], "test://static-text");
    let hidden = request(method::TOOLS_CALL, json!({ "name": "conf_test_error_handling", "arguments": {} }));
    assert!(exposed.call(hidden, Context::detached()).await.unwrap_err().message.contains("unknown tool"));

    // Down: clients are told, and the host's entries leave the lists.
    hub.fleet().health().report("conf", Err("probe failed".into()));
    let mut told = Vec::new();
    for _ in 0..3 {
        let note = tokio::time::timeout(Duration::from_secs(5), notes.recv()).await.unwrap().unwrap();
        told.push(note.method);
    }
    told.sort();
    assert_eq!(told, [method::PROMPTS_LIST_CHANGED, method::RESOURCES_LIST_CHANGED, method::TOOLS_LIST_CHANGED]);
    assert!(names(&*exposed, ListKind::Tools, "name").await.is_empty());

    // Back up: told again, entries return.
    hub.fleet().health().report("conf", Ok(ProbeOk::default()));
    let note = tokio::time::timeout(Duration::from_secs(5), notes.recv()).await.unwrap().unwrap();
    assert!(note.method.ends_with("list_changed"), "{}", note.method);
    assert_eq!(names(&*exposed, ListKind::Tools, "name").await.len(), 2);
}
