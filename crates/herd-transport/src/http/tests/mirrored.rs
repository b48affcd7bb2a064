//! `Mcp-Param-*` headers of stateless calls, read from the request as sent.

use super::support::Client;
use herd_proto::model::{CallToolResult, Tool};
use http::{Method, StatusCode};
use serde_json::{Value, json};

/// A client whose server lists `route`, which mirrors `region` into
/// `Mcp-Param-Region`.
fn client() -> Client {
    let c = Client::new();
    let route = Tool {
        input_schema: json!({"type":"object","properties":{"region":{"type":"string","x-mcp-header":"Region"}}}),
        ..super::support::tool("route")
    };
    c.catalog.add_tool(route, |args, _| async move {
        Ok(CallToolResult::text(args.get("region").and_then(Value::as_str).unwrap_or_default()))
    });
    c
}

async fn call(c: &Client, region: &str, params: &[(&str, &[u8])]) -> (StatusCode, Value) {
    let body = json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"route","arguments":{"region":region},
        "_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}});
    let mut headers: Vec<(&str, &[u8])> =
        vec![("mcp-protocol-version", b"2026-07-28"), ("mcp-method", b"tools/call"), ("mcp-name", b"route")];
    headers.extend_from_slice(params);
    let resp = c.request_bytes(Method::POST, &headers, &body.to_string()).await;
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test]
async fn a_mirrored_argument_is_checked_against_its_header_whatever_its_case_and_padding() {
    let c = client();
    let (status, answer) = call(&c, "eu-west", &[("MCP-PARAM-REGION", b"  eu-west  ")]).await;
    assert_eq!(
        (status, answer["result"]["content"][0]["text"].as_str()),
        (StatusCode::OK, Some("eu-west")),
        "{answer}"
    );
    let (status, answer) = call(&c, "é", &[("mcp-param-region", b"=?base64?w6k=?=")]).await;
    assert_eq!(status, StatusCode::OK, "{answer}");

    for (region, params) in [
        ("eu-west", &[][..]),
        ("eu-west", &[("mcp-param-region", &b"us-east"[..])][..]),
        ("eu-west", &[("mcp-param-region", &b"eu-west"[..]), ("mcp-param-region", &b"eu-west"[..])][..]),
        ("\u{e9}", &[("mcp-param-region", &b"\xc3\xa9"[..])][..]),
    ] {
        let (status, answer) = call(&c, region, params).await;
        assert_eq!((status, answer["error"]["code"].as_i64()), (StatusCode::BAD_REQUEST, Some(-32020)), "{answer}");
    }
}
