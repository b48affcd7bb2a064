//! The fixed-content tools and the JSON Schema 2020-12 tool definition.

use super::*;
use crate::conformance::content::{DRAFT_2020_12, EMBEDDED_URI, ERROR_TEXT, SIMPLE_TEXT, json_schema_2020_12};
use crate::conformance::media::WAV_MIME;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

#[tokio::test]
async fn json_schema_2020_12_tool_keeps_its_keywords() {
    let tools = list(&catalog(), ListKind::Tools).await;
    let t = tools.iter().find(|t| t["name"] == "json_schema_2020_12_tool").unwrap();
    let schema = &t["inputSchema"];
    assert_eq!(schema, &json_schema_2020_12());
    assert_eq!(schema["$schema"], DRAFT_2020_12);
    assert_eq!(schema["$defs"]["address"]["properties"]["city"]["type"], "string");
    assert_eq!(schema["properties"]["address"]["$ref"], "#/$defs/address");
    assert_eq!(schema["additionalProperties"], false);
    // SEP-2106 (checked by the 0.2 suite on 2026-07-28).
    assert_eq!(schema["$defs"]["address"]["$anchor"], "addressDef");
    assert_eq!(schema["allOf"][0]["anyOf"], json!([{ "required": ["phone"] }, { "required": ["email"] }]));
    assert_eq!(schema["if"]["properties"]["contactMethod"]["const"], "phone");
    assert_eq!(schema["then"]["required"], json!(["phone"]));
    assert_eq!(schema["else"]["required"], json!(["email"]));
    assert_eq!(schema["properties"]["contactMethod"]["enum"], json!(["phone", "email"]));
    let peer = TestPeer::new();
    let out = call_tool(
        &catalog(),
        context(&peer, None),
        "json_schema_2020_12_tool",
        json!({"name": "x", "email": "x@example.com"}),
    )
    .await;
    assert!(text(&out).contains(r#""email":"x@example.com""#), "{out}");
    assert!(text(&out).contains(r#""name":"x""#), "{out}");
}

#[tokio::test]
async fn content_tools_return_the_expected_blocks() {
    let c = catalog();
    let peer = TestPeer::new();
    let cx = || context(&peer, None);

    let simple = send(&c, cx(), "tools/call", json!({ "name": "test_simple_text" })).await.unwrap();
    assert_eq!(simple, json!({ "content": [{ "type": "text", "text": SIMPLE_TEXT }] }));

    let image = call_tool(&c, cx(), "test_image_content", json!({})).await;
    assert_eq!(image["content"][0]["type"], "image");
    assert_eq!(image["content"][0]["mimeType"], "image/png");
    let png = STANDARD.decode(image["content"][0]["data"].as_str().unwrap()).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&png[12..16], b"IHDR");
    assert_eq!(&png[16..24], &[0, 0, 0, 1, 0, 0, 0, 1], "1x1");
    assert_eq!(&png[png.len() - 8..png.len() - 4], b"IEND");

    let audio = call_tool(&c, cx(), "test_audio_content", json!({})).await;
    assert_eq!(audio["content"][0]["type"], "audio");
    assert_eq!(audio["content"][0]["mimeType"], WAV_MIME);
    let wav = STANDARD.decode(audio["content"][0]["data"].as_str().unwrap()).unwrap();
    let u32_at = |i: usize| u32::from_le_bytes(wav[i..i + 4].try_into().unwrap());
    assert_eq!(&wav[..4], b"RIFF");
    assert_eq!(&wav[8..16], b"WAVEfmt ");
    assert_eq!(u32_at(4) as usize, wav.len() - 8, "RIFF size");
    assert_eq!(&wav[36..40], b"data");
    assert_eq!(u32_at(40) as usize, wav.len() - 44, "data size");
    assert!(wav.len() > 44, "has samples");

    let embedded = call_tool(&c, cx(), "test_embedded_resource", json!({})).await;
    assert_eq!(
        embedded["content"][0],
        json!({ "type": "resource", "resource": {
            "uri": EMBEDDED_URI, "mimeType": "text/plain", "text": "This is an embedded resource content." } })
    );

    let mixed = call_tool(&c, cx(), "test_multiple_content_types", json!({})).await;
    let types: Vec<&str> = mixed["content"].as_array().unwrap().iter().map(|b| b["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["text", "image", "resource"]);
    let resource_text = mixed["content"][2]["resource"]["text"].as_str().unwrap();
    assert_eq!(serde_json::from_str::<Value>(resource_text).unwrap(), json!({"test": "data", "value": 123}));

    let error = call_tool(&c, cx(), "test_error_handling", json!({})).await;
    assert_eq!(error, json!({ "content": [{ "type": "text", "text": ERROR_TEXT }], "isError": true }));
    assert!(peer.notifications.lock().is_empty());
}
