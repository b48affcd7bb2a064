//! An upstream that answers `initialize` with a response head and then
//! never sends the body: opening the session must end within the exchange
//! limit with a timeout, for the caller that opens it and for every caller
//! queued behind it, instead of pinning them all.

#![allow(clippy::unwrap_used)]

#[path = "support/stall.rs"]
mod stall;

use herd_upstream::{HttpUpstream, HttpUpstreamConfig, Upstream, UpstreamError};
use stall::{EVENTS_HEAD, JSON_HEAD, stalling};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

const EXCHANGE: Duration = Duration::from_millis(300);
/// Far beyond the exchange limit: reaching it means the handshake hung.
const HUNG: Duration = Duration::from_secs(20);

fn upstream(url: &str) -> Arc<HttpUpstream> {
    let config = HttpUpstreamConfig { exchange_timeout: EXCHANGE, ..HttpUpstreamConfig::new(url) };
    Arc::new(HttpUpstream::new(config).unwrap())
}

async fn opening_times_out_for_everyone_queued(head: &'static str) {
    let (url, mut stalled) = stalling(head).await;
    let upstream = upstream(&url);
    let first = tokio::spawn({
        let upstream = upstream.clone();
        async move { upstream.connect().await }
    });
    stalled.recv().await.unwrap();
    // These queue behind the open under way.
    let queued: Vec<_> = (0..3)
        .map(|_| {
            let upstream = upstream.clone();
            tokio::spawn(async move {
                let (events, _ignored) = mpsc::unbounded_channel();
                upstream.request("tools/list", None, Vec::new(), events).response.await.map(drop)
            })
        })
        .collect();
    let outcome = tokio::time::timeout(HUNG, first).await.expect("the handshake hung").unwrap();
    match outcome {
        Err(UpstreamError::Timeout { seconds, .. }) => assert_eq!(seconds, EXCHANGE.as_secs_f64()),
        other => panic!("expected a timeout, got {other:?}"),
    }
    for call in queued {
        let outcome = tokio::time::timeout(HUNG, call).await.expect("a queued call hung").unwrap();
        let err = outcome.unwrap_err();
        assert!(matches!(err, UpstreamError::Timeout { .. }), "{err:?}");
        assert!(err.to_string().contains("did not answer within 0.3s"), "{err}");
    }
}

#[tokio::test]
async fn a_json_answer_whose_body_never_comes() {
    opening_times_out_for_everyone_queued(JSON_HEAD).await;
}

#[tokio::test]
async fn an_event_stream_that_never_sends_an_event() {
    opening_times_out_for_everyone_queued(EVENTS_HEAD).await;
}
