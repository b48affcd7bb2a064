#![allow(clippy::unwrap_used)]

use super::*;
use crate::{Claims, Router, RouterConfig, StatelessAnswer, Verdict};
use herd_proto::model::{CallToolResult, Tool};
use herd_proto::{Message, method};
use herd_tools::Catalog;
use serde_json::json;

fn schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "region": { "type": "string", "x-mcp-header": "Region" },
            "priority": { "type": "integer", "x-mcp-header": "Priority" },
            "options": { "type": "object", "properties": { "dry": { "type": "boolean", "x-mcp-header": "Dry" } } },
            "score": { "type": "number", "x-mcp-header": "Score" },
            "list": { "type": "array", "items": { "type": "string", "x-mcp-header": "Item" } },
            "query": { "type": "string" },
        },
        "required": ["region", "query"],
    })
}

fn router() -> Router {
    let sql = Tool {
        name: "sql".into(),
        title: None,
        description: "runs a query".into(),
        input_schema: schema(),
        output_schema: None,
        annotations: None,
    };
    let mut b = Catalog::builder();
    b.tool(sql, |_, _| async { Ok(CallToolResult::text("ran")) });
    b.tool(crate::tests::tool("plain"), |_, _| async { Ok(CallToolResult::text("plain")) });
    Router::new(RouterConfig::default(), vec![Arc::new(b.build())])
}

fn call(name: &str, arguments: Value) -> Request {
    let meta = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
    });
    let body =
        json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":name,"arguments":arguments,"_meta":meta}});
    match Message::parse(body.to_string().as_bytes()).unwrap() {
        Message::Request(r) => r,
        other => panic!("{other:?}"),
    }
}

fn headers(pairs: &[(&str, &str)]) -> Vec<(String, Option<String>)> {
    pairs.iter().map(|(n, v)| (n.to_ascii_lowercase(), Some((*v).to_owned()))).collect()
}

/// Sends a call with `Mcp-Name` `name` and these `Mcp-Param-*` headers.
async fn send(router: &Router, name: &str, arguments: Value, params: &ParamClaims) -> (Value, Verdict) {
    let claims = Claims { method: Some("tools/call"), name: Some(name), params, required: true, ..Claims::default() };
    let tool = decode(name).map_or_else(|_| "sql".to_owned(), Cow::into_owned);
    let StatelessAnswer { body, verdict } =
        router.handle_stateless(call(&tool, arguments), claims, None).await.unwrap();
    (serde_json::from_str(&body).unwrap(), verdict)
}

async fn refused(router: &Router, arguments: Value, params: &ParamClaims) -> String {
    let (answer, verdict) = send(router, "sql", arguments, params).await;
    assert_eq!((verdict, answer["error"]["code"].as_i64()), (Verdict::Refused, Some(-32020)), "{answer}");
    answer["error"]["message"].as_str().unwrap().to_owned()
}

async fn accepted(router: &Router, arguments: Value, params: &ParamClaims) {
    let (answer, verdict) = send(router, "sql", arguments, params).await;
    assert_eq!(verdict, Verdict::Answered, "{answer}");
    assert_eq!(answer["result"]["content"][0]["text"], "ran", "{answer}");
}

#[test]
fn values_decode_only_when_wrapped_and_strictly() {
    assert_eq!(decode("us-west1").unwrap(), "us-west1");
    assert_eq!(decode("=?base64?SGVsbG8=?=").unwrap(), "Hello");
    assert_eq!(decode("=?base64?SGVsbG8sIOS4lueVjA==?=").unwrap(), "Hello, 世界");
    assert!(decode("=?base64?SGVsbG8?=").is_err(), "padding is required");
    assert!(decode("=?base64?SGVs!!!bG8=?=").is_err());
    assert!(decode("=?base64?/w==?=").is_err(), "not UTF-8");
    assert_eq!(decode("=?base64?SGVsbG8=").unwrap(), "=?base64?SGVsbG8=");
    assert_eq!(decode("SGVsbG8=?=").unwrap(), "SGVsbG8=?=");
}

#[test]
fn only_primitive_properties_reached_through_properties_are_designated() {
    let found: Vec<(String, String)> =
        designated(&schema()).into_iter().map(|m| (m.path.join("."), m.header)).collect();
    let expected = [("options.dry", "Dry"), ("priority", "Priority"), ("region", "Region")];
    let expected: Vec<(String, String)> = expected.iter().map(|(p, h)| ((*p).into(), (*h).into())).collect();
    assert_eq!(found, expected);
}

#[tokio::test]
async fn headers_that_match_the_arguments_are_accepted() {
    let router = router();
    let args = json!({"region": "us-west1", "priority": 42, "options": {"dry": true}, "query": "q"});
    let all = headers(&[("region", "us-west1"), ("priority", "42.0"), ("dry", "true"), ("unknown", "x")]);
    accepted(&router, args.clone(), &all).await;
    let encoded = headers(&[("region", "=?base64?dXMtd2VzdDE=?="), ("priority", "42"), ("dry", "true")]);
    accepted(&router, args, &encoded).await;
    // Arguments absent or null need no header.
    accepted(&router, json!({"region": "eu", "priority": null, "query": "q"}), &headers(&[("region", "eu")])).await;
    // A tool that designates nothing takes any Mcp-Param-* header.
    let (answer, verdict) = send(&router, "plain", json!({"a": 1}), &headers(&[("region", "x")])).await;
    assert_eq!(verdict, Verdict::Answered, "{answer}");
    // Mcp-Name may be encoded too.
    let (answer, verdict) = send(&router, "=?base64?c3Fs?=", json!({"query": "q"}), &[]).await;
    assert_eq!(verdict, Verdict::Answered, "{answer}");
}

#[tokio::test]
async fn headers_that_disagree_or_are_missing_are_refused() {
    let router = router();
    let args = json!({"region": "us-west1", "priority": 7, "query": "q"});
    let why = refused(&router, args.clone(), &headers(&[("region", "us-west1")])).await;
    assert!(why.contains("Mcp-Param-Priority") && why.contains("required"), "{why}");
    let why = refused(&router, args.clone(), &headers(&[("region", "us-east1"), ("priority", "7")])).await;
    assert!(why.contains("Mcp-Param-Region") && why.contains("disagrees"), "{why}");
    refused(&router, args.clone(), &headers(&[("region", "us-west1"), ("priority", "8")])).await;
    refused(&router, args.clone(), &headers(&[("region", "=?base64?dXMtd2VzdDE?="), ("priority", "7")])).await;
    let twice = headers(&[("region", "us-west1"), ("region", "us-west1"), ("priority", "7")]);
    assert!(refused(&router, args.clone(), &twice).await.contains("more than once"));
    let unreadable = vec![("region".to_owned(), None), ("priority".to_owned(), Some("7".to_owned()))];
    assert!(refused(&router, args.clone(), &unreadable).await.contains("characters"));
    let dry = json!({"region": "r", "options": {"dry": false}, "query": "q"});
    refused(&router, dry, &headers(&[("region", "r"), ("dry", "true")])).await;
    // A header for an argument the body does not set.
    refused(&router, json!({"region": "r", "query": "q"}), &headers(&[("region", "r"), ("priority", "1")])).await;
    // An Mcp-Name that is not valid Base64.
    let (answer, verdict) = send(&router, "=?base64?c3F?=", json!({"query": "q"}), &[]).await;
    assert_eq!((verdict, answer["error"]["code"].as_i64()), (Verdict::Refused, Some(-32020)), "{answer}");
    // Without `required` (stdio), nothing is checked.
    let claims = Claims { method: Some(method::TOOLS_CALL), name: Some("sql"), ..Claims::default() };
    let answer = router.handle_stateless(call("sql", args), claims, None).await.unwrap();
    assert_eq!(answer.verdict, Verdict::Answered, "{}", answer.body);
}

/// Lists its tools only to herd's own background work, as a policy that
/// hides them from every caller would.
struct Hidden(Catalog);

impl herd_proto::Backend for Hidden {
    fn capabilities(&self) -> Map<String, Value> {
        self.0.capabilities()
    }

    fn list(
        &self,
        kind: herd_proto::ListKind,
        cx: Context,
    ) -> futures_util::future::BoxFuture<'static, Result<Vec<Box<serde_json::value::RawValue>>, RpcError>> {
        let hidden = cx.meta().principal.is_some();
        let all = self.0.list(kind, cx);
        Box::pin(async move { if hidden { Ok(Vec::new()) } else { all.await } })
    }

    fn call(
        &self,
        req: Request,
        cx: Context,
    ) -> futures_util::future::BoxFuture<'static, Result<Box<serde_json::value::RawValue>, RpcError>> {
        self.0.call(req, cx)
    }
}

#[tokio::test]
async fn a_tool_the_caller_cannot_see_is_not_judged_by_its_headers() {
    let sql = Tool { input_schema: schema(), ..crate::tests::tool("sql") };
    let mut b = Catalog::builder();
    b.tool(sql, |_, _| async { Ok(CallToolResult::text("ran")) });
    let router = Router::new(RouterConfig::default(), vec![Arc::new(Hidden(b.build()))]);
    let args = json!({"region": "r", "query": "q"});
    let principal = Principal::anonymous_admin();
    let claims = |principal| Claims {
        method: Some("tools/call"),
        name: Some("sql"),
        required: true,
        principal,
        ..Claims::default()
    };
    let answer = router.handle_stateless(call("sql", args.clone()), claims(None), None).await.unwrap();
    assert_eq!(answer.verdict, Verdict::Refused, "herd's own view sees the tool: {}", answer.body);
    let answer = router.handle_stateless(call("sql", args), claims(Some(&principal)), None).await.unwrap();
    assert!(!answer.body.contains("Mcp-Param"), "the refusal would name a hidden tool's header: {}", answer.body);
}
