//! A channel carries more requests at once than HTTP/2's customary 200
//! streams: every LLM stream a client holds open is one of them.

#![allow(clippy::unwrap_used)]

use bytes::Bytes;
use herd_auth::{Grant, Identity, Principal, Role};
use herd_channel::{AgentChannel, AgentChannelConfig, Channels, ChannelsConfig};
use http_body_util::BodyExt as _;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Barrier;
use tokio_util::sync::CancellationToken;

/// More than hyper's default of 200 concurrent streams per connection.
const AT_ONCE: usize = 600;

fn agent_user() -> Principal {
    let identity = Identity::User {
        user_id: herd_auth::UserId(1),
        name: "ws-owner".into(),
        token_id: herd_auth::TokenId("t1".into()),
    };
    Principal::new(identity, Role::Agent, Grant::all())
}

/// A hub's channels and an agent serving `agent_app` over a channel to
/// it as `ws1`, once the channel is open; cancel the token to stop it.
async fn open_channel(agent_app: axum::Router) -> (Channels, CancellationToken) {
    let channels = Channels::new(ChannelsConfig::default());
    let principal = agent_user();
    let hub_app = channels.route().layer(axum::middleware::from_fn(
        move |mut request: axum::extract::Request, next: axum::middleware::Next| {
            request.extensions_mut().insert(principal.clone());
            next.run(request)
        },
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hub_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, hub_app).await });
    let config = AgentChannelConfig::new(hub_url, "unused", "ws1", "session-many-streams".into());
    let shutdown = CancellationToken::new();
    tokio::spawn(AgentChannel::new(config).unwrap().run(agent_app, shutdown.clone()));
    let mut changes = channels.changes();
    while !channels.hosts().iter().any(|h| h.active) {
        changes.changed().await.unwrap();
    }
    (channels, shutdown)
}

fn get(path: &str) -> http::Request<herd_channel::hub::ChannelBody> {
    http::Request::builder()
        .uri(format!("http://ws1{path}"))
        .body(http_body_util::Empty::<Bytes>::new().map_err(|never| match never {}).boxed())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_beyond_two_hundred_are_all_open_at_once() {
    // Every request waits until all of them have arrived: with fewer
    // streams allowed than requests sent, none would ever answer.
    let barrier = Arc::new(Barrier::new(AT_ONCE));
    let agent_app = axum::Router::new().route(
        "/wait",
        axum::routing::get(move || {
            let barrier = barrier.clone();
            async move {
                barrier.wait().await;
                "done"
            }
        }),
    );
    let (channels, shutdown) = open_channel(agent_app).await;

    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..AT_ONCE {
        let channels = channels.clone();
        calls.spawn(async move {
            let response = channels.send("ws1", get("/wait")).await.unwrap();
            response.into_body().collect().await.unwrap().to_bytes()
        });
    }
    let answered = tokio::time::timeout(Duration::from_secs(60), calls.join_all()).await;
    let answered = answered.expect("requests held back waiting for a stream slot");
    assert_eq!(answered.len(), AT_ONCE);
    assert!(answered.iter().all(|body| body.as_ref() == b"done"));
    shutdown.cancel();
}

/// A body of the chunks sent to it, ending when its sender is dropped.
struct Chunks(tokio::sync::mpsc::Receiver<Bytes>);

impl hyper::body::Body for Chunks {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        self.0.poll_recv(cx).map(|chunk| chunk.map(|data| Ok(hyper::body::Frame::data(data))))
    }
}

/// More streams than h2 forgets resets for (50) and than it answers late
/// frames of forgotten streams for (1024) before closing the connection.
const DROPPED: usize = 2_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_streams_dropped_at_once_while_their_answers_run_on_leave_the_channel_open() {
    // Each answer sends a first chunk, then the rest once told to, while
    // the hub is dropping them: the rest crosses the hub's resets.
    let (go, told) = tokio::sync::watch::channel(false);
    let (finished, mut answers_done) = tokio::sync::mpsc::unbounded_channel::<()>();
    let agent_app = axum::Router::new()
        .route(
            "/drip",
            axum::routing::get(move || {
                let (mut told, finished) = (told.clone(), finished.clone());
                async move {
                    let (sender, chunks) = tokio::sync::mpsc::channel(4);
                    tokio::spawn(async move {
                        if sender.send(Bytes::from_static(b"first")).await.is_ok() {
                            let _ = told.wait_for(|go| *go).await;
                            for _ in 0..4 {
                                if sender.send(Bytes::from_static(b"rest")).await.is_err() {
                                    break;
                                }
                            }
                        }
                        drop(sender);
                        let _ = finished.send(());
                    });
                    axum::body::Body::new(Chunks(chunks))
                }
            }),
        )
        .route("/ping", axum::routing::get(|| async { "pong" }));
    let (channels, shutdown) = open_channel(agent_app).await;
    let connection = channels.hosts()[0].connection;

    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..DROPPED {
        let channels = channels.clone();
        calls.spawn(async move {
            let mut body = channels.send("ws1", get("/drip")).await.unwrap().into_body();
            let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
            assert_eq!(first.as_ref(), b"first");
            body
        });
    }
    let bodies = tokio::time::timeout(Duration::from_secs(60), calls.join_all()).await.unwrap();
    go.send(true).unwrap();
    drop(bodies);
    for _ in 0..DROPPED {
        tokio::time::timeout(Duration::from_secs(60), answers_done.recv()).await.unwrap().unwrap();
    }

    // A request after them all goes over the same connection, answered.
    let response = channels.send("ws1", get("/ping")).await.expect("the channel is still open");
    let pong = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(pong.as_ref(), b"pong");
    let host = &channels.hosts()[0];
    assert!(host.active);
    assert_eq!(host.connection, connection, "the channel's connection was not replaced");
    shutdown.cancel();
}
