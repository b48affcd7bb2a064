//! Tests of the management tools' argument checks: durations that cannot
//! be durations are refused before anything is loaded.

#![allow(clippy::unwrap_used)]

use crate::{Runner, RunnerConfig};
use herd_proto::{Backend, Context, Request, RequestId};
use serde_json::{Value, json};

async fn call(runner: &Runner, tool: &str, args: Value) -> Value {
    let params = serde_json::value::to_raw_value(&json!({"name": tool, "arguments": args})).unwrap();
    let request = Request::new(RequestId::number(1), "tools/call", Some(params));
    let raw = super::catalog(runner.clone()).call(request, Context::detached()).await.unwrap();
    serde_json::from_str(raw.get()).unwrap()
}

fn error_text(result: &Value) -> String {
    assert_eq!(result["isError"], true, "{result}");
    result["content"][0]["text"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_wait_that_is_no_duration_is_refused_before_loading() {
    let dir = tempfile::tempdir().unwrap();
    let runner = Runner::new(RunnerConfig::new(dir.path()));
    for wait in [json!(1e300), json!(-1), json!(3601), json!("soon")] {
        let r = call(&runner, "servers_load", json!({"name": "w", "command": "true", "wait": wait})).await;
        let text = error_text(&r);
        assert!(text.contains("wait must be"), "{wait}: {text}");
        assert!(runner.list().is_empty(), "{wait}: a server was loaded");
    }
}

#[tokio::test]
async fn a_call_timeout_that_is_no_duration_is_refused_before_loading() {
    let dir = tempfile::tempdir().unwrap();
    let runner = Runner::new(RunnerConfig::new(dir.path()));
    for timeout in [1e300, -1.0, 0.0] {
        let args = json!({"name": "t", "command": "true", "call_timeout": timeout, "wait": 5});
        let text = error_text(&call(&runner, "servers_load", args).await);
        assert!(text.contains("call_timeout must be") && text.contains("86400"), "{timeout}: {text}");
        assert!(runner.list().is_empty(), "{timeout}: a server was loaded");
    }
}
