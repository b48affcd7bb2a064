//! "A dead host never slows a healthy one", under real network faults.
//!
//! Each test runs a `herd hub` with two hosts: `healthy`, an agent on
//! loopback, and `faulty`, an agent that the test breaks. Calls to the
//! healthy host are measured for a while with the faulty host working (the
//! baseline), then again while the fault is on, with calls to the faulty
//! host running all along; the healthy p99 must stay within
//! `max(2 x baseline, baseline + 100 ms)` (see `support/load.rs` for why
//! the floor), and every call to the faulty host must end, within its own
//! deadline, either answered or with an error that names the host and why.
//!
//! Faults: a blackholed host and one losing 10 % of its packets (an agent
//! in its own network namespace, nftables rules inside it), a host flapping
//! (blackholed 3 s, reachable 1 s, twice), 200 ms of added round-trip latency (a
//! delaying proxy), and an agent that sends a tool call's response head
//! and then nothing (a stalling server).
//!
//! Long: the blackhole and stall tests each wait out the hub's
//! full deadline for the calls caught by the fault (the shell timeout, 1 s,
//! plus the hub's 30 s margin), about 40 s apiece.

#![allow(clippy::unwrap_used)]

mod support;

#[path = "support/client.rs"]
mod client;
#[path = "support/faults.rs"]
mod faults;
#[path = "support/load.rs"]
mod load;
#[path = "support/netns.rs"]
mod netns;

use client::Client;
use faults::{DelayProxy, StallAgent};
use load::{Outcome, assert_not_slowed, faulty_load, healthy_load, outcomes, result_text};
use netns::Netns;
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use support::Herd;

const HUB_TOKEN: &str = "fault-hub-token";
const AGENT_TOKEN: &str = "fault-agent-token";
/// How long each phase measures the healthy host.
const PHASE: Duration = Duration::from_secs(5);
/// The `timeout` of each shell call to the faulty host.
const SHELL_TIMEOUT: f64 = 1.0;
/// The hub bounds a shell call by its timeout plus this margin
/// (`herd_hub::CallConfig::timeout_margin`).
const HUB_MARGIN: Duration = Duration::from_secs(30);
/// Scheduling slack on top of the hub's deadline.
const SLACK: Duration = Duration::from_secs(5);
/// Short probes and backoff, so the hub notices changes within seconds.
const HEALTH: &str = "[health]\nbudget = 1\nconnect_timeout = 0.5\ndown_min = 1\ndown_max = 2\n";

/// A hub in front of the healthy agent and the faulty host.
struct Bench {
    hub: Herd,
    _healthy: Herd,
    healthy_client: Arc<Client>,
    faulty_client: Arc<Client>,
    file: PathBuf,
    _dir: tempfile::TempDir,
}

impl Bench {
    async fn start(faulty_url: &str) -> Bench {
        let healthy = Herd::start(&["agent", "--listen", "127.0.0.1:0", "--token", AGENT_TOKEN]).await;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("small");
        std::fs::write(&file, "x".repeat(1024)).unwrap();
        let config = dir.path().join("hosts.toml");
        // The namespaced agent is plain HTTP beyond loopback, on a veth pair
        // only this test uses.
        let host = |name: &str, url: &str| {
            format!("[[hosts]]\nname = \"{name}\"\nurl = \"{url}\"\ntoken = \"{AGENT_TOKEN}\"\ninsecure_http = true\n")
        };
        std::fs::write(
            &config,
            [HEALTH.to_owned(), host("healthy", &healthy.url), host("faulty", faulty_url)].concat(),
        )
        .unwrap();
        let config = config.to_str().unwrap();
        let hub = Herd::start(&["hub", "--config", config, "--listen", "127.0.0.1:0", "--token", HUB_TOKEN]).await;
        let healthy_client = Arc::new(Client::connect(&hub.url, Some(HUB_TOKEN)).await);
        let faulty_client = Arc::new(Client::connect(&hub.url, Some(HUB_TOKEN)).await);
        Bench { hub, _healthy: healthy, healthy_client, faulty_client, file, _dir: dir }
    }

    /// A bench in front of `faulty_url` and the healthy host's baseline,
    /// measured while every call to the faulty host is answered.
    async fn measured(faulty_url: &str, fault: &str) -> (Bench, load::Latencies) {
        let bench = Bench::start(faulty_url).await;
        let (baseline, before) = bench.phase(2).await;
        assert_eq!(check_faulty_calls(&outcomes(before).await, &format!("before the {fault}")), 0);
        (bench, baseline)
    }

    /// Healthy-host latencies over one phase, with `faulty_workers` loops
    /// calling the faulty host meanwhile; the handles end when their last
    /// call has.
    async fn phase(&self, faulty_workers: usize) -> (load::Latencies, Vec<tokio::task::JoinHandle<Vec<Outcome>>>) {
        let faulty = faulty_load(&self.faulty_client, "faulty", faulty_workers, PHASE, SHELL_TIMEOUT);
        let healthy = healthy_load(&self.healthy_client, "healthy", &self.file, 2, PHASE).await;
        (healthy, faulty)
    }
}

/// An agent inside `ns`, listening on its veth address.
async fn agent_in(ns: &Netns) -> Herd {
    let listen = format!("{}:0", ns.inner);
    Herd::start_via(&ns.wrapper(), &["agent", "--listen", &listen, "--token", AGENT_TOKEN], &[]).await
}

/// The deadline of one faulty-host call, plus slack.
fn call_bound() -> Duration {
    Duration::from_secs_f64(SHELL_TIMEOUT) + HUB_MARGIN + SLACK
}

/// Checks every faulty-host call: within its deadline, and either answered
/// (`echo ok` ran) or an error naming the host and why. Returns how many
/// failed.
fn check_faulty_calls(all: &[Outcome], fault: &str) -> usize {
    let mut failed = 0;
    for (elapsed, result) in all {
        let text = result_text(result);
        assert!(*elapsed <= call_bound(), "{fault}: a faulty-host call took {elapsed:?}: {text}");
        if result["isError"] == true {
            failed += 1;
            let why = text.strip_prefix("faulty: agent: ").unwrap_or_else(|| panic!("{fault}: unclear error: {text}"));
            assert!(why.len() > 10, "{fault}: the error does not say why: {text}");
        } else {
            assert_eq!(result["structuredContent"]["stdout"], "ok\n", "{fault}: {result}");
        }
    }
    let slowest = all.iter().map(|(e, _)| *e).max().unwrap_or_default();
    eprintln!("{fault}: {} faulty-host calls, {failed} failed, slowest {slowest:?}", all.len());
    if let Some((_, sample)) = all.iter().find(|(_, r)| r["isError"] == true) {
        eprintln!("{fault}: e.g. {}", result_text(sample));
    }
    failed
}

#[tokio::test(flavor = "multi_thread")]
async fn a_blackholed_host_fails_its_calls_and_leaves_the_healthy_one_alone() {
    let Some(ns) = Netns::create_or_skip("a_blackholed_host") else { return };
    let faulty = agent_in(&ns).await;
    let (bench, baseline) = Bench::measured(&faulty.url, "blackhole").await;

    ns.blackhole();
    let (during, calls) = bench.phase(2).await;
    let failed = check_faulty_calls(&outcomes(calls).await, "blackhole");
    assert!(failed > 0, "no call to the blackholed host failed");
    assert_not_slowed(&baseline, &during, "a blackholed host");

    // Once the hub has seen the host fail, a new call costs a connect
    // timeout, not the whole deadline again.
    for _ in 0..3 {
        let started = tokio::time::Instant::now();
        let result = bench.faulty_client.call("remote_shell", json!({ "host": "faulty", "command": "echo ok" })).await;
        let elapsed = started.elapsed();
        assert_eq!(result["isError"], true, "{result}");
        assert!(elapsed < Duration::from_secs(5), "a call to the known-dead host took {elapsed:?}: {result}");
        eprintln!("after the blackhole was seen: {elapsed:?}: {}", result_text(&result));
    }
    drop(bench);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_host_losing_one_packet_in_ten_does_not_slow_the_healthy_one() {
    let Some(ns) = Netns::create_or_skip("a_host_losing_packets") else { return };
    let faulty = agent_in(&ns).await;
    let (bench, baseline) = Bench::measured(&faulty.url, "loss").await;

    ns.lose_one_in_ten();
    let (during, calls) = bench.phase(2).await;
    let calls = outcomes(calls).await;
    let failed = check_faulty_calls(&calls, "10 % loss");
    assert!(failed < calls.len(), "10 % loss made every call fail");
    assert_not_slowed(&baseline, &during, "a host losing 10 % of its packets");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flapping_host_ends_every_call_and_comes_back() {
    let Some(ns) = Netns::create_or_skip("a_flapping_host") else { return };
    let faulty = agent_in(&ns).await;
    let (bench, baseline) = Bench::measured(&faulty.url, "flapping").await;

    let ns = Arc::new(ns);
    let flapper = ns.clone();
    let flapping = tokio::spawn(async move {
        // Down 3 s at a time: a call caught by it waits for TCP to
        // retransmit, or fails with a clear error if it outlives its deadline.
        for _ in 0..2 {
            flapper.blackhole();
            tokio::time::sleep(Duration::from_secs(3)).await;
            flapper.heal();
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    let (during, calls) = bench.phase(4).await;
    flapping.await.unwrap();
    ns.heal();
    let calls = outcomes(calls).await;
    check_faulty_calls(&calls, "flapping");
    let slowest = calls.iter().map(|(e, _)| *e).max().unwrap_or_default();
    assert!(slowest >= Duration::from_secs(1), "no call was caught by the flapping: slowest {slowest:?}");
    assert_not_slowed(&baseline, &during, "a flapping host");

    // Up for good: calls reach it again (the hub re-opens what it dropped).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let result = bench.faulty_client.call("remote_shell", json!({ "host": "faulty", "command": "echo ok" })).await;
        if result["isError"] != true {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the host stayed unusable after it came back: {result}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    drop(bench);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_hundred_ms_of_latency_slow_only_the_host_that_has_them() {
    let faulty = Herd::start(&["agent", "--listen", "127.0.0.1:0", "--token", AGENT_TOKEN]).await;
    let target = faulty.url.trim_start_matches("http://").split('/').next().unwrap().parse().unwrap();
    let proxy = DelayProxy::start(target).await;
    let (bench, baseline) = Bench::measured(&format!("http://{}/mcp", proxy.addr), "latency").await;

    proxy.set_one_way(Duration::from_millis(100));
    let (during, calls) = bench.phase(2).await;
    let calls = outcomes(calls).await;
    assert_eq!(check_faulty_calls(&calls, "200 ms latency"), 0, "latency alone must not fail calls");
    let fastest = calls.iter().map(|(e, _)| *e).min().unwrap();
    assert!(fastest >= Duration::from_millis(200), "the delay was not in the path: fastest call {fastest:?}");
    assert_not_slowed(&baseline, &during, "200 ms latency on another host");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_agent_that_stalls_after_the_response_head_costs_only_its_own_calls() {
    let stall = StallAgent::start().await;
    let bench = Bench::start(&stall.url).await;
    let (baseline, none) = bench.phase(0).await;
    assert!(outcomes(none).await.is_empty());

    let (during, calls) = bench.phase(2).await;
    let calls = outcomes(calls).await;
    assert_eq!(check_faulty_calls(&calls, "stalled stream"), calls.len(), "a stalled call succeeded");
    assert!(stall.stalled() >= calls.len(), "the calls did not reach the stalling agent");
    assert_not_slowed(&baseline, &during, "an agent stalling after the response head");
    let listed = bench.healthy_client.call("remote_list_hosts", json!({})).await;
    assert_ne!(listed["isError"], true, "{listed}");
    drop(bench.hub);
}
