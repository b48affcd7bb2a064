//! Stateless requests on stdio, beside a session that never initializes.

#![allow(clippy::unwrap_used)]

use super::{StdioConfig, serve_io};
use crate::testing::tool;
use herd_proto::model::CallToolResult;
use herd_router::{Router, RouterConfig};
use herd_tools::Catalog;
use serde_json::Value;
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream};
use tokio::sync::oneshot;

const META: &str = r#""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}"#;

/// A catalog whose `hang` tool never ends; `dropped` fires when it is stopped.
fn router(dropped: oneshot::Sender<()>) -> Router {
    struct Fire(Option<oneshot::Sender<()>>);
    impl Drop for Fire {
        fn drop(&mut self) {
            if let Some(tx) = self.0.take() {
                let _ = tx.send(());
            }
        }
    }
    let dropped = Arc::new(parking_lot::Mutex::new(Some(dropped)));
    let mut b = Catalog::builder();
    b.tool(tool("hang"), move |_, _| {
        let fire = Fire(dropped.lock().take());
        async move {
            let _fire = fire;
            std::future::pending::<()>().await;
            Ok(CallToolResult::text("never"))
        }
    });
    Router::new(RouterConfig::default(), vec![Arc::new(b.build())])
}

async fn next(lines: &mut tokio::io::Lines<BufReader<DuplexStream>>) -> Value {
    serde_json::from_str(&lines.next_line().await.unwrap().unwrap()).unwrap()
}

#[tokio::test]
async fn stateless_requests_are_answered_and_cancelled_without_initialize() {
    let (dropped, was_dropped) = oneshot::channel();
    let (mut client, server_in) = tokio::io::duplex(1 << 16);
    let (server_out, client_out) = tokio::io::duplex(1 << 16);
    let server = tokio::spawn(serve_io(router(dropped), StdioConfig::default(), server_in, server_out));
    let mut lines = BufReader::new(client_out).lines();

    let hang = format!(r#"{{"jsonrpc":"2.0","id":"h","method":"tools/call","params":{{"name":"hang",{META}}}}}"#);
    let discover = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"server/discover","params":{{{META}}}}}"#);
    client.write_all(format!("{hang}\n{discover}\n").as_bytes()).await.unwrap();
    let answer = next(&mut lines).await;
    assert_eq!(answer["id"], 1);
    assert_eq!(answer["result"]["resultType"], "complete");

    let cancel = r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"h"}}"#;
    client.write_all(format!("{cancel}\n").as_bytes()).await.unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(10), was_dropped).await.unwrap().unwrap();

    let old = r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#;
    client.write_all(format!("{old}\n").as_bytes()).await.unwrap();
    let answer = next(&mut lines).await;
    assert_eq!(answer["id"], 2);
    assert!(answer["error"]["message"].as_str().unwrap().contains("initialize"), "{answer}");

    drop(client);
    server.await.unwrap().unwrap();
}

/// A router over a catalog whose `echo` answers at once and whose `chatty`
/// sends `n` progress notifications before answering.
fn chatty_router(config: RouterConfig) -> Router {
    let mut b = Catalog::builder();
    b.tool(tool("echo"), |_, _| async { Ok(CallToolResult::text("echoed")) });
    b.tool(tool("chatty"), |args, cx| async move {
        let n = args["n"].as_u64().unwrap_or(0);
        for i in 0..n {
            cx.progress(i as f64, None, None);
        }
        Ok(CallToolResult::text("talked"))
    });
    Router::new(config, vec![Arc::new(b.build())])
}

/// The next line, or a failure naming what was awaited if none comes.
async fn next_within(lines: &mut tokio::io::Lines<BufReader<DuplexStream>>, what: &str) -> Value {
    match tokio::time::timeout(std::time::Duration::from_secs(10), lines.next_line()).await {
        Ok(line) => serde_json::from_str(&line.unwrap().expect("stdout open")).unwrap(),
        Err(_) => panic!("no answer to {what}"),
    }
}

const INIT: &str =
    r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{}}}"#;

#[tokio::test]
async fn a_quiet_session_still_answers_after_the_idle_timeout() {
    let config = RouterConfig { session_idle_timeout: std::time::Duration::from_millis(20), ..RouterConfig::default() };
    let router = chatty_router(config);
    let (mut client, server_in) = tokio::io::duplex(1 << 16);
    let (server_out, client_out) = tokio::io::duplex(1 << 16);
    let server = tokio::spawn(serve_io(router.clone(), StdioConfig::default(), server_in, server_out));
    let mut lines = BufReader::new(client_out).lines();
    client.write_all(format!("{INIT}\n").as_bytes()).await.unwrap();
    assert_eq!(next_within(&mut lines, "initialize").await["id"], 0);

    // An idle-expiring session opened after the stdio one went quiet: once
    // the reaper has ended it, it has judged the stdio session too.
    let witness = router.create_session().unwrap();
    witness.closed().await;

    let call = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"}}"#;
    client.write_all(format!("{call}\n").as_bytes()).await.unwrap();
    let answer = next_within(&mut lines, "tools/call after the idle timeout").await;
    assert_eq!(answer["result"]["content"][0]["text"], "echoed", "{answer}");
    drop(client);
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_client_not_reading_stdout_costs_a_bounded_queue_and_still_gets_its_answer() {
    let router = chatty_router(RouterConfig::default());
    let config = StdioConfig { max_queued_messages: 4, ..StdioConfig::default() };
    let (mut client, server_in) = tokio::io::duplex(1 << 16);
    // A pipe that holds less than one message: the writer stalls at once.
    let (server_out, client_out) = tokio::io::duplex(64);
    let server = tokio::spawn(serve_io(router, config, server_in, server_out));
    let mut lines = BufReader::new(client_out).lines();
    client.write_all(format!("{INIT}\n").as_bytes()).await.unwrap();
    assert_eq!(next_within(&mut lines, "initialize").await["id"], 0);

    let call = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"chatty","arguments":{"n":500},"_meta":{"progressToken":"p"}}}"#;
    client.write_all(format!("{call}\n").as_bytes()).await.unwrap();
    let mut progress = 0;
    let answer = loop {
        let message = next_within(&mut lines, "the chatty call").await;
        if message["method"] == "notifications/progress" {
            progress += 1;
        } else {
            break message;
        }
    };
    assert_eq!(answer["result"]["content"][0]["text"], "talked", "{answer}");
    assert!(progress > 0 && progress < 500, "{progress} of 500 notifications queued behind a stalled pipe");
    drop(client);
    server.await.unwrap().unwrap();
}

/// A stdio connection initialized at `version`: the client's end and the
/// server's lines.
async fn connected(version: &str) -> (DuplexStream, tokio::io::Lines<BufReader<DuplexStream>>) {
    let (mut client, server_in) = tokio::io::duplex(1 << 16);
    let (server_out, client_out) = tokio::io::duplex(1 << 16);
    tokio::spawn(serve_io(chatty_router(RouterConfig::default()), StdioConfig::default(), server_in, server_out));
    let mut lines = BufReader::new(client_out).lines();
    let init = INIT.replace("2025-11-25", version);
    client.write_all(format!("{init}\n").as_bytes()).await.unwrap();
    assert_eq!(next_within(&mut lines, "initialize").await["result"]["protocolVersion"], version);
    (client, lines)
}

#[tokio::test]
async fn a_batch_line_gets_one_array_line_back_on_a_2025_03_26_session() {
    let (mut client, mut lines) = connected("2025-03-26").await;
    let call = |id: &str| format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"echo"}}}}"#);
    let batch = format!(
        r#"[{},{},{{"jsonrpc":"2.0","method":"notifications/initialized"}},7,{INIT},{{"jsonrpc":"2.0","id":3,"method":"ping"}}]"#,
        call("1"),
        call(r#""b""#)
    );
    client.write_all(format!("{batch}\n").as_bytes()).await.unwrap();
    let answers = next_within(&mut lines, "the batch").await;
    let answers: std::collections::HashMap<String, Value> =
        answers.as_array().unwrap().iter().map(|a| (a["id"].to_string(), a.clone())).collect();
    assert_eq!(answers.len(), 5, "{answers:?}");
    assert_eq!(answers["1"]["result"]["content"][0]["text"], "echoed");
    assert_eq!(answers[r#""b""#]["result"]["content"][0]["text"], "echoed");
    assert_eq!(answers["3"]["result"], serde_json::json!({}));
    assert_eq!(answers["null"]["error"]["code"], herd_proto::code::INVALID_REQUEST);
    assert_eq!(answers["0"]["error"]["code"], herd_proto::code::INVALID_REQUEST);

    // Only notifications: nothing to answer, and the next line is served.
    client.write_all(b"[{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}]\n").await.unwrap();
    client.write_all(format!("{}\n", call("4")).as_bytes()).await.unwrap();
    assert_eq!(next_within(&mut lines, "the call after the batch").await["id"], 4);

    let pings: Vec<String> =
        (0..=crate::MAX_BATCH_MESSAGES).map(|i| format!(r#"{{"jsonrpc":"2.0","id":{i},"method":"ping"}}"#)).collect();
    client.write_all(format!("[{}]\n", pings.join(",")).as_bytes()).await.unwrap();
    let refused = next_within(&mut lines, "the oversize batch").await;
    assert_eq!(refused["error"]["code"], herd_proto::code::INVALID_REQUEST, "{refused}");
    assert_eq!(refused["id"], Value::Null);
}

#[tokio::test]
async fn a_batch_line_is_refused_on_later_revisions() {
    let (mut client, mut lines) = connected("2025-06-18").await;
    client.write_all(b"[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]\n").await.unwrap();
    let refused = next_within(&mut lines, "the batch").await;
    assert_eq!(refused["error"]["code"], herd_proto::code::INVALID_REQUEST, "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains("batch"), "{refused}");
}
