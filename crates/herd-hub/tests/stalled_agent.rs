//! An agent that answers `initialize` with a response head and then stalls,
//! beside a healthy one in the same hub. Every call to the stalled agent
//! ends by its own deadline, including calls queued behind the open that
//! another call started, and the healthy agent answers meanwhile.

#![allow(clippy::unwrap_used)]

#[path = "support/agent.rs"]
mod agent;
#[allow(dead_code)] // one of its heads is enough here
#[path = "../../herd-upstream/tests/support/stall.rs"]
mod stall;

use agent::conformance_server;
use herd_fleet::Registry;
use herd_hub::{CallConfig, Failure, Fleet, Hub, Served};
use herd_proto::Context;
use serde_json::Map;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// Far beyond every call's deadline: reaching it means a call hung.
const HUNG: Duration = Duration::from_secs(20);

fn call(fleet: &Arc<Fleet>, host: &str, timeout: Duration) -> JoinHandle<Result<Served, Failure>> {
    let (fleet, host) = (fleet.clone(), fleet.host(host).unwrap());
    tokio::spawn(
        async move { fleet.call_tool(&host, "test_simple_text", Map::new(), &Context::detached(), timeout).await },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_handshake_holds_no_call_past_its_deadline_and_no_other_host() {
    let (healthy_url, _healthy) = conformance_server().await;
    let (stalled_url, mut stalled) = stall::stalling(stall::JSON_HEAD).await;
    // A long probe budget gives agent sessions a long exchange limit: only
    // each call's own deadline can end these calls in time.
    let text = format!(
        "[health]\nbudget = 60\n\n[[hosts]]\nname = \"stalled\"\nurl = \"{stalled_url}\"\n\n\
         [[hosts]]\nname = \"healthy\"\nurl = \"{healthy_url}\"\n"
    );
    let hub = Hub::new(Registry::parse(&text, "t").unwrap(), None, CallConfig::default());
    let fleet = hub.fleet().clone();

    let first = call(&fleet, "stalled", Duration::from_secs(4));
    stalled.recv().await.unwrap();
    let answered = tokio::time::timeout(HUNG, call(&fleet, "healthy", HUNG)).await.expect("the healthy host hung");
    let served = answered.unwrap().unwrap();
    assert_eq!((served.host.as_str(), served.via), ("healthy", "agent"));

    let queued: Vec<_> = (0..3).map(|_| call(&fleet, "stalled", Duration::from_millis(300))).collect();
    for queued in queued {
        let failure = tokio::time::timeout(HUNG, queued).await.expect("a queued call hung").unwrap().unwrap_err();
        let text = failure.to_string();
        assert!(text.contains("agent: no MCP session opened within the call's 0.3s"), "{text}");
    }
    assert!(!first.is_finished(), "the queued calls ended by their own deadline, before the first call's");

    let failure = tokio::time::timeout(HUNG, first).await.expect("the first call hung").unwrap().unwrap_err();
    assert!(failure.to_string().contains("agent: no MCP session opened within the call's 4.0s"), "{failure}");
}
