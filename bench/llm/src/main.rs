//! Load for the LLM relay's benchmarks, against any OpenAI-compatible
//! endpoint: a provider directly, or the hub in front of it.
//!
//! `oha` measures requests per second well but cannot see inside a stream,
//! so this measures what the relay adds to one:
//!
//! - `bench-llm ttft URL MODEL --requests N`: N streaming chat completions
//!   one after another; prints the time to the first event (p50, p99) and
//!   the time per event after it, from the arrival of the first event to
//!   the last, divided by the gaps between them.
//! - `bench-llm streams URL MODEL --streams N`: N streaming chat
//!   completions at once, each held open until the provider's last token;
//!   prints how many were held to the end, the longest gap between two
//!   events of any stream (a stall shows here) and errors.
//!
//! The token, if any, comes from `BENCH_LLM_TOKEN`. Output is one JSON
//! object on stdout.

use anyhow::{Context as _, bail};
use futures_util::StreamExt as _;
use std::time::{Duration, Instant};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Args {
    mode: String,
    url: String,
    model: String,
    count: usize,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: bench-llm ttft|streams BASE_URL MODEL [--requests N | --streams N]";
    let mode = args.next().context(usage)?;
    let url = args.next().context(usage)?;
    let model = args.next().context(usage)?;
    let mut count = 100;
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--requests" | "--streams" => count = args.next().context(usage)?.parse()?,
            other => bail!("unknown argument {other:?}; {usage}"),
        }
    }
    if !matches!(mode.as_str(), "ttft" | "streams") {
        bail!("{usage}");
    }
    Ok(Args { mode, url, model, count })
}

/// The arrival times of one stream's events, from the request's start.
struct Timeline {
    events: Vec<Duration>,
}

/// Sends one streaming chat completion and records when each SSE event
/// arrives. Errors unless the stream ends with `[DONE]`.
async fn stream_once(client: &reqwest::Client, url: &str, model: &str) -> anyhow::Result<Timeline> {
    let body = serde_json::json!({
        "model": model,
        "stream": true,
        "messages": [{"role": "user", "content": "Say something."}],
    });
    let mut request = client
        .post(format!("{url}/chat/completions"))
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.to_string());
    if let Ok(token) = std::env::var("BENCH_LLM_TOKEN") {
        request = request.bearer_auth(token);
    }
    let started = Instant::now();
    let response = request.send().await?;
    let status = response.status();
    if !status.is_success() {
        bail!("HTTP {status}: {}", response.text().await.unwrap_or_default());
    }
    let mut events = Vec::new();
    let mut pending = Vec::new();
    let mut done = false;
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk: bytes::Bytes = chunk?;
        let at = started.elapsed();
        pending.extend_from_slice(&chunk);
        while let Some(end) = find(&pending, b"\n\n") {
            let event: Vec<u8> = pending.drain(..end + 2).collect();
            done |= find(&event, b"[DONE]").is_some();
            events.push(at);
        }
    }
    if !done {
        bail!("stream ended without [DONE] after {} events", events.len());
    }
    Ok(Timeline { events })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (q * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

async fn ttft(args: &Args, client: &reqwest::Client) -> anyhow::Result<serde_json::Value> {
    let mut firsts = Vec::with_capacity(args.count);
    let mut per_event = Vec::with_capacity(args.count);
    for _ in 0..args.count {
        let timeline = stream_once(client, &args.url, &args.model).await?;
        let (Some(first), Some(last)) = (timeline.events.first(), timeline.events.last()) else {
            bail!("a stream without events");
        };
        firsts.push(first.as_secs_f64() * 1e3);
        if timeline.events.len() > 1 {
            per_event.push((*last - *first).as_secs_f64() * 1e6 / (timeline.events.len() - 1) as f64);
        }
    }
    firsts.sort_by(f64::total_cmp);
    per_event.sort_by(f64::total_cmp);
    Ok(serde_json::json!({
        "requests": args.count,
        "ttft_ms_p50": percentile(&firsts, 0.5),
        "ttft_ms_p99": percentile(&firsts, 0.99),
        "per_event_us_p50": percentile(&per_event, 0.5),
    }))
}

async fn streams(args: &Args, client: &reqwest::Client) -> anyhow::Result<serde_json::Value> {
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..args.count {
        let (client, url, model) = (client.clone(), args.url.clone(), args.model.clone());
        tasks.spawn(async move { stream_once(&client, &url, &model).await });
    }
    let (mut held, mut errors, mut longest_gap, mut first_error) = (0usize, 0usize, Duration::ZERO, None);
    while let Some(joined) = tasks.join_next().await {
        match joined.context("a stream task panicked")? {
            Ok(timeline) => {
                held += 1;
                let gaps = timeline.events.windows(2).map(|w| w[1] - w[0]);
                longest_gap = longest_gap.max(gaps.max().unwrap_or_default());
            }
            Err(err) => {
                errors += 1;
                first_error.get_or_insert_with(|| format!("{err:#}"));
            }
        }
    }
    Ok(serde_json::json!({
        "streams": args.count,
        "held": held,
        "errors": errors,
        "first_error": first_error,
        "longest_gap_ms": longest_gap.as_secs_f64() * 1e3,
        "elapsed_s": started.elapsed().as_secs_f64(),
    }))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let client = reqwest::Client::builder()
        .tcp_nodelay(true)
        .http1_only()
        .connect_timeout(Duration::from_secs(10))
        .pool_max_idle_per_host(args.count.min(1024))
        .build()?;
    let report = match args.mode.as_str() {
        "ttft" => ttft(&args, &client).await?,
        _ => streams(&args, &client).await?,
    };
    println!("{report}");
    Ok(())
}
