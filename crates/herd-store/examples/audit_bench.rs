//! Sustained audit throughput with group commit: CONCURRENCY tasks each
//! append records one after another (waiting for each commit, as a request
//! would) for SECONDS, then the rate and the records per commit are printed.
//!
//! ```text
//! cargo run --release -p herd-store --example audit_bench -- [CONCURRENCY] [SECONDS] [DATABASE]
//! ```
//!
//! DATABASE defaults to a new SQLite file in a temporary directory; a
//! `postgres://` URL measures PostgreSQL instead.

use herd_store::{AuditConfig, AuditPath, AuditRecord, Outcome, Store, Timestamp};
use std::time::{Duration, Instant};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let concurrency: usize = args.next().map_or(Ok(64), |a| a.parse())?;
    let seconds: u64 = args.next().map_or(Ok(5), |a| a.parse())?;
    let dir = tempfile::tempdir()?;
    let target = args.next().unwrap_or_else(|| dir.path().join("herd.db").display().to_string());

    let store = Store::open(&target).await?;
    let writer = store.audit_writer(&AuditConfig::default());
    let start = Instant::now();
    let deadline = start + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..concurrency)
        .map(|i| {
            let writer = writer.clone();
            tokio::spawn(async move {
                let mut n = 0u64;
                while Instant::now() < deadline {
                    writer.append(record(i)).await?;
                    n += 1;
                }
                Ok::<u64, herd_store::StoreError>(n)
            })
        })
        .collect();
    let mut total = 0;
    for task in tasks {
        total += task.await??;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let stats = writer.stats();
    println!(
        "{:?} c={concurrency}: {total} records in {elapsed:.1} s = {:.0} rows/s, {} commits ({:.1} records/commit)",
        store.backend(),
        total as f64 / elapsed,
        stats.commits,
        stats.records as f64 / stats.commits.max(1) as f64,
    );
    Ok(())
}

fn record(i: usize) -> AuditRecord {
    let mut rec = AuditRecord::new(Timestamp::now(), "tools/call", Outcome::Ok);
    rec.user = Some(format!("user{}", i % 8));
    rec.token_id = Some("tok_0123456789ab".into());
    rec.client_name = Some("bench".into());
    rec.client_version = Some("1.0".into());
    rec.session = Some(format!("session-{i}"));
    rec.target = Some("remote_shell".into());
    rec.hosts = vec![format!("host{}", i % 16)];
    rec.path = Some(AuditPath::Agent);
    rec.duration_ms = 3;
    rec.set_args(br#"{"host":"host1","command":"uptime"}"#, false);
    rec
}
