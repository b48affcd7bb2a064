//! Stateless requests on stdio, beside a session that never initializes.

#![allow(clippy::unwrap_used)]

use super::{StdioConfig, serve_io};
use herd_proto::model::{CallToolResult, Tool};
use herd_router::{Router, RouterConfig};
use herd_tools::Catalog;
use serde_json::{Value, json};
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
    let tool = Tool {
        name: "hang".into(),
        title: None,
        description: "never ends".into(),
        input_schema: json!({"type":"object"}),
        output_schema: None,
        annotations: None,
    };
    let mut b = Catalog::builder();
    b.tool(tool, move |_, _| {
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
