//! The hub's SSH fallback against a real sshd (started by the test on a
//! loopback port with its own keys): the same calls through the agent while
//! it runs and over ssh once it is down, for every fallback tool; hosts
//! reachable only by ssh; fan-out mixing both paths; and a stalled sshd
//! that fails its own calls within the cap while a healthy host keeps its
//! latency.

#![allow(clippy::unwrap_used)]

mod support;

#[path = "support/client.rs"]
mod client;
#[path = "../../herd-fleet/tests/support/sshd.rs"]
mod sshd;

use client::{Client, text};
use serde_json::{Value, json};
use sshd::Sshd;
use std::path::Path;
use std::time::Duration;
use support::Herd;
use tokio::time::Instant;

const HUB_TOKEN: &str = "hub-ssh-token";
const AGENT_TOKEN: &str = "agent-ssh-token";

async fn agent() -> Herd {
    Herd::start(&["agent", "--listen", "127.0.0.1:0", "--token", AGENT_TOKEN]).await
}

fn registry(sshd: &Sshd, hosts: &[String]) -> String {
    let head = format!(
        "[health]\nbudget = 1\nconnect_timeout = 0.5\n\n[ssh]\nconfig = \"{}\"\nconnect_timeout = 2\ncall_timeout = 5\n\n",
        sshd.config_file().display()
    );
    [head, hosts.concat()].concat()
}

fn host(name: &str, url: Option<&str>, ssh: Option<&str>) -> String {
    let mut entry = format!("[[hosts]]\nname = \"{name}\"\ntoken = \"{AGENT_TOKEN}\"\n");
    if let Some(url) = url {
        entry.push_str(&format!("url = \"{url}\"\n"));
    }
    if let Some(ssh) = ssh {
        entry.push_str(&format!("ssh = \"{ssh}\"\n"));
    }
    entry
}

async fn hub(dir: &Path, text: &str) -> Herd {
    let config = dir.join("hosts.toml");
    std::fs::write(&config, text).unwrap();
    let config = config.to_str().unwrap();
    Herd::start(&["hub", "--config", config, "--listen", "127.0.0.1:0", "--token", HUB_TOKEN]).await
}

fn structured(result: &Value) -> &Value {
    &result["structuredContent"]
}

/// Runs every fallback tool on `host` and checks the results and the path.
async fn every_fallback_tool(client: &Client, host: &str, dir: &Path, via: &str) {
    let file = dir.join(format!("{host}-{via}.txt"));
    let served = |r: &Value| structured(r)["via"].as_str().map(str::to_owned);

    let wrote = client.call("remote_write_file", json!({ "host": host, "path": file, "content": "one\ntwo\n" })).await;
    assert_eq!(served(&wrote).as_deref(), Some(via), "{wrote}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "one\ntwo\n");

    let read = client.call("remote_read_file", json!({ "host": host, "path": file, "offset": 2 })).await;
    assert_eq!(served(&read).as_deref(), Some(via), "{read}");
    assert!(text(&read).contains("two") && !text(&read).contains("one"), "{read}");

    let edit = json!({ "host": host, "path": file, "old_string": "two", "new_string": "deux" });
    let edited = client.call("remote_edit_file", edit).await;
    assert_eq!(served(&edited).as_deref(), Some(via), "{edited}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "one\ndeux\n");
    let missing = json!({ "host": host, "path": file, "old_string": "absent", "new_string": "x" });
    let refused = client.call("remote_edit_file", missing).await;
    assert_eq!(refused["isError"], true, "{refused}");

    let listed = client.call("remote_list_dir", json!({ "host": host, "path": dir })).await;
    assert_eq!(served(&listed).as_deref(), Some(via), "{listed}");
    assert!(text(&listed).contains(&format!("{host}-{via}.txt")), "{listed}");

    let found = client.call("remote_search_files", json!({ "host": host, "path": dir, "pattern": "*.txt" })).await;
    assert_eq!(served(&found).as_deref(), Some(via), "{found}");
    assert!(text(&found).contains(&format!("{host}-{via}.txt")), "{found}");

    let ran = client.call("remote_shell", json!({ "host": host, "command": "echo $((6*7)); exit 4" })).await;
    assert_eq!(served(&ran).as_deref(), Some(via), "{ran}");
    assert_eq!((structured(&ran)["stdout"].as_str(), structured(&ran)["exit_code"].as_i64()), (Some("42\n"), Some(4)));
    assert!(text(&ran).contains(&format!("[{host} via {via}")), "{ran}");
}

#[tokio::test(flavor = "multi_thread")]
async fn calls_fall_back_to_ssh_when_the_agent_is_down() {
    let sshd = Sshd::start();
    let work = tempfile::tempdir().unwrap();
    let mut box_agent = agent().await;
    let other = agent().await;
    let hosts = [
        host("box", Some(&box_agent.url), Some(sshd.alias())),
        host("sshonly", None, Some(&sshd.other_alias())),
        host("other", Some(&other.url), None),
    ];
    let hub = hub(work.path(), &registry(&sshd, &hosts)).await;
    let client = Client::connect(&hub.url, Some(HUB_TOKEN)).await;

    every_fallback_tool(&client, "box", work.path(), "agent").await;
    every_fallback_tool(&client, "sshonly", work.path(), "ssh").await;

    // The agent dies: the same calls are served over ssh, saying why.
    box_agent.kill().await;
    let first = client.call("remote_shell", json!({ "host": "box", "command": "echo hi" })).await;
    assert_eq!(structured(&first)["via"], "ssh", "{first}");
    assert!(text(&first).contains("[box via ssh; agent: "), "{first}");
    every_fallback_tool(&client, "box", work.path(), "ssh").await;
    let bg = client.call("remote_shell_bg", json!({ "host": "box", "command": "true" })).await;
    assert_eq!(bg["isError"], true, "{bg}");
    assert!(text(&bg).contains("ssh: shell_bg is not available over ssh"), "{bg}");

    let listed = client.call("remote_list_hosts", json!({})).await;
    let state = |n: &str| {
        structured(&listed)["hosts"].as_array().unwrap().iter().find(|h| h["name"] == n).unwrap()["state"].clone()
    };
    assert_eq!((state("box"), state("other")), (json!("down"), json!("up")), "{listed}");

    // Fan-out mixes the paths, one result per host.
    let many =
        client.call("remote_shell_many", json!({ "hosts": ["box", "other", "sshonly"], "command": "echo ok" })).await;
    let paths: Vec<(&str, &str)> = structured(&many)["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["host"].as_str().unwrap(), r["via"].as_str().unwrap()))
        .collect();
    assert_eq!(paths, [("box", "ssh"), ("sshonly", "ssh"), ("other", "agent")], "{many}");
    assert_eq!(structured(&many)["succeeded"], 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_sshd_fails_its_calls_in_time_and_slows_nobody() {
    let sshd = Sshd::start();
    let stalled = Sshd::start();
    let work = tempfile::tempdir().unwrap();
    let healthy = agent().await;
    // One client config (the hub has one -F) reaching both servers: an alias
    // for the stalled one, with its key and its host key added.
    sshd.add_alias("stalled-sshd", stalled.port());
    std::fs::copy(stalled.dir().join("client_key"), sshd.dir().join("stalled_key")).unwrap();
    let mut known = std::fs::read_to_string(sshd.dir().join("known_hosts")).unwrap();
    known.push_str(&std::fs::read_to_string(stalled.dir().join("known_hosts")).unwrap());
    std::fs::write(sshd.dir().join("known_hosts"), known).unwrap();
    let config = std::fs::read_to_string(sshd.config_file()).unwrap();
    let tail = config.rsplit_once("Host stalled-sshd").unwrap().1.replace("client_key", "stalled_key");
    let head = config.rsplit_once("Host stalled-sshd").unwrap().0;
    std::fs::write(sshd.config_file(), format!("{head}Host stalled-sshd{tail}")).unwrap();

    let hosts = [host("healthy", Some(&healthy.url), None), host("stalled", None, Some("stalled-sshd"))];
    let hub = hub(work.path(), &registry(&sshd, &hosts)).await;
    let client = std::sync::Arc::new(Client::connect(&hub.url, Some(HUB_TOKEN)).await);

    // Warm: the stalled host works before it stalls (proves the config).
    let warm = client.call("remote_list_dir", json!({ "host": "stalled", "path": "/" })).await;
    assert_eq!(structured(&warm)["via"], "ssh", "{warm}");

    let file = work.path().join("f");
    std::fs::write(&file, "x").unwrap();
    let median = |client: std::sync::Arc<Client>| {
        let file = file.clone();
        async move {
            let mut times = Vec::new();
            for _ in 0..20 {
                let started = Instant::now();
                let r = client.call("remote_read_file", json!({ "host": "healthy", "path": file })).await;
                assert_ne!(r["isError"], true, "{r}");
                times.push(started.elapsed());
            }
            times.sort();
            times[10]
        }
    };
    let baseline = median(client.clone()).await;

    stalled.signal("STOP");
    let mut pending = Vec::new();
    for _ in 0..4 {
        let c = client.clone();
        pending.push(tokio::spawn(async move {
            let started = Instant::now();
            let r = c.call("remote_read_file", json!({ "host": "stalled", "path": "/etc/hostname" })).await;
            (r, started.elapsed())
        }));
    }
    let loaded = median(client.clone()).await;
    assert!(loaded < (baseline * 10).max(Duration::from_millis(250)), "{loaded:?} vs baseline {baseline:?}");
    for task in pending {
        let (result, elapsed) = task.await.unwrap();
        assert_eq!(result["isError"], true, "{result}");
        assert!(text(&result).starts_with("stalled: agent: no agent url configured; ssh: "), "{result}");
        assert!(elapsed < Duration::from_secs(15), "took {elapsed:?}: {result}");
    }
    stalled.signal("CONT");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reload_that_changes_the_ssh_settings_takes_effect() {
    let sshd = Sshd::start();
    let work = tempfile::tempdir().unwrap();
    let hosts = [host("sshonly", None, Some(&sshd.other_alias()))];
    // Without the ssh_config that defines the alias, ssh cannot resolve it.
    let without =
        "[health]\nbudget = 1\n\n[ssh]\nconnect_timeout = 2\ncall_timeout = 5\n\n".to_owned() + &hosts.concat();
    let mut hub = hub(work.path(), &without).await;
    let client = Client::connect(&hub.url, Some(HUB_TOKEN)).await;
    let failed = client.call("remote_shell", json!({ "host": "sshonly", "command": "echo hi" })).await;
    assert_eq!(failed["isError"], true, "{failed}");

    std::fs::write(work.path().join("hosts.toml"), registry(&sshd, &hosts)).unwrap();
    let _ = hub.wait_for_log("registry reloaded", Duration::from_secs(20)).await;
    let served = client.call("remote_shell", json!({ "host": "sshonly", "command": "echo hi" })).await;
    assert_eq!(structured(&served)["via"], "ssh", "{served}");
    assert_eq!(structured(&served)["stdout"], "hi\n", "{served}");
}
