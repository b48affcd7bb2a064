//! Servers loaded at run time survive an agent restart: a real `herd
//! agent` stopped with SIGTERM and started again on the same `HERD_HOME`
//! brings back what `servers_load` loaded (after its config's servers,
//! which win a name both use), and forgets what `servers_unload` removed.

#![allow(clippy::unwrap_used)]

mod support;

#[path = "support/client.rs"]
mod client;

use client::Client;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;
use support::{Deps, Herd, repo_root};

const TOKEN: &str = "kept-test-token";

async fn start(home: &Path, config: &Path) -> (Herd, Client) {
    let args = ["agent", "--config", config.to_str().unwrap(), "--listen", "127.0.0.1:0", "--token", TOKEN];
    let herd = Herd::start_with_env(&args, &[("HERD_HOME", home.to_str().unwrap())]).await;
    let client = Client::connect(&herd.url, Some(TOKEN)).await;
    (herd, client)
}

fn script() -> PathBuf {
    repo_root().join("crates/herd/tests/fixtures/stdio_server.py")
}

/// The Python fixture server, named `name`, with `MARK` in its environment.
fn fixture(name: &str, mark: &str) -> Value {
    json!({ "name": name, "command": Deps::load().python(), "args": [script()], "env": {"MARK": mark}, "wait": 60 })
}

/// [`fixture`] as a `[[servers]]` entry of the agent's config.
fn config_server(name: &str, mark: &str) -> String {
    let quote = |p: PathBuf| serde_json::to_string(&p).unwrap();
    let (python, script) = (quote(Deps::load().python()), quote(script()));
    format!("[[servers]]\nname = \"{name}\"\ncommand = {python}\nargs = [{script}]\nenv = {{ MARK = \"{mark}\" }}\n")
}

async fn listed(client: &Client) -> Vec<String> {
    let listed = client.call("servers_list", json!({})).await;
    let servers = listed["structuredContent"]["servers"].as_array().unwrap();
    servers.iter().map(|s| s["name"].as_str().unwrap().to_owned()).collect()
}

/// Waits until every server of `names` logged that it runs.
async fn wait_running(herd: &mut Herd, names: &[&str]) {
    let mut waiting: BTreeSet<&str> = names.iter().copied().collect();
    while !waiting.is_empty() {
        let running = herd.wait_for_log("server running", Duration::from_secs(60)).await;
        waiting.remove(running["server"].as_str().unwrap());
    }
}

async fn mark(client: &Client, server: &str) -> Value {
    let result = client.call(&format!("{server}__env"), json!({"name": "MARK"})).await;
    result["structuredContent"]["value"].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn loaded_servers_come_back_after_a_restart_until_unloaded() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let config = dir.path().join("agent.toml");
    std::fs::write(&config, "").unwrap();
    let (mut agent, client) = start(&home, &config).await;
    for name in ["kept", "shadowed"] {
        let loaded = client.call("servers_load", fixture(name, "loaded")).await;
        assert_eq!(loaded["structuredContent"]["server"]["state"], "running", "{loaded}");
    }
    assert!(agent.terminate(Duration::from_secs(30)).await.success());

    // The config now declares `shadowed` itself: the config's runs.
    std::fs::write(&config, config_server("shadowed", "config")).unwrap();
    let (mut agent, client) = start(&home, &config).await;
    assert_eq!(listed(&client).await, ["kept", "shadowed"]);
    wait_running(&mut agent, &["kept", "shadowed"]).await;
    assert_eq!(mark(&client, "kept").await, "loaded", "the loaded server came back as it was loaded");
    assert_eq!(mark(&client, "shadowed").await, "config", "the config's server wins its name");

    let unloaded = client.call("servers_unload", json!({"name": "kept"})).await;
    assert_eq!(unloaded["structuredContent"]["unloaded"], true, "{unloaded}");
    assert!(agent.terminate(Duration::from_secs(30)).await.success());

    let (_agent, client) = start(&home, &config).await;
    assert_eq!(listed(&client).await, ["shadowed"], "an unloaded server stays gone");
}
