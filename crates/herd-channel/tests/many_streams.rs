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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_beyond_two_hundred_are_all_open_at_once() {
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
    let config = AgentChannelConfig::new(hub_url, "unused", "ws1", "session-many-streams".into());
    let shutdown = CancellationToken::new();
    tokio::spawn(AgentChannel::new(config).unwrap().run(agent_app, shutdown.clone()));
    let mut changes = channels.changes();
    while !channels.hosts().iter().any(|h| h.active) {
        changes.changed().await.unwrap();
    }

    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..AT_ONCE {
        let channels = channels.clone();
        calls.spawn(async move {
            let request = http::Request::builder()
                .uri("http://ws1/wait")
                .body(http_body_util::Empty::<Bytes>::new().map_err(|never| match never {}).boxed())
                .unwrap();
            let response = channels.send("ws1", request).await.unwrap();
            response.into_body().collect().await.unwrap().to_bytes()
        });
    }
    let answered = tokio::time::timeout(Duration::from_secs(60), calls.join_all()).await;
    let answered = answered.expect("requests held back waiting for a stream slot");
    assert_eq!(answered.len(), AT_ONCE);
    assert!(answered.iter().all(|body| body.as_ref() == b"done"));
    shutdown.cancel();
}
