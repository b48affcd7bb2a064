//! Audit retention: a real `herd hub` whose registry file says
//! `[audit] retention = "1d"` deletes older records in the background, as
//! soon as it starts, and keeps the rest.

#![allow(clippy::unwrap_used)]

mod support;

use herd_store::{AuditFilter, AuditRecord, Outcome, Store, Timestamp};
use serde_json::Value;
use std::time::Duration;
use support::Herd;

const DAY: Duration = Duration::from_secs(86_400);

#[tokio::test(flavor = "multi_thread")]
async fn the_hub_prunes_records_older_than_the_retention() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let store = Store::open(herd_store::default_path(&home).to_str().unwrap()).await.unwrap();
    let now = Timestamp::now();
    let aged = |days: u32, method: &str| AuditRecord::new(now.saturating_sub(DAY * days), method, Outcome::Ok);
    let records = [aged(3, "three days old"), aged(2, "two days old"), aged(0, "today")];
    store.append_audit(&records.iter().collect::<Vec<_>>()).await.unwrap();

    let config = dir.path().join("hosts.toml");
    let registry = "[audit]\nretention = \"1d\"\n\n[[hosts]]\nname = \"gone\"\nurl = \"http://127.0.0.1:9/mcp\"\n";
    std::fs::write(&config, registry).unwrap();
    let args = ["hub", "--config", config.to_str().unwrap(), "--insecure-no-auth", "--listen", "127.0.0.1:0"];
    let mut hub = Herd::start_with_env(&args, &[("HERD_HOME", home.to_str().unwrap())]).await;

    let pruned = logged(&mut hub, "pruned old audit records").await;
    assert_eq!((&pruned["deleted"], &pruned["retention_s"]), (&2.into(), &86_400.into()), "{pruned}");
    let kept = store.query_audit(&AuditFilter::default()).await.unwrap();
    assert_eq!(kept.iter().map(|r| r.method.as_str()).collect::<Vec<_>>(), ["today"]);
}

/// The fields of the log line `message`, logged already (the first round
/// may run before the hub serves) or within 30 s.
async fn logged(hub: &mut Herd, message: &str) -> Value {
    let seen = hub.stderr_text();
    let fields = seen.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()).map(|v| v["fields"].clone());
    match fields.into_iter().find(|f| f["message"] == message) {
        Some(found) => found,
        None => hub.wait_for_log(message, Duration::from_secs(30)).await,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_retention_stops_the_hub_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hosts.toml");
    std::fs::write(&config, "[audit]\nretention = \"ninety days\"\n").unwrap();
    let mut cmd = tokio::process::Command::new(support::herd_bin());
    cmd.args(["hub", "--config", config.to_str().unwrap(), "--insecure-no-auth", "--listen", "127.0.0.1:0"])
        .env("HERD_HOME", dir.path())
        .env_remove("HERD_TOKEN");
    let run = support::run_bounded(cmd, Duration::from_secs(60)).await;
    assert!(!run.status.success(), "{run:?}");
    assert!(run.stderr.contains("[audit]: retention") && run.stderr.contains("30d"), "{run:?}");
}
