//! `herd hub` in front of real agents: health listing, calls routed to the
//! right host, fan-out, clear errors for dead hosts (refusing, blackholed),
//! latency of healthy hosts unaffected by dead or hanging ones, registry
//! reload without losing the client's session, first-class exposure, and
//! the client verbs (`herd hosts`, `herd exec`, `herd call`) against it.

#![allow(clippy::unwrap_used)]

mod support;

#[path = "support/client.rs"]
mod client;

use client::{Client, text};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;
use support::{Finished, Herd, herd_bin, run_bounded};
use tokio::process::Command;
use tokio::time::Instant;

const HUB_TOKEN: &str = "hub-test-token";
const AGENT_TOKEN: &str = "agent-test-token";

async fn agent() -> Herd {
    Herd::start(&["agent", "--listen", "127.0.0.1:0", "--token", AGENT_TOKEN]).await
}

async fn hub(config: &Path) -> Herd {
    let config = config.to_str().unwrap();
    Herd::start(&["hub", "--config", config, "--listen", "127.0.0.1:0", "--token", HUB_TOKEN]).await
}

/// A loopback port nothing listens on.
fn refusing_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}/mcp", listener.local_addr().unwrap())
}

/// A listener that completes TCP handshakes and never answers (half-open).
fn blackhole() -> (std::net::TcpListener, String) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    (listener, url)
}

fn host(name: &str, url: &str, tags: &[&str]) -> String {
    format!("[[hosts]]\nname = \"{name}\"\nurl = \"{url}\"\ntoken = \"{AGENT_TOKEN}\"\ntags = {tags:?}\n")
}

/// A short probe budget keeps the dead hosts' cost visible but small.
const HEALTH: &str = "[health]\nbudget = 1\nconnect_timeout = 0.5\n";

async fn verb(hub: &Herd, args: &[&str]) -> Finished {
    let mut cmd = Command::new(herd_bin());
    cmd.args(args).env("HERD_URL", &hub.url).env("HERD_TOKEN", HUB_TOKEN).env_remove("HERD_HOME");
    run_bounded(cmd, Duration::from_secs(60)).await
}

fn structured(result: &Value) -> &Value {
    &result["structuredContent"]
}

#[tokio::test(flavor = "multi_thread")]
async fn hub_lists_health_and_routes_calls_to_the_right_agent() {
    let (a, b) = (agent().await, agent().await);
    let (_hole, hole_url) = blackhole();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hosts.toml");
    let registry = [
        HEALTH.to_owned(),
        host("alpha", &a.url, &["web"]),
        host("beta", &b.url, &["web", "db"]),
        host("refused", &refusing_url(), &[]),
        host("blackholed", &hole_url, &[]),
    ];
    std::fs::write(&config, registry.concat()).unwrap();
    let hub = hub(&config).await;

    let listed = verb(&hub, &["hosts", "--json"]).await;
    assert!(listed.status.success(), "{listed:?}");
    let hosts: Vec<Value> = serde_json::from_str(&listed.stdout).unwrap();
    let state = |name: &str| hosts.iter().find(|h| h["name"] == name).unwrap()["state"].as_str().unwrap().to_owned();
    assert_eq!([state("alpha"), state("beta"), state("refused"), state("blackholed")], ["up", "up", "down", "down"]);
    let table = verb(&hub, &["hosts"]).await;
    assert!(table.stdout.starts_with("HOST") && table.stdout.contains("blackholed"), "{table:?}");

    // Each call lands on the host it names: each agent writes its own file.
    let file = dir.path().join("who");
    let client = Client::connect(&hub.url, Some(HUB_TOKEN)).await;
    for name in ["alpha", "beta"] {
        let command = format!("echo {name} > {}", file.display());
        let result = client.call("remote_shell", json!({ "host": name, "command": command })).await;
        assert_eq!(structured(&result)["exit_code"], 0, "{result}");
        assert_eq!(
            (structured(&result)["host"].as_str(), structured(&result)["via"].as_str()),
            (Some(name), Some("agent"))
        );
        assert!(text(&result).ends_with(&format!("[{name} via agent]")), "{result}");
        let read = client.call("remote_read_file", json!({ "host": name, "path": file })).await;
        assert!(text(&read).contains(name), "{read}");
    }

    // Fan-out by tag, one result per host, in registry order.
    let many = client.call("remote_shell_many", json!({ "tags": ["web"], "command": "echo fan-$((40+2))" })).await;
    let results = structured(&many)["results"].as_array().unwrap().clone();
    let hosts_run: Vec<&str> = results.iter().map(|r| r["host"].as_str().unwrap()).collect();
    assert_eq!(hosts_run, ["alpha", "beta"]);
    assert!(results.iter().all(|r| r["stdout"] == "fan-42\n" && r["exit_code"] == 0), "{many}");
    assert_eq!((structured(&many)["succeeded"].as_u64(), structured(&many)["failed"].as_u64()), (Some(2), Some(0)));

    // remote_list_tools and remote_call reach any agent tool.
    let tools = client.call("remote_list_tools", json!({ "host": "beta" })).await;
    let names: Vec<&str> =
        structured(&tools)["tools"].as_array().unwrap().iter().filter_map(|t| t["name"].as_str()).collect();
    assert!(names.contains(&"search_files") && names.contains(&"shell_bg"), "{names:?}");
    let listing = client
        .call("remote_call", json!({ "host": "beta", "tool": "list_dir", "arguments": { "path": dir.path() } }))
        .await;
    assert!(text(&listing).contains("who") && text(&listing).ends_with("[beta via agent]"), "{listing}");

    // Dead hosts: a clear error naming the host and each path's failure.
    for name in ["refused", "blackholed"] {
        let started = Instant::now();
        let failed = client.call("remote_shell", json!({ "host": name, "command": "true" })).await;
        assert_eq!(failed["isError"], true, "{failed}");
        let message = text(&failed);
        assert!(
            message.starts_with(&format!("{name}: agent: ")) && message.contains("ssh: no ssh destination"),
            "{message}"
        );
        assert!(started.elapsed() < Duration::from_secs(10), "{name} took {:?}", started.elapsed());
    }
    let unknown = client.call("remote_read_file", json!({ "host": "nope", "path": "/" })).await;
    assert!(text(&unknown).contains("unknown host \"nope\""), "{unknown}");

    // The client verbs.
    let exec = verb(&hub, &["exec", "alpha,@db", "--", "echo", "via-cli"]).await;
    assert!(exec.status.success(), "{exec:?}");
    assert!(
        exec.stdout.contains("== alpha (agent) exit 0 ==\nvia-cli")
            && exec.stdout.contains("== beta (agent) exit 0 =="),
        "{exec:?}"
    );
    let failing = verb(&hub, &["exec", "alpha", "--", "exit 3"]).await;
    assert!(!failing.status.success() && failing.stdout.contains("exit 3"), "{failing:?}");
    let call = verb(&hub, &["call", "alpha", "read_file", "--json", &json!({ "path": file }).to_string()]).await;
    assert!(call.status.success() && call.stdout.contains("beta"), "{call:?}");
    let bad = verb(&hub, &["call", "alpha", "read_file", "--json", "[1]"]).await;
    assert!(!bad.status.success() && bad.stderr.contains("JSON object"), "{bad:?}");
}

/// Median of `n` sequential `remote_read_file` calls to `host`.
async fn median_call(client: &Client, host: &str, path: &Path, n: usize) -> Duration {
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        let result = client.call("remote_read_file", json!({ "host": host, "path": path })).await;
        assert_ne!(result["isError"], true, "{result}");
        times.push(started.elapsed());
    }
    times.sort();
    times[n / 2]
}

#[tokio::test(flavor = "multi_thread")]
async fn dead_and_hanging_hosts_do_not_slow_healthy_ones() {
    let (healthy, hanging) = (agent().await, agent().await);
    let (_hole, hole_url) = blackhole();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("small");
    std::fs::write(&file, "x".repeat(1024)).unwrap();
    let config = dir.path().join("hosts.toml");
    let registry = [
        HEALTH.to_owned(),
        host("healthy", &healthy.url, &[]),
        host("hanging", &hanging.url, &[]),
        host("refused", &refusing_url(), &[]),
        host("blackholed", &hole_url, &[]),
    ];
    std::fs::write(&config, registry.concat()).unwrap();
    let hub = hub(&config).await;
    let client = std::sync::Arc::new(Client::connect(&hub.url, Some(HUB_TOKEN)).await);

    let baseline = median_call(&client, "healthy", &file, 30).await;

    // Load: calls that never finish (a tool that hangs) and calls to dead
    // hosts, all in flight while the healthy host is measured again.
    let mut load = Vec::new();
    for _ in 0..8 {
        let calls = [
            ("remote_shell", json!({ "host": "hanging", "command": "sleep 30", "timeout": 2 })),
            ("remote_list_dir", json!({ "host": "refused", "path": "/" })),
            ("remote_list_dir", json!({ "host": "blackholed", "path": "/" })),
        ];
        for (tool, arguments) in calls {
            let c = client.clone();
            load.push(tokio::spawn(async move {
                let started = Instant::now();
                let result = c.call(tool, arguments).await;
                (result, started.elapsed())
            }));
        }
    }
    let loaded = median_call(&client, "healthy", &file, 30).await;
    let bound = (baseline * 10).max(Duration::from_millis(250));
    assert!(loaded < bound, "healthy host slowed under load: {loaded:?} vs baseline {baseline:?}");

    for task in load {
        let (result, elapsed) = task.await.unwrap();
        assert_eq!(result["isError"], true, "{result}");
        let message = text(&result);
        assert!(elapsed < Duration::from_secs(4), "a failing call took {elapsed:?}: {message}");
        let dead = ["refused: agent: ", "blackholed: agent: "].iter().any(|h| message.starts_with(h));
        let killed = message.contains("timed out") && message.ends_with("[hanging via agent]");
        assert!(dead || killed, "{message}");
    }
}

fn write_atomically(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn registry_reloads_on_change_and_sighup_without_dropping_sessions() {
    let (a, g) = (agent().await, agent().await);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hosts.toml");
    write_atomically(&config, &[HEALTH.to_owned(), host("alpha", &a.url, &[])].concat());
    let mut hub = hub(&config).await;
    let client = Client::connect(&hub.url, Some(HUB_TOKEN)).await;
    let missing = client.call("remote_shell", json!({ "host": "gamma", "command": "true" })).await;
    assert!(text(&missing).contains("unknown host \"gamma\""), "{missing}");

    // The file changes: the same session sees the new host.
    write_atomically(&config, &[HEALTH.to_owned(), host("alpha", &a.url, &[]), host("gamma", &g.url, &[])].concat());
    let reloaded = hub.wait_for_log("registry reloaded", Duration::from_secs(20)).await;
    assert_eq!(reloaded["hosts"], 2);
    let listed = client.call("remote_list_hosts", json!({})).await;
    let names: Vec<&str> =
        structured(&listed)["hosts"].as_array().unwrap().iter().map(|h| h["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["alpha", "gamma"]);
    let ran = client.call("remote_shell", json!({ "host": "gamma", "command": "echo hi" })).await;
    assert_eq!(structured(&ran)["stdout"], "hi\n", "{ran}");

    // A broken file is refused and the registry in force stays.
    write_atomically(&config, "[[hosts]]\nname = \"bad name\"\n");
    let refused = hub.wait_for_log("registry not reloaded; keeping the one in force", Duration::from_secs(20)).await;
    assert!(refused["err"].as_str().unwrap().contains("invalid host name"), "{refused}");
    let still = client.call("remote_shell", json!({ "host": "gamma", "command": "echo still" })).await;
    assert_eq!(structured(&still)["stdout"], "still\n", "{still}");

    // SIGHUP reloads too (the fixed file this time).
    std::fs::write(&config, [HEALTH.to_owned(), host("alpha", &a.url, &[])].concat()).unwrap();
    let _ = hub.wait_for_log("registry reloaded", Duration::from_secs(20)).await;
    let status = std::process::Command::new("kill").args(["-HUP", &hub.pid().to_string()]).status().unwrap();
    assert!(status.success());
    let _ = hub.wait_for_log("SIGHUP: reloading the registry", Duration::from_secs(20)).await;
    let again = hub.wait_for_log("registry reloaded", Duration::from_secs(20)).await;
    assert_eq!(again["hosts"], 1);
    assert_eq!(client.tool_names().await.len(), 11, "the session survived every reload");
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_calls_per_host_and_path_behind_the_token() {
    let a = agent().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hosts.toml");
    std::fs::write(&config, [HEALTH.to_owned(), host("alpha", &a.url, &[])].concat()).unwrap();
    let hub = hub(&config).await;
    let client = Client::connect(&hub.url, Some(HUB_TOKEN)).await;
    for _ in 0..3 {
        client.call("remote_list_dir", json!({ "host": "alpha", "path": "/" })).await;
    }
    let (status, _) = support::http_get(&hub.url, "/metrics", None).await;
    assert_eq!(status, 401);
    let (status, body) = support::http_get(&hub.url, "/metrics", Some(HUB_TOKEN)).await;
    assert_eq!(status, 200, "{body}");
    let calls = body.lines().find(|l| l.starts_with("herd_calls_total{") && l.contains("host=\"alpha\"")).unwrap();
    assert!(calls.contains("path=\"agent\"") && calls.contains("outcome=\"ok\"") && calls.ends_with(" 3"), "{calls}");
    assert!(body.contains("herd_call_duration_seconds_bucket{host=\"alpha\",path=\"agent\",le=\"0.5\"} 3"), "{body}");
    assert!(body.contains("herd_host_up{host=\"alpha\"} 1"), "{body}");
}
