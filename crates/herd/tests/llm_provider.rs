//! The scripted provider the LLM relay is tested against speaks what the
//! official `openai` clients (Python and npm) parse: every endpoint and
//! mode they use, streamed and whole, tool-call deltas and the usage chunk
//! included. A relay test that passes against it is not passing against a
//! shape no real client would accept.

#![allow(clippy::unwrap_used)]

mod support;

use herd_test_provider::{Script, ScriptedProvider};
use serde_json::Value;
use std::time::Duration;
use support::{Deps, repo_root, run_bounded};
use tokio::process::Command;

const LIMIT: Duration = Duration::from_secs(60);

/// The JSON lines `openai_client.py MODE` printed against `provider`.
async fn python(deps: &Deps, provider: &ScriptedProvider, mode: &str) -> Vec<Value> {
    let mut cmd = Command::new(deps.python_openai());
    cmd.arg(repo_root().join("crates/herd/tests/fixtures/openai_client.py"))
        .args([mode, &provider.base_url(), "scripted"])
        .env("HERD_TEST_TOKEN", "sk-test");
    let run = run_bounded(cmd, LIMIT).await;
    assert!(run.status.success(), "{mode}: {}\n{}", run.stdout, run.stderr);
    run.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_official_python_client_parses_every_answer() {
    let deps = Deps::load();
    let script = Script::default().with_token_count(4);
    let text = script.text();
    let provider = ScriptedProvider::start(script.clone()).await.unwrap();
    assert_eq!(python(&deps, &provider, "models").await[0]["models"][0], "scripted");
    let chat = &python(&deps, &provider, "chat").await[0];
    assert_eq!((&chat["content"], &chat["finish_reason"]), (&Value::from(text.clone()), &Value::from("stop")));
    assert_eq!(chat["usage"]["completion_tokens"], 4);
    let stream = python(&deps, &provider, "stream").await;
    assert_eq!(stream.len(), 5, "one line per token, then the summary: {stream:?}");
    assert_eq!((&stream[4]["content"], &stream[4]["usage"]), (&Value::from(text.clone()), &Value::Null));
    let with_usage = python(&deps, &provider, "stream-usage").await;
    assert_eq!(
        with_usage.last().unwrap()["usage"]["total_tokens"],
        with_usage.last().unwrap()["usage"]["prompt_tokens"].as_u64().unwrap() + 4
    );
    let completion = &python(&deps, &provider, "completion").await[0];
    assert_eq!(completion["text"], text);
    let streamed = python(&deps, &provider, "completion-stream").await;
    assert_eq!(streamed.last().unwrap()["text"], text);
    let embedding = &python(&deps, &provider, "embedding").await[0];
    assert_eq!((&embedding["count"], &embedding["dims"]), (&Value::from(2), &Value::from(8)));

    provider.set_script(Script { tool_call: true, ..script });
    let tools = &python(&deps, &provider, "tools").await[0];
    assert_eq!(tools["finish_reason"], "tool_calls");
    let call = &tools["tool_calls"][0];
    assert_eq!((&call["id"], &call["name"]), (&Value::from("call_0"), &Value::from("echo")));
    let arguments: Value = serde_json::from_str(call["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(arguments["text"], text);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_official_npm_client_parses_a_stream_with_usage_and_the_model_list() {
    let deps = Deps::load();
    let provider = ScriptedProvider::start(Script::default().with_token_count(3)).await.unwrap();
    let mut cmd = Command::new(&deps.node22);
    cmd.arg(repo_root().join("crates/herd/tests/fixtures/openai_client.mjs"))
        .arg(&deps.openai_js_dir)
        .args([&provider.base_url(), "scripted"])
        .env("HERD_TEST_TOKEN", "sk-test");
    let run = run_bounded(cmd, LIMIT).await;
    assert!(run.status.success(), "{}\n{}", run.stdout, run.stderr);
    let lines: Vec<Value> = run.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let done = lines.last().unwrap();
    assert_eq!((lines.len(), &done["content"]), (4, &Value::from("t0 t1 t2")));
    assert_eq!((&done["usage"]["completion_tokens"], &done["models"][0]), (&Value::from(3), &Value::from("scripted")));
}
