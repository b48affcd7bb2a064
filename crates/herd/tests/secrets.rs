//! Secrets stay out of what herd shows: agent URLs with credentials are
//! redacted in `remote_list_hosts`, in call errors and in the hub's log; a
//! git URL's token never reaches `servers_list` or `servers_logs`;
//! `remote_call` refuses a tool name no agent could offer before calling
//! anything; `/metrics` refuses a foreign `Host` or `Origin` like the MCP
//! path; and a non-loopback bind answers CORS only for configured origins.

#![allow(clippy::unwrap_used)]

mod support;

#[path = "support/client.rs"]
mod client;

use client::{Client, text};
use serde_json::json;
use std::time::Duration;
use support::Herd;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const HUB_TOKEN: &str = "hub-test-token";
const AGENT_TOKEN: &str = "agent-test-token";
/// What must never show: the password and query token of an agent URL.
const SECRETS: [&str; 2] = ["pa55word", "qu3rytoken"];

/// A loopback port nothing listens on.
fn refused_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn assert_no_secret(what: &str, text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "{what} shows {secret}:\n{text}");
    }
}

/// Sends `head` (request line and headers, without the blank line) to the
/// server behind `url`; returns the status and the response head.
async fn raw(url: &str, head: &str) -> (u16, String) {
    let port = url.rsplit_once(':').unwrap().1.split('/').next().unwrap();
    let mut stream = tokio::net::TcpStream::connect(format!("127.0.0.1:{port}")).await.unwrap();
    stream.write_all(format!("{head}\r\nConnection: close\r\n\r\n").as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    read.expect("an answer within 10 s").unwrap();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let head = answer.split_once("\r\n\r\n").map_or(answer.clone(), |(h, _)| h.to_owned()).to_ascii_lowercase();
    (status, head)
}

async fn hub_with_a_leaky_host() -> (Herd, Herd, tempfile::TempDir) {
    let agent = Herd::start(&["agent", "--listen", "127.0.0.1:0", "--token", AGENT_TOKEN]).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hosts.toml");
    let leaky = format!("http://alice:pa55word@127.0.0.1:{}/mcp?access_token=qu3rytoken", refused_port());
    let registry = format!(
        "[health]\nbudget = 1\nconnect_timeout = 0.5\n\
         [[hosts]]\nname = \"leaky\"\nurl = \"{leaky}\"\n\
         [[hosts]]\nname = \"good\"\nurl = \"{}\"\ntoken = \"{AGENT_TOKEN}\"\n",
        agent.url
    );
    std::fs::write(&config, registry).unwrap();
    let config = config.to_str().unwrap();
    let hub = Herd::start(&["hub", "--config", config, "--listen", "127.0.0.1:0", "--token", HUB_TOKEN]).await;
    (hub, agent, dir)
}

#[tokio::test(flavor = "multi_thread")]
async fn agent_url_credentials_are_redacted_in_listings_errors_and_logs() {
    let (mut hub, _agent, _dir) = hub_with_a_leaky_host().await;
    let client = Client::connect(&hub.url, Some(HUB_TOKEN)).await;

    let listed = client.call("remote_list_hosts", json!({ "force": true })).await;
    let leaky = listed["structuredContent"]["hosts"].as_array().unwrap().iter().find(|h| h["name"] == "leaky");
    let leaky = leaky.unwrap();
    let url = leaky["url"].as_str().unwrap();
    assert!(url.starts_with("http://alice:***@127.0.0.1:") && url.ends_with("/mcp?access_token=***"), "{url}");
    assert_eq!(leaky["state"], "down", "{leaky}");
    assert_no_secret("remote_list_hosts", &listed.to_string());

    let failed = client.call("remote_call", json!({ "host": "leaky", "tool": "list_dir", "arguments": {} })).await;
    assert_eq!(failed["isError"], true, "{failed}");
    assert_no_secret("the failed call", &failed.to_string());
    let logged = hub.wait_for_log("call", Duration::from_secs(10)).await;
    assert_eq!(logged["host"], "leaky");
    assert_no_secret("the hub's log", &hub.stderr_text());
}

#[tokio::test(flavor = "multi_thread")]
async fn remote_call_refuses_tool_names_no_agent_could_offer() {
    let (mut hub, _agent, _dir) = hub_with_a_leaky_host().await;
    let client = Client::connect(&hub.url, Some(HUB_TOKEN)).await;
    let cases = [
        ("list dir\n{evil=\"1\"}", "may hold only A-Z a-z 0-9 _ - . /, not ' '"),
        (&*"x".repeat(129), "at most 128 characters, not 129"),
        ("", "must not be empty"),
    ];
    for (tool, why) in cases {
        let refused = client.call("remote_call", json!({ "host": "good", "tool": tool, "arguments": {} })).await;
        assert_eq!(refused["isError"], true, "{refused}");
        assert!(text(&refused).contains(why), "{tool:?}: {refused}");
        assert!(!text(&refused).contains("via agent"), "no agent was asked: {refused}");
    }
    // A valid name goes through, and is the first call the hub logs.
    let served = client.call("remote_call", json!({ "host": "good", "tool": "list_dir", "arguments": {} })).await;
    assert!(text(&served).ends_with("[good via agent]"), "{served}");
    let logged = hub.wait_for_log("call", Duration::from_secs(10)).await;
    assert_eq!(logged["tool"], "list_dir", "refused calls are not logged as calls: {logged}");
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_refuse_a_foreign_host_or_origin_like_the_mcp_path() {
    let (hub, _agent, _dir) = hub_with_a_leaky_host().await;
    let auth = format!("Authorization: Bearer {HUB_TOKEN}");
    let local = hub.url.trim_start_matches("http://").split('/').next().unwrap().to_owned();
    let (status, _) = raw(&hub.url, &format!("GET /metrics HTTP/1.1\r\nHost: {local}\r\n{auth}")).await;
    assert_eq!(status, 200);
    let (status, _) = raw(&hub.url, &format!("GET /metrics HTTP/1.1\r\nHost: evil.example.com\r\n{auth}")).await;
    assert_eq!(status, 403, "a rebinding page's Host");
    let page = format!("GET /metrics HTTP/1.1\r\nHost: {local}\r\nOrigin: http://evil.example.com\r\n{auth}");
    assert_eq!(raw(&hub.url, &page).await.0, 403, "a foreign page's Origin");
    let (status, _) = raw(&hub.url, &format!("GET /metrics HTTP/1.1\r\nHost: {local}")).await;
    assert_eq!(status, 401, "no token");
}

fn preflight(origin: &str) -> String {
    format!(
        "OPTIONS /mcp HTTP/1.1\r\nHost: hub.example.com:7801\r\nOrigin: {origin}\r\n\
         Access-Control-Request-Method: POST"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_public_bind_answers_cors_only_for_configured_origins() {
    let open = Herd::start(&["agent", "--listen", "0.0.0.0:0", "--token", AGENT_TOKEN]).await;
    let (status, head) = raw(&open.url, &preflight("https://evil.example.com")).await;
    assert_eq!(status, 403, "{head}");
    assert!(!head.contains("access-control-allow-origin"), "{head}");

    let args =
        ["agent", "--listen", "0.0.0.0:0", "--token", AGENT_TOKEN, "--allowed-origin", "https://app.example.com"];
    let configured = Herd::start(&args).await;
    let (status, head) = raw(&configured.url, &preflight("https://app.example.com")).await;
    assert_eq!(status, 204, "{head}");
    assert!(head.contains("access-control-allow-origin: https://app.example.com"), "{head}");
    let (status, head) = raw(&configured.url, &preflight("https://evil.example.com")).await;
    assert_eq!(status, 403, "{head}");
    assert!(!head.contains("access-control-allow-origin"), "{head}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_git_token_stays_out_of_servers_list_and_logs() {
    let home = tempfile::tempdir().unwrap();
    let home_text = home.path().to_str().unwrap().to_owned();
    let args = ["agent", "--listen", "127.0.0.1:0", "--token", AGENT_TOKEN];
    let agent = Herd::start_with_env(&args, &[("HERD_HOME", &home_text)]).await;
    let client = Client::connect(&agent.url, Some(AGENT_TOKEN)).await;
    let url = format!("https://alice:pa55word@127.0.0.1:{}/r.git?private_token=qu3rytoken", refused_port());
    let spec = json!({ "name": "g", "git": url, "command": "x", "restart": "never", "wait": 60 });
    let loaded = client.call("servers_load", spec).await;
    assert_eq!(loaded["structuredContent"]["server"]["state"], "failed", "{loaded}");
    assert_no_secret("servers_load", &loaded.to_string());
    let source = loaded["structuredContent"]["server"]["source"].as_str().unwrap();
    assert!(source.starts_with("git https://alice:***@127.0.0.1:"), "{source}");
    let listed = client.call("servers_list", json!({})).await;
    assert_no_secret("servers_list", &listed.to_string());
    let logs = client.call("servers_logs", json!({ "name": "g" })).await;
    assert!(text(&logs).contains("running: git clone"), "{logs}");
    assert_no_secret("servers_logs", &logs.to_string());
}
