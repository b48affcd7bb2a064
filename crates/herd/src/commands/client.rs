//! Client verbs against a hub: `herd hosts`, `herd exec`, `herd call`
//! (and the helpers `herd servers` shares).
//!
//! Each opens an MCP session to the hub (`--url`/`HERD_URL`, token from
//! `--token`/`HERD_TOKEN` or the one `herd up` stored), calls one hub tool
//! and prints a table or the tool's text (JSON with `--json`). Errors go to
//! stderr with a non-zero exit; a command that failed on some host makes
//! `exec` exit 1.

use crate::cli::{CallArgs, ClientArgs, ExecArgs, HostsArgs};
use anyhow::{Context as _, bail};
use herd_proto::{Message, method};
use herd_upstream::{HttpUpstream, HttpUpstreamConfig, Upstream};
use serde_json::{Value, json};
use std::io::IsTerminal as _;
use std::time::Duration;
use tokio::sync::mpsc;

/// Longest a verb waits for the hub beyond the work's own timeout.
const MARGIN: Duration = Duration::from_secs(60);

pub(crate) async fn hosts(args: HostsArgs) -> anyhow::Result<()> {
    let result = call_tool(&args.client, "remote_list_hosts", json!({ "force": args.force }), None).await?;
    let hosts = result["structuredContent"]["hosts"].as_array().cloned().unwrap_or_default();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&hosts)?);
        return Ok(());
    }
    let mut rows = vec![["HOST", "STATE", "PATHS", "TAGS", "CHECKED", "DETAIL"].map(String::from).to_vec()];
    for h in &hosts {
        let text = |k: &str| h.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
        let paths = match (h.get("url").is_some(), h.get("ssh").is_some()) {
            (true, true) => "agent,ssh",
            (true, false) => "agent",
            _ => "ssh",
        };
        let tags: Vec<&str> = h["tags"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        let checked = h.get("checked_s_ago").and_then(Value::as_f64).map_or("-".into(), |s| format!("{s:.0}s ago"));
        let detail = match h.get("tools").and_then(Value::as_u64) {
            Some(n) => format!("{n} tools"),
            None => text("error"),
        };
        rows.push(vec![text("name"), text("state"), paths.into(), tags.join(","), checked, detail]);
    }
    print_table(&rows);
    Ok(())
}

pub(crate) async fn exec(args: ExecArgs) -> anyhow::Result<()> {
    let (mut hosts, mut tags) = (Vec::new(), Vec::new());
    for part in args.hosts.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.strip_prefix('@') {
            Some(tag) => tags.push(tag.to_owned()),
            None => hosts.push(part.to_owned()),
        }
    }
    if hosts.is_empty() && tags.is_empty() {
        bail!("name at least one host (or @tag)");
    }
    let mut arguments = json!({ "hosts": hosts, "tags": tags, "command": args.command.join(" ") });
    if let Some(t) = args.timeout {
        arguments["timeout"] = json!(t);
    }
    let wait = Duration::try_from_secs_f64(args.timeout.unwrap_or(120.0)).unwrap_or(Duration::from_secs(120)) + MARGIN;
    let result = call_tool(&args.client, "remote_shell_many", arguments, Some(wait)).await?;
    let structured = &result["structuredContent"];
    if args.json {
        println!("{}", serde_json::to_string_pretty(structured)?);
    } else {
        for r in structured["results"].as_array().into_iter().flatten() {
            print_host_result(r);
        }
    }
    let failed = structured["failed"].as_u64().unwrap_or(0);
    if failed > 0 {
        bail!("{failed} host(s) failed or exited non-zero");
    }
    Ok(())
}

pub(crate) async fn call(args: CallArgs) -> anyhow::Result<()> {
    let arguments: Value = serde_json::from_str(&args.arguments).context("--json must be a JSON object")?;
    if !arguments.is_object() {
        bail!("--json must be a JSON object, not {arguments}");
    }
    let params = json!({ "host": args.host, "tool": args.tool, "arguments": arguments });
    let result = call_tool(&args.client, "remote_call", params, None).await?;
    if args.raw {
        println!("{}", serde_json::to_string_pretty(&result)?);
    } else {
        for block in result["content"].as_array().into_iter().flatten() {
            match block.get("text").and_then(Value::as_str) {
                Some(text) => println!("{text}"),
                None => println!("{block}"),
            }
        }
    }
    if result["isError"].as_bool() == Some(true) {
        bail!("the tool reported an error");
    }
    Ok(())
}

/// Calls hub tool `name`, printing progress on a terminal; the result
/// object, or an error for a JSON-RPC error or an `isError` result of the
/// hub itself (not of the remote tool).
pub(crate) async fn call_tool(
    client: &ClientArgs,
    name: &str,
    arguments: Value,
    wait: Option<Duration>,
) -> anyhow::Result<Value> {
    let token = client.token.clone().filter(|t| !t.is_empty()).or_else(crate::home::stored_token);
    let ca = client.ca.as_ref().map(herd_upstream::TrustedCa::load).transpose()?;
    let config = HttpUpstreamConfig { token, ca, ..HttpUpstreamConfig::new(&client.url) };
    let upstream = HttpUpstream::new(config)?;
    let shown = herd_proto::redact_url(&client.url);
    upstream.connect().await.with_context(|| format!("cannot reach the hub at {shown}"))?;
    let params = json!({ "name": name, "arguments": arguments, "_meta": { "progressToken": "herd-cli" } });
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let call =
        upstream.request(method::TOOLS_CALL, Some(serde_json::value::to_raw_value(&params)?), Vec::new(), events_tx);
    let progress = std::io::stderr().is_terminal();
    let printer = tokio::spawn(async move {
        while let Some(message) = events.recv().await {
            if let Message::Notification(n) = message
                && progress
                && n.method == method::PROGRESS
                && let Some(p) = n.params.and_then(|p| serde_json::from_str::<Value>(p.get()).ok())
            {
                let (done, total) = (p["progress"].as_f64().unwrap_or(0.0), p["total"].as_f64().unwrap_or(0.0));
                eprintln!("[{done}/{total}] {}", p["message"].as_str().unwrap_or_default());
            }
        }
    });
    let wait = wait.unwrap_or(Duration::from_secs(300) + MARGIN);
    let response = tokio::time::timeout(wait, call.response)
        .await
        .map_err(|_| anyhow::anyhow!("the hub did not answer within {}s", wait.as_secs()))??;
    printer.abort();
    let raw = response.into_result().map_err(|e| anyhow::anyhow!("{name}: {} (code {})", e.message, e.code))?;
    let result: Value = serde_json::from_str(raw.get())?;
    if result["isError"].as_bool() == Some(true) && name != "remote_call" {
        let text = result["content"][0]["text"].as_str().unwrap_or("failed");
        bail!("{text}");
    }
    Ok(result)
}

fn print_host_result(r: &Value) {
    let host = r["host"].as_str().unwrap_or("?");
    if let Some(error) = r.get("error").and_then(Value::as_str) {
        println!("== {host}: failed ==\n{error}");
        return;
    }
    let via = r["via"].as_str().unwrap_or("?");
    let status = match (r["timed_out"].as_bool(), r["exit_code"].as_i64()) {
        (Some(true), _) => "timed out".to_owned(),
        (_, Some(code)) => format!("exit {code}"),
        _ => "done".to_owned(),
    };
    println!("== {host} ({via}) {status} ==");
    for stream in ["stdout", "stderr"] {
        if let Some(out) = r[stream].as_str().filter(|s| !s.is_empty()) {
            print!("{out}");
            if !out.ends_with('\n') {
                println!();
            }
        }
    }
}

pub(crate) fn print_table(rows: &[Vec<String>]) {
    let columns = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> =
        (0..columns).map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
    for row in rows {
        let line: Vec<String> = row.iter().zip(&widths).map(|(cell, w)| format!("{cell:<w$}")).collect();
        println!("{}", line.join("  ").trim_end());
    }
}
