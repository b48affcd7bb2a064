//! Resources, the resource template, prompts and the `arg1` completion.

use super::*;
use crate::conformance::media::PNG_BASE64;
use crate::conformance::resources::STATIC_TEXT;
use herd_proto::code;

#[tokio::test]
async fn resources_and_template_read_and_subscribe() {
    let c = catalog();
    let read = |uri: &str| send(&c, Context::detached(), "resources/read", json!({ "uri": uri }));
    let text = read(STATIC_TEXT_URI).await.unwrap();
    assert_eq!(text["contents"][0], json!({ "uri": STATIC_TEXT_URI, "mimeType": "text/plain", "text": STATIC_TEXT }));
    let binary = read(STATIC_BINARY_URI).await.unwrap();
    assert_eq!(binary["contents"][0], json!({ "uri": STATIC_BINARY_URI, "mimeType": "image/png", "blob": PNG_BASE64 }));
    let watched = read(WATCHED_URI).await.unwrap();
    assert_eq!(watched["contents"][0]["text"], "Watched resource content");
    let templated = read("test://template/123/data").await.unwrap();
    let item = &templated["contents"][0];
    assert_eq!(item["uri"], "test://template/123/data");
    assert_eq!(item["mimeType"], "application/json");
    let data: Value = serde_json::from_str(item["text"].as_str().unwrap()).unwrap();
    assert_eq!(data, json!({ "id": "123", "templateTest": true, "data": "Data for ID: 123" }));
    assert_eq!(read("test://nothing").await.unwrap_err().code, code::RESOURCE_NOT_FOUND);

    for method in ["resources/subscribe", "resources/unsubscribe"] {
        let out = send(&c, Context::detached(), method, json!({ "uri": WATCHED_URI })).await.unwrap();
        assert_eq!(out, json!({}));
    }
}

#[tokio::test]
async fn prompts_render_their_messages() {
    let c = catalog();
    let get = |name: &str, args: Value| {
        send(&c, Context::detached(), "prompts/get", json!({ "name": name, "arguments": args }))
    };
    let simple = send(&c, Context::detached(), "prompts/get", json!({ "name": "test_simple_prompt" })).await.unwrap();
    assert_eq!(
        simple["messages"],
        json!([{ "role": "user", "content": { "type": "text", "text": "This is a simple prompt for testing." } }])
    );
    let args = get("test_prompt_with_arguments", json!({ "arg1": "hello", "arg2": "world" })).await.unwrap();
    assert_eq!(args["messages"][0]["content"]["text"], "Prompt with arguments: arg1='hello', arg2='world'");
    let missing = get("test_prompt_with_arguments", json!({ "arg1": "hello" })).await.unwrap_err();
    assert_eq!(missing.code, code::INVALID_PARAMS);
    let embedded =
        get("test_prompt_with_embedded_resource", json!({ "resourceUri": "test://example-resource" })).await.unwrap();
    assert_eq!(embedded["messages"][0]["content"]["type"], "resource");
    assert_eq!(embedded["messages"][0]["content"]["resource"]["uri"], "test://example-resource");
    assert_eq!(embedded["messages"][1]["content"]["text"], "Please process the embedded resource above.");
    let image = get("test_prompt_with_image", json!({})).await.unwrap();
    assert_eq!(
        image["messages"][0]["content"],
        json!({ "type": "image", "data": PNG_BASE64, "mimeType": "image/png" })
    );
    assert_eq!(image["messages"][1]["content"]["text"], "Please analyze the image above.");
}

#[tokio::test]
async fn completion_suggests_arg1_values_by_prefix() {
    let c = catalog();
    let complete = |value: &str| {
        send(
            &c,
            Context::detached(),
            "completion/complete",
            json!({ "ref": { "type": "ref/prompt", "name": "test_prompt_with_arguments" },
                    "argument": { "name": "arg1", "value": value } }),
        )
    };
    let par = complete("par").await.unwrap();
    assert_eq!(par["completion"], json!({ "values": ["paris", "park", "party"], "total": 3, "hasMore": false }));
    let test = complete("test").await.unwrap();
    assert_eq!(test["completion"]["values"], json!(["test", "testing"]));
    let none = complete("zzz").await.unwrap();
    assert_eq!(none["completion"]["values"], json!([]));
}
