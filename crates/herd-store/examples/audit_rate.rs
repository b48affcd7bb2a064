//! How many audit records a store commits per second, and what each costs
//! the process in CPU: `cargo run --release -p herd-store --example
//! audit_rate -- [CALLERS] [SECONDS] [normal|full]` (default 64 callers,
//! 3 s, the default durability) against a fresh SQLite file. Each caller
//! appends a record shaped like an agent's `read_file` call and waits for
//! its commit, as a request would.

#![allow(clippy::unwrap_used)]

use herd_store::{AuditConfig, AuditPath, AuditRecord, Durability, Outcome, Store, StoreOptions, Timestamp};
use std::time::{Duration, Instant};

fn cpu_seconds() -> f64 {
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF).unwrap();
    let secs = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
    secs(usage.user_time()) + secs(usage.system_time())
}

fn record(n: u64) -> AuditRecord {
    let mut r = AuditRecord::new(Timestamp::now(), "tools/call", Outcome::Ok);
    r.user = Some("bench".into());
    r.token_id = Some("tok_0123456789ab".into());
    r.client_name = Some("oha".into());
    r.client_address = Some("127.0.0.1:40000".into());
    r.session = Some(format!("session-{}", n % 64));
    r.target = Some("read_file".into());
    r.hosts = vec!["ws1".into()];
    r.path = Some(AuditPath::Agent);
    r.duration_ms = 1;
    r.args_sha256 = Some("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into());
    r.args_size = Some(42);
    r
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let callers: u64 = args.next().map_or(64, |a| a.parse().unwrap());
    let seconds: f64 = args.next().map_or(3.0, |a| a.parse().unwrap());
    let durability: Durability = args.next().map_or(Durability::default(), |a| a.parse().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions { durability, ..StoreOptions::default() };
    let store = Store::open_with(dir.path().join("herd.db").to_str().unwrap(), &options).await.unwrap();
    let writer = store.audit_writer(&AuditConfig::default());
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let (cpu0, t0) = (cpu_seconds(), Instant::now());
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..callers {
        let writer = writer.clone();
        tasks.spawn(async move {
            let mut n = c;
            while Instant::now() < deadline {
                writer.append(record(n)).await.unwrap();
                n += callers;
            }
        });
    }
    tasks.join_all().await;
    let (cpu, elapsed) = (cpu_seconds() - cpu0, t0.elapsed().as_secs_f64());
    let stats = writer.stats();
    println!(
        "{callers} callers, {elapsed:.1} s, {durability:?}: {:.0} records/s, {:.1} us CPU per record, {:.1} records per commit",
        stats.records as f64 / elapsed,
        cpu / stats.records as f64 * 1e6,
        stats.records as f64 / stats.commits.max(1) as f64
    );
}
