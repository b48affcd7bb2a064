//! Replicas in one process sharing their rounds through one SQLite store
//! (the store's claims are tested on both databases in herd-store): who
//! probes, and what every replica ends up knowing.

use crate::{Health, HealthConfig, Host, HostState, ProbeOk, Prober};
use herd_proto::BoxFuture;
use herd_store::Store;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Answers from a script (UP unless told DOWN) and counts the probes.
#[derive(Default)]
struct Counting {
    down: Mutex<Vec<String>>,
    probes: Mutex<HashMap<String, usize>>,
}

impl Counting {
    fn total(&self) -> usize {
        self.probes.lock().values().sum()
    }
}

impl Prober for Counting {
    fn probe<'a>(&'a self, host: &'a Host) -> BoxFuture<'a, Result<ProbeOk, String>> {
        *self.probes.lock().entry(host.name.clone()).or_default() += 1;
        let down = self.down.lock().contains(&host.name);
        Box::pin(async move { if down { Err("connection refused".to_owned()) } else { Ok(ProbeOk::default()) } })
    }
}

fn host(name: &str) -> Host {
    Host { name: name.into(), url: Some(format!("http://{name}:1/mcp")), ..Host::default() }
}

const HOSTS: [&str; 4] = ["a", "b", "c", "dead"];

/// `n` replicas of a fleet whose results are trusted for an hour, sharing
/// through one store.
async fn replicas(n: usize, dir: &tempfile::TempDir) -> (Store, Vec<(Health, Arc<Counting>)>) {
    let store = Store::open(dir.path().join("herd.db").to_str().unwrap()).await.unwrap();
    let config = HealthConfig {
        up_ttl: Duration::from_secs(3600),
        down_min: Duration::from_secs(3600),
        ..HealthConfig::default()
    };
    let replicas = (0..n)
        .map(|i| {
            let prober = Arc::new(Counting::default());
            prober.down.lock().push("dead".to_owned());
            let health = Health::new(config.clone(), HOSTS.map(host), prober.clone());
            health.share_probes(store.clone(), format!("replica-{i}"));
            (health, prober)
        })
        .collect();
    (store, replicas)
}

fn up_or_down(health: &Health) -> Vec<(String, Option<u32>)> {
    let streak = |s: &HostState| match s {
        HostState::Down { streak, .. } => Some(*streak),
        _ => None,
    };
    health.snapshot().iter().map(|(name, state)| (name.clone(), streak(state))).collect()
}

#[tokio::test]
async fn each_stale_host_is_probed_once_and_every_replica_sees_the_result() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, replicas) = replicas(3, &dir).await;
    for (health, _) in &replicas {
        health.probe_all(false).await;
    }
    let probes: Vec<usize> = replicas.iter().map(|(_, p)| p.total()).collect();
    assert_eq!(probes, [4, 0, 0], "the first round probed every host; the others took its results in");
    let first = up_or_down(&replicas[0].0);
    assert_eq!(first.iter().filter(|(_, down)| down.is_none()).count(), 3);
    assert_eq!(first.last(), Some(&("dead".to_owned(), Some(1))));
    for (health, _) in &replicas[1..] {
        assert_eq!(up_or_down(health), first);
    }
    // Fresh everywhere: nobody probes again.
    for (health, _) in &replicas {
        health.probe_all(false).await;
    }
    assert_eq!(replicas.iter().map(|(_, p)| p.total()).sum::<usize>(), 4);
    // A forced probe stays the asker's own.
    replicas[2].0.probe_all(true).await;
    assert_eq!(replicas[2].1.total(), 4);
}

#[tokio::test]
async fn a_replica_with_another_url_for_a_host_does_not_take_its_result() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, replicas) = replicas(2, &dir).await;
    let moved = Host { url: Some("http://elsewhere:1/mcp".into()), ..host("a") };
    replicas[1].0.set_hosts(HOSTS.map(|name| if name == "a" { moved.clone() } else { host(name) }));
    replicas[0].0.probe_all(false).await;
    replicas[1].0.probe_all(false).await;
    let probed = replicas[1].1.probes.lock().clone();
    assert_eq!(probed, HashMap::from([("a".to_owned(), 1)]), "only the host it reaches elsewhere");
}

#[tokio::test]
async fn a_store_that_does_not_answer_leaves_each_replica_probing_for_itself() {
    let dir = tempfile::tempdir().unwrap();
    let (store, replicas) = replicas(2, &dir).await;
    store.close().await;
    for (health, _) in &replicas {
        health.probe_all(false).await;
    }
    assert_eq!(replicas.iter().map(|(_, p)| p.total()).collect::<Vec<_>>(), [4, 4]);
    assert!(replicas[1].0.snapshot()["a"].is_up());
}
