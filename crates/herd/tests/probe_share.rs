//! Three `herd hub` replicas on one real PostgreSQL share the health
//! probes of their fleet out among themselves: each host is probed about
//! once per UP TTL across the cluster, not once per TTL by every replica,
//! and every replica holds the same up/down states, those of hosts it never
//! probed itself included.
//!
//! The fleet is 100 hosts: 98 small MCP servers in this process that count
//! the probes they answer (`tools/list`, one per probe), and two real
//! `herd agent`s, one of which is stopped half-way: every replica then sees
//! it down.

#![allow(clippy::unwrap_used)]

mod support;

#[path = "support/client.rs"]
mod client;
#[path = "support/pg.rs"]
mod pg;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use client::Client;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use support::Herd;
use tokio::time::Instant;

const HUB_TOKEN: &str = "probe-share-hub-token";
const AGENT_TOKEN: &str = "probe-share-agent-token";
const COUNTED: usize = 98;
const REPLICAS: usize = 3;
/// The fleet's UP TTL; the hubs' background rounds run every half of it.
const TTL: Duration = Duration::from_secs(2);
const HEALTH: &str = "[health]\nup_ttl = 2\ndown_min = 2\ndown_max = 4\nbudget = 1\nconnect_timeout = 0.5\n";
/// The longest the test waits for the replicas to agree.
const WAIT: Duration = Duration::from_secs(30);

/// Answers MCP over Streamable HTTP just enough to be probed, counting the
/// `tools/list` requests (a probe sends one, whether its session is new or
/// warm).
async fn answer(State(probes): State<Arc<AtomicU64>>, body: Bytes) -> Response {
    let message: Value = serde_json::from_slice(&body).unwrap_or_default();
    let Some(id) = message.get("id").cloned() else {
        return StatusCode::ACCEPTED.into_response();
    };
    let result = match message["method"].as_str() {
        Some("initialize") => json!({
            "protocolVersion": message["params"]["protocolVersion"],
            "capabilities": { "tools": {} },
            "serverInfo": { "name": "counted", "version": "1" },
        }),
        Some("tools/list") => {
            probes.fetch_add(1, Ordering::SeqCst);
            json!({ "tools": [] })
        }
        _ => json!({}),
    };
    let body = json!({ "jsonrpc": "2.0", "id": id, "result": result }).to_string();
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// A counting host on a loopback port: its URL and its probe counter.
async fn counted_host() -> (String, Arc<AtomicU64>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let probes = Arc::new(AtomicU64::new(0));
    let app = axum::Router::new().route("/mcp", axum::routing::post(answer)).with_state(probes.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, probes)
}

fn host(name: &str, url: &str) -> String {
    format!("[[hosts]]\nname = \"{name}\"\nurl = \"{url}\"\ntoken = \"{AGENT_TOKEN}\"\n")
}

/// Every host's state (`up`, `down`, `unknown`) as a replica lists it.
async fn states(client: &Client) -> BTreeMap<String, String> {
    let listed = client.call("remote_list_hosts", json!({})).await;
    let hosts = listed["structuredContent"]["hosts"].as_array().unwrap().clone();
    hosts.iter().map(|h| (h["name"].as_str().unwrap().to_owned(), h["state"].as_str().unwrap().to_owned())).collect()
}

/// Waits (bounded) until every replica lists the states `expected` says.
async fn wait_until_all_see(clients: &[Client], what: &str, expected: impl Fn(&str) -> &'static str) {
    let deadline = Instant::now() + WAIT;
    loop {
        let mut seen = Vec::new();
        for client in clients {
            seen.push(states(client).await);
        }
        let agree =
            seen.iter().all(|s| s.len() == COUNTED + 2 && s.iter().all(|(name, state)| state == expected(name)));
        if agree {
            return;
        }
        assert!(Instant::now() < deadline, "replicas did not all see {what} within {WAIT:?}: {seen:#?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn probe_counts(counters: &[Arc<AtomicU64>]) -> Vec<u64> {
    counters.iter().map(|c| c.load(Ordering::SeqCst)).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn replicas_probe_each_host_about_once_per_ttl_and_agree_on_its_state() {
    let server = tokio::task::spawn_blocking(pg::server).await.unwrap();
    let database = server.create_database().await;
    let agent_args = ["agent", "--listen", "127.0.0.1:0", "--token", AGENT_TOKEN];
    let (staying, mut leaving) = (Herd::start(&agent_args).await, Herd::start(&agent_args).await);
    let mut counters = Vec::new();
    let mut registry = HEALTH.to_owned();
    for i in 0..COUNTED {
        let (url, probes) = counted_host().await;
        registry.push_str(&host(&format!("h{i:02}"), &url));
        counters.push(probes);
    }
    registry.push_str(&host("agent-staying", &staying.url));
    registry.push_str(&host("agent-leaving", &leaving.url));
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hosts.toml");
    std::fs::write(&config, registry).unwrap();

    let config = config.to_str().unwrap();
    let mut hubs = Vec::new();
    let mut clients = Vec::new();
    for _ in 0..REPLICAS {
        let args = ["hub", "--config", config, "--listen", "127.0.0.1:0", "--token", HUB_TOKEN];
        let hub = Herd::start(&[&args[..], &["--database-url", &database]].concat()).await;
        clients.push(Client::connect(&hub.url, Some(HUB_TOKEN)).await);
        hubs.push(hub);
    }
    wait_until_all_see(&clients, "every host up", |_| "up").await;

    // Over three TTLs, each host is probed at most once per TTL (plus the
    // one a window can catch at its start): a lease lasts a TTL from the
    // end of the probe that took it. Three replicas probing on their own
    // probe each host about nine times in the same window.
    let before = probe_counts(&counters);
    let started = Instant::now();
    tokio::time::sleep(3 * TTL).await; // the measuring window
    let elapsed = started.elapsed();
    let probed: Vec<u64> = probe_counts(&counters).iter().zip(&before).map(|(after, before)| after - before).collect();
    let most = u64::try_from(elapsed.as_millis() / TTL.as_millis()).unwrap() + 1;
    let total: u64 = probed.iter().sum();
    let (fewest, most_seen) = (probed.iter().min().unwrap(), probed.iter().max().unwrap());
    eprintln!("probes per host over {elapsed:?}: {fewest} to {most_seen}, {total} in all");
    assert!(probed.iter().all(|&n| n <= most), "a host probed more than {most} times in {elapsed:?}: {probed:?}");
    assert!(probed.iter().all(|&n| n >= 1), "every host is still probed: {probed:?}");

    // A host goes down: every replica sees it, the others stay up.
    leaving.kill().await;
    let gone = |name: &str| if name == "agent-leaving" { "down" } else { "up" };
    wait_until_all_see(&clients, "agent-leaving down and every other host up", gone).await;
    drop(hubs);
}
