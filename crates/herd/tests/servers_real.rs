//! The stdio MCP servers people actually run, supervised by a real agent
//! and reached through a real hub: `mcp-server-time` from PyPI (uvx, from
//! the agent's config) and `@modelcontextprotocol/server-everything` from
//! npm (npx, loaded at run time with `herd servers load`). Their tools are
//! called through the agent, through the hub's `remote_list_tools` and
//! `remote_call`, and listed by `herd servers list`.
//!
//! Installing needs the npm registry and PyPI (as `scripts/test-deps` does).

#![allow(clippy::unwrap_used)]

mod support;

#[path = "support/client.rs"]
mod client;

use client::{Client, text};
use serde_json::{Value, json};
use std::time::Duration;
use support::{Deps, Finished, Herd, herd_bin, run_bounded};
use tokio::process::Command;

const AGENT_TOKEN: &str = "real-agent-token";
const HUB_TOKEN: &str = "real-hub-token";

/// PATH with the test venv first, so the agent finds `uv`.
fn path_with_uv() -> String {
    let venv_bin = Deps::load().venv.join("bin");
    format!("{}:{}", venv_bin.display(), std::env::var("PATH").unwrap_or_default())
}

async fn verb(hub: &Herd, args: &[&str]) -> Finished {
    let mut cmd = Command::new(herd_bin());
    cmd.args(args).env("HERD_URL", &hub.url).env("HERD_TOKEN", HUB_TOKEN).env_remove("HERD_HOME");
    run_bounded(cmd, Duration::from_secs(300)).await
}

#[tokio::test(flavor = "multi_thread")]
async fn npm_and_pypi_servers_through_the_agent_and_the_hub() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("agent.toml");
    std::fs::write(&config, "[[servers]]\nname = \"time\"\nuvx = \"mcp-server-time\"\n").unwrap();
    let home = dir.path().join("home");
    let (config, home) = (config.to_str().unwrap(), home.to_str().unwrap());
    let path = path_with_uv();
    let args = ["agent", "--config", config, "--listen", "127.0.0.1:0", "--token", AGENT_TOKEN];
    let mut agent = Herd::start_with_env(&args, &[("HERD_HOME", home), ("PATH", &path)]).await;
    let running = agent.wait_for_log("server running", Duration::from_secs(240)).await;
    assert_eq!(running["server"], "time");

    // Through the agent.
    let direct = Client::connect(&agent.url, Some(AGENT_TOKEN)).await;
    let now = direct.call("time__get_current_time", json!({"timezone": "UTC"})).await;
    assert_ne!(now["isError"], true, "{now}");
    assert!(text(&now).contains("\"timezone\": \"UTC\""), "{}", text(&now));

    // Through a hub: load a second server with the CLI, then call both.
    let hosts = dir.path().join("hosts.toml");
    let host = format!("[[hosts]]\nname = \"box\"\nurl = \"{}\"\ntoken = \"{AGENT_TOKEN}\"\n", agent.url);
    std::fs::write(&hosts, host).unwrap();
    let hub_args = ["hub", "--config", hosts.to_str().unwrap(), "--listen", "127.0.0.1:0", "--token", HUB_TOKEN];
    let hub = Herd::start(&hub_args).await;
    let load = ["servers", "load", "box", "everything", "--npx", "@modelcontextprotocol/server-everything"];
    let loaded = verb(&hub, &load).await;
    assert!(loaded.status.success(), "{loaded:?}");
    assert!(loaded.stdout.contains("everything (npx @modelcontextprotocol/server-everything) running"), "{loaded:?}");

    let client = Client::connect(&hub.url, Some(HUB_TOKEN)).await;
    let listed = client.call("remote_list_tools", json!({"host": "box"})).await;
    let names: Vec<&str> =
        listed["structuredContent"]["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    for tool in ["time__get_current_time", "time__convert_time", "everything__echo", "servers_load"] {
        assert!(names.contains(&tool), "{tool} not in {names:?}");
    }
    let echoed = client
        .call("remote_call", json!({"host": "box", "tool": "everything__echo", "arguments": {"message": "hi"}}))
        .await;
    assert!(text(&echoed).contains("Echo: hi"), "{echoed}");
    let args = json!({"source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo"});
    let converted =
        client.call("remote_call", json!({"host": "box", "tool": "time__convert_time", "arguments": args})).await;
    assert!(text(&converted).contains("21:00"), "{}", text(&converted));

    // Resources and prompts of a server are reachable through the agent too.
    let resources = direct.request("resources/list", json!({})).await.unwrap();
    let uri = resources["resources"][0]["uri"].as_str().unwrap().to_owned();
    let read = direct.request("resources/read", json!({"uri": uri})).await.unwrap();
    assert_eq!(read["contents"][0]["uri"], uri, "{read}");
    let prompts = direct.request("prompts/list", json!({})).await.unwrap();
    let simple = prompts["prompts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["arguments"].as_array().is_none_or(|a| a.iter().all(|x| x["required"] != true)))
        .unwrap_or_else(|| panic!("no prompt without required arguments: {prompts}"));
    let name = simple["name"].as_str().unwrap();
    assert!(name.starts_with("everything__"), "{name}");
    let prompt = direct.request("prompts/get", json!({"name": name})).await.unwrap();
    assert!(prompt["messages"].as_array().is_some_and(|m| !m.is_empty()), "{prompt}");

    let list = verb(&hub, &["servers", "list", "box", "--json"]).await;
    assert!(list.status.success(), "{list:?}");
    let servers: Vec<Value> = serde_json::from_str(&list.stdout).unwrap();
    let states: Vec<(&str, &str)> =
        servers.iter().map(|s| (s["name"].as_str().unwrap(), s["state"].as_str().unwrap())).collect();
    assert_eq!(states, [("everything", "running"), ("time", "running")]);
    let logs = verb(&hub, &["servers", "logs", "box", "time"]).await;
    assert!(logs.stdout.contains("[herd] running: uv pip install"), "{logs:?}");
    let unload = verb(&hub, &["servers", "unload", "box", "everything"]).await;
    assert!(unload.status.success() && unload.stdout.contains("stopped and unloaded"), "{unload:?}");
    let table = verb(&hub, &["servers", "list", "box"]).await;
    assert!(table.stdout.starts_with("SERVER") && !table.stdout.contains("everything"), "{table:?}");
}
