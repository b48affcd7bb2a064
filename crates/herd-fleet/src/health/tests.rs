//! Probe rounds against a scripted prober, in paused time: the cache
//! rules, the budget, the in-flight limit and single-flight probing.

use crate::{Health, HealthConfig, Host, HostState, ProbeOk, Prober};
use herd_proto::BoxFuture;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::{Instant, advance};

#[derive(Clone)]
enum Script {
    Up(Duration),
    Down,
    Hang,
    Panic,
}

#[derive(Default)]
struct Fake {
    scripts: Mutex<HashMap<String, Script>>,
    calls: Mutex<Vec<(String, Instant)>>,
}

impl Fake {
    fn calls(&self, name: &str) -> Vec<Instant> {
        self.calls.lock().iter().filter(|(n, _)| n == name).map(|(_, t)| *t).collect()
    }
}

impl Prober for Fake {
    fn probe<'a>(&'a self, host: &'a Host) -> BoxFuture<'a, Result<ProbeOk, String>> {
        self.calls.lock().push((host.name.clone(), Instant::now()));
        let script = self.scripts.lock().get(&host.name).cloned().unwrap_or(Script::Down);
        Box::pin(async move {
            match script {
                Script::Up(delay) => {
                    tokio::time::sleep(delay).await;
                    Ok(ProbeOk { tool_count: Some(7), latency: None })
                }
                Script::Down => Err("connection refused".to_owned()),
                Script::Hang => std::future::pending().await,
                Script::Panic => panic!("scripted panic"),
            }
        })
    }
}

fn host(name: &str) -> Host {
    Host {
        name: name.into(),
        url: Some(format!("http://{name}:1/mcp")),
        token: None,
        ssh: None,
        tags: vec![],
        ..Host::default()
    }
}

fn fleet(config: HealthConfig, scripts: &[(&str, Script)]) -> (Health, Arc<Fake>) {
    let fake = Arc::new(Fake::default());
    fake.scripts.lock().extend(scripts.iter().map(|(n, s)| ((*n).to_owned(), s.clone())));
    let hosts = scripts.iter().map(|(n, _)| host(n));
    (Health::new(config, hosts, fake.clone()), fake)
}

const SECOND: Duration = Duration::from_secs(1);

#[tokio::test(start_paused = true)]
async fn down_hosts_are_reprobed_with_backoff() {
    let (health, fake) = fleet(HealthConfig::default(), &[("a", Script::Down)]);
    for _ in 0..3000 {
        health.probe_all(false).await;
        advance(SECOND).await;
    }
    let calls = fake.calls("a");
    let gaps: Vec<u64> = calls.windows(2).map(|w| (w[1] - w[0]).as_secs()).collect();
    assert_eq!(gaps[..6], [60, 120, 240, 480, 900, 900]);
    let Some(HostState::Down { streak, error, .. }) = health.state("a") else { panic!() };
    assert_eq!((streak as usize, error.as_str()), (calls.len(), "connection refused"));
}

#[tokio::test(start_paused = true)]
async fn up_is_trusted_for_the_ttl_and_force_bypasses_it() {
    let (health, fake) = fleet(HealthConfig::default(), &[("a", Script::Up(Duration::ZERO)), ("b", Script::Down)]);
    let snap = health.probe_all(false).await;
    assert!(matches!(snap["a"], HostState::Up { tool_count: Some(7), .. }), "{snap:?}");
    advance(Duration::from_secs(29)).await;
    health.probe_all(false).await;
    assert_eq!((fake.calls("a").len(), fake.calls("b").len()), (1, 1));
    advance(SECOND).await;
    health.probe_all(false).await;
    assert_eq!((fake.calls("a").len(), fake.calls("b").len()), (2, 1));
    health.probe_all(true).await;
    assert_eq!((fake.calls("a").len(), fake.calls("b").len()), (3, 2));
    let Some(HostState::Up { since, checked, .. }) = health.state("a") else { panic!() };
    assert_eq!(checked - since, Duration::from_secs(30));
}

#[tokio::test(start_paused = true)]
async fn a_hanging_probe_costs_exactly_the_budget() {
    let (health, _) = fleet(HealthConfig::default(), &[("ok", Script::Up(SECOND)), ("hang", Script::Hang)]);
    let start = Instant::now();
    let snap = health.probe_all(false).await;
    assert_eq!(start.elapsed(), Duration::from_secs(3));
    assert!(snap["ok"].is_up());
    assert_eq!(snap["hang"].error(), Some("no answer within budget (3.0s)"));
}

#[tokio::test(start_paused = true)]
async fn a_thousand_mostly_hanging_hosts_take_one_budget() {
    let names: Vec<String> = (0..1000).map(|i| format!("h{i:04}")).collect();
    let scripts: Vec<(&str, Script)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), if i % 10 == 0 { Script::Up(Duration::from_millis(50)) } else { Script::Hang }))
        .collect();
    let config = HealthConfig { max_in_flight: 1000, ..HealthConfig::default() };
    let (health, fake) = fleet(config, &scripts);
    let start = Instant::now();
    let snap = health.probe_all(false).await;
    assert_eq!(start.elapsed(), Duration::from_secs(3));
    assert_eq!(fake.calls.lock().len(), 1000);
    assert_eq!(snap.values().filter(|s| s.is_up()).count(), 100);
    assert_eq!(snap.values().filter(|s| s.error().is_some_and(|e| e.contains("no answer"))).count(), 900);
}

#[tokio::test(start_paused = true)]
async fn the_in_flight_limit_holds_and_waiting_hosts_still_end_in_budget() {
    let names: Vec<String> = (0..10).map(|i| format!("h{i}")).collect();
    let scripts: Vec<(&str, Script)> = names.iter().map(|n| (n.as_str(), Script::Hang)).collect();
    let (health, fake) = fleet(HealthConfig { max_in_flight: 4, ..HealthConfig::default() }, &scripts);
    let start = Instant::now();
    let snap = health.probe_all(false).await;
    assert_eq!(start.elapsed(), Duration::from_secs(3));
    assert_eq!(fake.calls.lock().len(), 4);
    assert_eq!(snap.values().filter(|s| s.error().is_some_and(|e| e.starts_with("not probed"))).count(), 6);
}

#[tokio::test(start_paused = true)]
async fn concurrent_rounds_share_one_probe_per_host() {
    let (health, fake) = fleet(HealthConfig::default(), &[("a", Script::Up(SECOND)), ("b", Script::Hang)]);
    let late = async {
        advance(Duration::from_millis(500)).await;
        health.probe_all(true).await
    };
    let start = Instant::now();
    let (first, second) = tokio::join!(health.probe_all(false), late);
    assert_eq!(start.elapsed(), Duration::from_secs(3));
    assert_eq!((fake.calls("a").len(), fake.calls("b").len()), (1, 1));
    assert_eq!(first, second);
    assert!(first["a"].is_up() && !first["b"].is_up());
}

#[tokio::test(start_paused = true)]
async fn hosts_without_url_panics_and_unknown_names() {
    let (health, fake) = fleet(HealthConfig::default(), &[("boom", Script::Panic)]);
    let ssh_only = Host { url: None, ssh: Some("x".into()), ..host("ssh-only") };
    health.set_hosts([host("boom"), ssh_only]);
    let snap = health.probe_all(false).await;
    assert_eq!(snap["boom"].error(), Some("the probe panicked"));
    assert_eq!(snap["ssh-only"].error(), Some("no agent url configured (ssh only)"));
    assert!(fake.calls("ssh-only").is_empty());
    assert_eq!(health.probe("nope", true).await, None);
}

#[tokio::test(start_paused = true)]
async fn reload_keeps_unchanged_hosts_and_report_records_calls() {
    let (health, _) = fleet(HealthConfig::default(), &[("a", Script::Up(Duration::ZERO)), ("b", Script::Down)]);
    health.probe_all(false).await;
    let moved = Host { url: Some("http://elsewhere:1/mcp".into()), ..host("b") };
    health.set_hosts([host("a"), moved, host("c")]);
    let snap = health.snapshot();
    assert!(snap["a"].is_up());
    assert_eq!((&snap["b"], &snap["c"]), (&HostState::Unknown, &HostState::Unknown));
    health.report("a", Err("call failed".into()));
    assert_eq!(health.state("a").and_then(|s| s.error().map(str::to_owned)).as_deref(), Some("call failed"));
}

#[tokio::test(start_paused = true)]
async fn flips_announce_only_changes_of_up_ness() {
    let (health, fake) = fleet(HealthConfig::default(), &[("a", Script::Up(Duration::ZERO)), ("b", Script::Down)]);
    let mut flips = health.flips();
    health.probe_all(false).await;
    assert!(flips.has_changed().unwrap(), "a turned UP");
    flips.mark_unchanged();
    health.probe_all(true).await;
    assert!(!flips.has_changed().unwrap(), "a stayed UP and b stayed DOWN");
    fake.scripts.lock().insert("a".into(), Script::Down);
    health.probe_all(true).await;
    assert!(flips.has_changed().unwrap(), "a went DOWN");
    flips.mark_unchanged();
    health.report("b", Ok(ProbeOk::default()));
    assert!(flips.has_changed().unwrap(), "a call found b UP");
}

#[tokio::test(start_paused = true)]
async fn hosts_that_were_up_are_probed_before_dead_ones_fill_the_slots() {
    let scripts = [("a", Script::Hang), ("b", Script::Hang), ("c", Script::Hang), ("live", Script::Up(SECOND))];
    let (health, fake) = fleet(HealthConfig { max_in_flight: 2, ..HealthConfig::default() }, &scripts);
    health.report("live", Ok(ProbeOk::default()));
    let snap = health.probe_all(true).await;
    assert!(snap["live"].is_up(), "{snap:?}");
    assert_eq!(fake.calls("live").len(), 1);
}

#[tokio::test(start_paused = true)]
async fn new_settings_apply_to_the_cache_and_the_next_round() {
    let (health, fake) = fleet(HealthConfig::default(), &[("a", Script::Up(Duration::ZERO)), ("hang", Script::Hang)]);
    let start = Instant::now();
    health.probe_all(false).await;
    assert_eq!(start.elapsed(), Duration::from_secs(3));
    advance(Duration::from_secs(10)).await;
    health.probe_all(false).await;
    assert_eq!(fake.calls("a").len(), 1, "UP is trusted for 30 s");

    let shorter = HealthConfig { up_ttl: Duration::from_secs(5), budget: SECOND, ..HealthConfig::default() };
    health.set_config(shorter.clone());
    assert_eq!(*health.config(), shorter);
    health.probe_all(false).await;
    assert_eq!(fake.calls("a").len(), 2, "the 10 s old UP is stale under a 5 s TTL");
    let start = Instant::now();
    let snap = health.probe_all(true).await;
    assert_eq!(start.elapsed(), SECOND, "the round keeps the new budget");
    assert_eq!(snap["hang"].error(), Some("no answer within budget (1.0s)"));
}
