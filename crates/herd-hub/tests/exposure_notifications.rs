//! What an exposed agent says on its own reaches the hub's clients: a real
//! herd HTTP server as the agent (herd's conformance catalog, whose list and
//! resource changes go out through its `Notifier`), a hub in front of it,
//! and a client session on the hub. The hub listens on the agent session's
//! GET stream, and again on the new session after a reload replaced it.

#![allow(clippy::unwrap_used)]

use axum::extract::Request as HttpRequest;
use axum::middleware::{self, Next};
use axum::response::Response as HttpResponse;
use herd_fleet::Registry;
use herd_hub::{CallConfig, Hub};
use herd_proto::{Message, Request, method};
use herd_router::{Closed, Outbox, Router, RouterConfig, Session};
use herd_tools::Catalog;
use herd_transport::http::{HttpConfig, app, serve};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::{CancellationToken, DropGuard};

const WAIT: Duration = Duration::from_secs(10);

/// Serves `catalog` as an agent; the receiver gets one `()` per GET stream
/// the agent opened (once the session's stream is in place).
async fn agent(catalog: Catalog) -> (String, mpsc::UnboundedReceiver<()>, DropGuard) {
    let router = Router::new(RouterConfig::default(), vec![Arc::new(catalog)]);
    let (opened, streams) = mpsc::unbounded_channel();
    let layer = middleware::from_fn(move |req: HttpRequest, next: Next| {
        let opened = opened.clone();
        async move {
            let is_get = req.method() == axum::http::Method::GET;
            let response: HttpResponse = next.run(req).await;
            if is_get && response.status().is_success() {
                let _ = opened.send(());
            }
            response
        }
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let stop = CancellationToken::new();
    let config = HttpConfig::default();
    let (app, token) = (app(router, config.clone()).layer(layer), stop.clone());
    tokio::spawn(async move { serve(listener, app, &config, token).await });
    (url, streams, stop.drop_guard())
}

struct Recorder(mpsc::UnboundedSender<String>);

impl Outbox for Recorder {
    fn send(&self, message: String) -> Result<(), Closed> {
        self.0.send(message).map_err(|_| Closed)
    }
}

fn request(text: &str) -> Request {
    match Message::parse(text.as_bytes()).unwrap() {
        Message::Request(r) => r,
        other => panic!("{other:?}"),
    }
}

async fn ask(session: &Arc<Session>, text: &str) -> Value {
    serde_json::from_str(&session.handle_request(request(text), None).await.unwrap()).unwrap()
}

/// An initialized client session on `router` whose standalone stream is
/// recorded.
async fn client(router: &Router) -> (Arc<Session>, mpsc::UnboundedReceiver<String>) {
    let session = router.create_session().unwrap();
    let init = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
    assert!(ask(&session, init).await["result"].is_object());
    let (tx, rx) = mpsc::unbounded_channel();
    session.set_standalone(Some(Arc::new(Recorder(tx))));
    (session, rx)
}

/// The next notification called `wanted` the client receives (others pass).
async fn told(seen: &mut mpsc::UnboundedReceiver<String>, wanted: &str) -> Value {
    let wait = async {
        loop {
            let note: Value = serde_json::from_str(&seen.recv().await.unwrap()).unwrap();
            if note["method"] == wanted {
                return note;
            }
        }
    };
    tokio::time::timeout(WAIT, wait).await.unwrap_or_else(|_| panic!("no {wanted} in time"))
}

async fn stream_opened(streams: &mut mpsc::UnboundedReceiver<()>) {
    tokio::time::timeout(WAIT, streams.recv()).await.expect("a GET stream in time").unwrap();
}

fn registry(url: &str, extra: &str) -> Registry {
    let text = format!(
        "[[hosts]]\nname = \"conf\"\nurl = \"{url}\"\n{extra}\
         expose = {{ tools = [\"test_simple_text\"], prefix = \"conf_\", resources = true }}\n"
    );
    Registry::parse(&text, "t").unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_agents_own_list_changes_and_resource_updates_reach_hub_clients() {
    let catalog = herd_tools::conformance::catalog();
    let (url, mut streams, _agent) = agent(catalog.clone()).await;
    let hub = Hub::new(registry(&url, ""), None, CallConfig::default());
    hub.probe_now().await;
    let router = Router::new(RouterConfig::default(), hub.backends());
    let (session, mut seen) = client(&router).await;
    let subscribe = r#"{"jsonrpc":"2.0","id":1,"method":"resources/subscribe","params":{"uri":"test://static-text"}}"#;
    assert!(ask(&session, subscribe).await["result"].is_object());
    stream_opened(&mut streams).await;

    catalog.remove_tool("test_image_content");
    told(&mut seen, method::TOOLS_LIST_CHANGED).await;
    catalog.resource_updated("test://static-text");
    let note = told(&mut seen, method::RESOURCES_UPDATED).await;
    assert_eq!(note["params"]["uri"], "test://static-text");

    // A reload that changes the host's token replaces its agent session:
    // the hub listens on the new one.
    hub.reload(registry(&url, "token = \"t-2\"\n")).await;
    stream_opened(&mut streams).await;
    catalog.remove_tool("test_audio_content");
    told(&mut seen, method::TOOLS_LIST_CHANGED).await;
}
