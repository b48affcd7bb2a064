use super::*;
use herd_proto::model::{Content, Prompt, Resource, ResourceTemplate, ToolAnnotations};
use herd_proto::{Backend, ListKind, Request, RequestId, code};
use serde_json::json;

fn echo_tool() -> Tool {
    Tool {
        name: "echo".into(),
        title: None,
        description: "Echoes its text".into(),
        input_schema: json!({"type":"object","properties":{"text":{"type":"string"}},"required":["text"]}),
        output_schema: None,
        annotations: Some(ToolAnnotations::read_only()),
    }
}

fn catalog() -> Catalog {
    Catalog::builder()
        .tool(echo_tool(), |args, _cx| async move {
            match args.get("text").and_then(Value::as_str) {
                Some(t) => Ok(CallToolResult::text(t)),
                None => Err(ToolError::InvalidArguments("text is required".into())),
            }
        })
        .build()
}

fn request(method: &str, params: Value) -> Request {
    Request::new(RequestId::number(1), method, Some(serde_json::value::to_raw_value(&params).unwrap()))
}

async fn call(c: &Catalog, method: &str, params: Value) -> Result<Value, RpcError> {
    let raw = c.call(request(method, params), Context::detached()).await?;
    Ok(serde_json::from_str(raw.get()).unwrap())
}

#[tokio::test]
async fn calls_route_by_name_and_errors_become_results() {
    let c = catalog();
    let ok = call(&c, "tools/call", json!({"name":"echo","arguments":{"text":"hi"}})).await.unwrap();
    assert_eq!(ok, json!({"content":[{"type":"text","text":"hi"}]}));
    let bad = call(&c, "tools/call", json!({"name":"echo","arguments":{}})).await.unwrap();
    assert_eq!(bad["isError"], true);
    assert_eq!(bad["content"][0]["text"], "invalid arguments: text is required");
    let unknown = call(&c, "tools/call", json!({"name":"nope"})).await.unwrap_err();
    assert_eq!(unknown.code, code::INVALID_PARAMS);
}

#[tokio::test]
async fn runtime_changes_update_the_list_and_notify() {
    let c = catalog();
    let (notifier, mut rx) = Notifier::channel();
    c.attach(notifier);
    c.add_tool(Tool { name: "second".into(), ..echo_tool() }, |_, _| async { Ok(CallToolResult::text("2")) });
    assert_eq!(rx.recv().await.unwrap().method, "notifications/tools/list_changed");
    let names: Vec<String> = c
        .list(ListKind::Tools, Context::detached())
        .await
        .unwrap()
        .iter()
        .map(|r| serde_json::from_str::<Tool>(r.get()).unwrap().name)
        .collect();
    assert_eq!(names, ["echo", "second"]);
    assert!(c.remove_tool("second"));
    assert!(!c.remove_tool("second"));
    assert_eq!(rx.recv().await.unwrap().method, "notifications/tools/list_changed");
}

#[tokio::test]
async fn resources_templates_prompts_and_completions() {
    let c = Catalog::builder()
        .resource(
            Resource { uri: "test://a".into(), name: "a".into(), description: None, mime_type: None },
            |uri, _| async move { Ok(vec![ResourceContents::text(uri, "text/plain", "A")]) },
        )
        .template(
            ResourceTemplate {
                uri_template: "test://t/{id}".into(),
                name: "t".into(),
                description: None,
                mime_type: None,
            },
            |uri, vars, _| async move { Ok(vec![ResourceContents::text(uri, "text/plain", vars["id"].clone())]) },
        )
        .prompt(Prompt { name: "p".into(), description: None, arguments: vec![] }, |_, _| async {
            Ok(GetPromptResult {
                description: None,
                messages: vec![herd_proto::model::PromptMessage::user(Content::text("x"))],
            })
        })
        .completion(CompletionRef::Prompt("p".into()), "arg", |v, _| Completion {
            values: vec![format!("{v}1")],
            ..Completion::default()
        })
        .build();
    let a = call(&c, "resources/read", json!({"uri":"test://a"})).await.unwrap();
    assert_eq!(a["contents"][0]["text"], "A");
    let t = call(&c, "resources/read", json!({"uri":"test://t/42"})).await.unwrap();
    assert_eq!(t["contents"][0]["text"], "42");
    let missing = call(&c, "resources/read", json!({"uri":"test://zzz"})).await.unwrap_err();
    assert_eq!(missing.code, code::RESOURCE_NOT_FOUND);
    let p = call(&c, "prompts/get", json!({"name":"p"})).await.unwrap();
    assert_eq!(p["messages"][0]["content"]["text"], "x");
    let done = call(
        &c,
        "completion/complete",
        json!({"ref":{"type":"ref/prompt","name":"p"},"argument":{"name":"arg","value":"v"}}),
    )
    .await
    .unwrap();
    assert_eq!(done["completion"]["values"], json!(["v1"]));
    assert!(c.capabilities().contains_key("completions"));
}
