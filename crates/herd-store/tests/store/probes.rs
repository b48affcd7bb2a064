use crate::support::{TestDb, on_both_backends};
use herd_store::{ProbeOutcome, ProbeResult, Timestamp};
use std::collections::BTreeSet;
use std::time::Duration;

on_both_backends!(
    replicas_claiming_together_never_get_the_same_host,
    a_published_result_holds_the_lease_until_it_goes_stale,
    a_dead_replicas_claim_runs_out,
    another_target_takes_the_lease_and_drops_the_result
);

const T0: Timestamp = Timestamp::from_unix_millis(1_800_000_000_000);

fn at(secs: u64) -> Timestamp {
    T0.saturating_add(Duration::from_secs(secs))
}

fn hosts(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("h{i:03}")).collect()
}

fn targets(names: &[String]) -> Vec<(&str, &str)> {
    names.iter().map(|n| (n.as_str(), "t1")).collect()
}

fn up(host: &str, checked: Timestamp) -> ProbeResult {
    let outcome = ProbeOutcome::Up { since: T0, tool_count: Some(7), latency: Some(Duration::from_micros(1500)) };
    ProbeResult { host: host.to_owned(), target: "t1".to_owned(), checked, outcome }
}

/// Three replicas (three pools) claim the same hosts at the same instant,
/// many times over: each host goes to exactly one of them.
async fn replicas_claiming_together_never_get_the_same_host(db: TestDb) {
    let (a, b, c) = tokio::join!(db.open(), db.open(), db.open());
    let names = hosts(200);
    let all = targets(&names);
    for round in 0..5u64 {
        let (now, until) = (at(round * 10), at(round * 10 + 5));
        let (got_a, got_b, got_c) = tokio::join!(
            a.claim_probes("a", &all, now, until),
            b.claim_probes("b", &all, now, until),
            c.claim_probes("c", &all, now, until),
        );
        let claims = [got_a.unwrap(), got_b.unwrap(), got_c.unwrap()];
        let total: usize = claims.iter().map(Vec::len).sum();
        let union: BTreeSet<&String> = claims.iter().flatten().collect();
        assert_eq!((total, union.len()), (names.len(), names.len()), "round {round}: every host once");
        // Until the leases run out, nobody gets any.
        assert!(a.claim_probes("a", &all, at(round * 10 + 4), until).await.unwrap().is_empty());
    }
}

async fn a_published_result_holds_the_lease_until_it_goes_stale(db: TestDb) {
    let (a, b) = tokio::join!(db.open(), db.open());
    let names = hosts(3);
    let all = targets(&names);
    assert_eq!(a.claim_probes("a", &all, at(0), at(5)).await.unwrap(), names);
    assert!(b.probe_results().await.unwrap().is_empty(), "nothing published yet");
    let down = ProbeResult {
        host: "h001".to_owned(),
        target: "t1".to_owned(),
        checked: at(1),
        outcome: ProbeOutcome::Down { streak: 3, error: "connection refused".to_owned() },
    };
    let results = [(up("h000", at(1)), at(31)), (down.clone(), at(61))];
    // Only the holder publishes.
    assert_eq!(b.publish_probes("b", &results).await.unwrap(), 0);
    assert_eq!(a.publish_probes("a", &results).await.unwrap(), 2);
    assert_eq!(b.probe_results().await.unwrap(), [up("h000", at(1)), down]);
    // h002 was claimed and never published: its claim runs out at 5 s,
    // the results' leases at 31 s and 61 s.
    assert!(b.claim_probes("b", &all, at(4), at(9)).await.unwrap().is_empty());
    assert_eq!(b.claim_probes("b", &all, at(5), at(10)).await.unwrap(), ["h002"]);
    let published = &all[..2];
    assert!(b.claim_probes("b", published, at(30), at(35)).await.unwrap().is_empty());
    assert_eq!(b.claim_probes("b", published, at(31), at(36)).await.unwrap(), ["h000"]);
    // The new holder's result replaces the old one; the old holder's late
    // publication is dropped.
    assert_eq!(b.publish_probes("b", &[(up("h000", at(32)), at(62))]).await.unwrap(), 1);
    assert_eq!(a.publish_probes("a", &[(up("h000", at(33)), at(63))]).await.unwrap(), 0);
    let read = a.probe_results().await.unwrap();
    assert_eq!(read.iter().find(|r| r.host == "h000").unwrap().checked, at(32));
}

async fn a_dead_replicas_claim_runs_out(db: TestDb) {
    let (a, b) = tokio::join!(db.open(), db.open());
    let names = hosts(10);
    let all = targets(&names);
    assert_eq!(a.claim_probes("a", &all, at(0), at(4)).await.unwrap().len(), 10);
    a.close().await;
    assert!(b.claim_probes("b", &all, at(3), at(7)).await.unwrap().is_empty());
    assert_eq!(b.claim_probes("b", &all, at(4), at(8)).await.unwrap(), names);
}

/// A replica that reaches a host another way (a new url or token) does not
/// trust the others' result for it: it takes the lease at once, and the
/// old result is gone for everyone.
async fn another_target_takes_the_lease_and_drops_the_result(db: TestDb) {
    let (a, b) = tokio::join!(db.open(), db.open());
    a.claim_probes("a", &[("h", "t1")], at(0), at(5)).await.unwrap();
    a.publish_probes("a", &[(up("h", at(1)), at(31))]).await.unwrap();
    assert_eq!(b.probe_results().await.unwrap().len(), 1);
    assert!(b.claim_probes("b", &[("h", "t1")], at(2), at(7)).await.unwrap().is_empty());
    assert_eq!(b.claim_probes("b", &[("h", "t2")], at(2), at(7)).await.unwrap(), ["h"]);
    assert!(a.probe_results().await.unwrap().is_empty(), "the old target's result is dropped");
    let moved = ProbeResult { target: "t2".to_owned(), ..up("h", at(3)) };
    assert_eq!(a.publish_probes("a", &[(moved.clone(), at(33))]).await.unwrap(), 0, "not a's lease");
    assert_eq!(b.publish_probes("b", &[(moved.clone(), at(33))]).await.unwrap(), 1);
    assert_eq!(a.probe_results().await.unwrap(), [moved]);
}
