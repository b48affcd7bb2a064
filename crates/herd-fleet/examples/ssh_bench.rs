//! Latency of the SSH fallback: cold calls (a fresh pool, so the connect is
//! included) and warm calls (one reused connection), for `shell true` and
//! `read_file`, as p50/p99. A baseline row runs `true` on a bare channel of
//! a reused connection (no tool script), which is what the host's sshd and
//! login shell cost per call regardless of herd.
//!
//! ```text
//! cargo run --release -p herd-fleet --example ssh_bench -- -F ssh_config host [-n 200] [--cold 20] [--file /etc/hostname]
//! ```
//!
//! The destination must be reachable without prompts (keys, known host).

use herd_fleet::{SshConfig, SshPool};
use serde_json::{Map, Value, json};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

struct Opts {
    config: Option<PathBuf>,
    dest: String,
    warm: usize,
    cold: usize,
    file: String,
}

fn parse() -> Result<Opts, String> {
    let mut opts = Opts { config: None, dest: String::new(), warm: 200, cold: 20, file: "/etc/hostname".into() };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "-F" => opts.config = Some(PathBuf::from(value("-F")?)),
            "-n" => opts.warm = value("-n")?.parse().map_err(|e| format!("-n: {e}"))?,
            "--cold" => opts.cold = value("--cold")?.parse().map_err(|e| format!("--cold: {e}"))?,
            "--file" => opts.file = value("--file")?,
            "-h" | "--help" => return Err(String::new()),
            dest if !dest.starts_with('-') && opts.dest.is_empty() => opts.dest = dest.to_owned(),
            other => return Err(format!("unexpected argument {other}")),
        }
    }
    if opts.dest.is_empty() {
        return Err("no destination given".into());
    }
    Ok(opts)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.saturating_sub(1).min(sorted.len().saturating_sub(1))).copied().unwrap_or_default()
}

fn report(label: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{label:<22} n={:<4} p50={:>8.2} ms  p99={:>8.2} ms",
        samples.len(),
        ms(percentile(&samples, 50.0)),
        ms(percentile(&samples, 99.0))
    );
}

async fn timed(pool: &SshPool, dest: &str, tool: &str, args: &Map<String, Value>) -> Result<Duration, String> {
    let started = Instant::now();
    let result = pool.call_tool(dest, tool, args).await.map_err(|e| e.to_string())?;
    if result["isError"] == true {
        return Err(format!("{tool}: {}", result["content"][0]["text"]));
    }
    Ok(started.elapsed())
}

/// `true` on a bare channel of one reused connection.
async fn baseline(opts: &Opts) -> Result<(), String> {
    let mut builder = openssh::SessionBuilder::default();
    if let Some(config) = &opts.config {
        builder.config_file(config);
    }
    builder.known_hosts_check(openssh::KnownHosts::Strict);
    let session = builder.connect_mux(&opts.dest).await.map_err(|e| format!("baseline connect: {e}"))?;
    let mut samples = Vec::with_capacity(opts.warm);
    for _ in 0..opts.warm {
        let started = Instant::now();
        session.command("true").status().await.map_err(|e| format!("baseline: {e}"))?;
        samples.push(started.elapsed());
    }
    report("bare channel (true)", samples);
    session.close().await.map_err(|e| format!("baseline close: {e}"))
}

async fn run(opts: Opts) -> Result<(), String> {
    baseline(&opts).await?;
    let config = SshConfig { config_file: opts.config.clone(), ..SshConfig::default() };
    let calls = [("shell", json!({"command": "true"})), ("read_file", json!({"path": opts.file}))];
    for (tool, args) in &calls {
        let args = args.as_object().cloned().unwrap_or_default();
        let mut cold = Vec::with_capacity(opts.cold);
        for _ in 0..opts.cold {
            let pool = SshPool::new(config.clone());
            cold.push(timed(&pool, &opts.dest, tool, &args).await?);
        }
        report(&format!("{tool} cold"), cold);
        let pool = SshPool::new(config.clone());
        timed(&pool, &opts.dest, tool, &args).await?;
        let mut warm = Vec::with_capacity(opts.warm);
        for _ in 0..opts.warm {
            warm.push(timed(&pool, &opts.dest, tool, &args).await?);
        }
        report(&format!("{tool} warm"), warm);
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let opts = match parse() {
        Ok(opts) => opts,
        Err(why) => {
            if !why.is_empty() {
                eprintln!("ssh_bench: {why}");
            }
            eprintln!("usage: ssh_bench [-F ssh_config] DEST [-n WARM_CALLS] [--cold COLD_CALLS] [--file PATH]");
            return ExitCode::from(2);
        }
    };
    match run(opts).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ssh_bench: {e}");
            ExitCode::FAILURE
        }
    }
}
