//! `herd servers list|load|unload|logs HOST ...`: the stdio MCP servers of
//! a host's agent, managed through the hub.
//!
//! Each verb is one `remote_call` of the agent's own management tool
//! (`servers_list`, `servers_load`, `servers_unload`, `servers_logs`), so
//! the CLI, an MCP client and the hub see the same thing.

use crate::cli::{ClientArgs, ServersCommand, ServersLoadArgs};
use crate::commands::client::{call_tool, print_table};
use anyhow::bail;
use serde_json::{Map, Value, json};
use std::time::Duration;

pub(crate) async fn run(command: ServersCommand) -> anyhow::Result<()> {
    match command {
        ServersCommand::List { host, json, client } => {
            let result = remote(&client, &host, "servers_list", json!({}), None).await?;
            let servers = result["structuredContent"]["servers"].as_array().cloned().unwrap_or_default();
            if json {
                println!("{}", serde_json::to_string_pretty(&servers)?);
            } else {
                print_servers(&servers);
            }
            Ok(())
        }
        ServersCommand::Load(args) => load(*args).await,
        ServersCommand::Unload { host, name, client } => {
            let result = remote(&client, &host, "servers_unload", json!({ "name": name }), None).await?;
            print_text(&result);
            Ok(())
        }
        ServersCommand::Logs { host, name, lines, client } => {
            let result = remote(&client, &host, "servers_logs", json!({ "name": name, "lines": lines }), None).await?;
            for line in result["structuredContent"]["lines"].as_array().into_iter().flatten() {
                println!("{}", line.as_str().unwrap_or_default());
            }
            Ok(())
        }
    }
}

async fn load(args: ServersLoadArgs) -> anyhow::Result<()> {
    let mut spec = Map::new();
    spec.insert("name".into(), json!(args.name));
    let fields = [
        ("npx", args.npx),
        ("uvx", args.uvx),
        ("git", args.git),
        ("branch", args.branch),
        ("path", args.path),
        ("command", args.command),
        ("bin", args.bin),
    ];
    for (key, value) in fields {
        if let Some(value) = value {
            spec.insert(key.into(), json!(value));
        }
    }
    if !args.args.is_empty() {
        spec.insert("args".into(), json!(args.args));
    }
    let mut env = Map::new();
    for pair in &args.env {
        let Some((key, value)) = pair.split_once('=') else { bail!("--env wants KEY=VALUE, not {pair:?}") };
        env.insert(key.into(), json!(value));
    }
    if !env.is_empty() {
        spec.insert("env".into(), Value::Object(env));
    }
    if args.no_restart {
        spec.insert("restart".into(), json!("never"));
    }
    // An install may take minutes; the agent reports progress meanwhile.
    let wait = Duration::from_secs(660);
    let result = remote(&args.client, &args.host, "servers_load", Value::Object(spec), Some(wait)).await?;
    print_text(&result);
    if result["isError"].as_bool() == Some(true) {
        bail!("server {} did not start", args.name);
    }
    Ok(())
}

/// Calls an agent tool of `host` through the hub; fails on an error result.
async fn remote(
    client: &ClientArgs,
    host: &str,
    tool: &str,
    arguments: Value,
    wait: Option<Duration>,
) -> anyhow::Result<Value> {
    let params = json!({ "host": host, "tool": tool, "arguments": arguments });
    let result = call_tool(client, "remote_call", params, wait).await?;
    if result["isError"].as_bool() == Some(true) && tool != "servers_load" {
        let text: Vec<&str> =
            result["content"].as_array().into_iter().flatten().filter_map(|b| b["text"].as_str()).collect();
        bail!("{}", text.join("\n"));
    }
    Ok(result)
}

fn print_text(result: &Value) {
    for block in result["content"].as_array().into_iter().flatten() {
        if let Some(text) = block["text"].as_str() {
            println!("{text}");
        }
    }
}

fn print_servers(servers: &[Value]) {
    let mut rows = vec![["SERVER", "STATE", "PID", "RESTARTS", "SOURCE", "DETAIL"].map(String::from).to_vec()];
    for s in servers {
        let text = |k: &str| s.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
        let number = |k: &str| s.get(k).and_then(Value::as_u64).map_or("-".into(), |n| n.to_string());
        rows.push(vec![text("name"), text("state"), number("pid"), number("restarts"), text("source"), text("error")]);
    }
    print_table(&rows);
}
