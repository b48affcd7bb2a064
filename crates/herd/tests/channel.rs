//! Agents that join a hub over the channel they open themselves: a real
//! `herd agent` listening on no port, a real `herd hub`, and every hub tool
//! reaching it through that one connection; the channel dying silently and
//! coming back by itself under the same session; and a slow call over the
//! channel not holding up a quick one.

#![allow(clippy::unwrap_used)]

mod support;

#[path = "support/client.rs"]
mod client;

use client::{Client, text};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use support::Herd;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

const HUB_TOKEN: &str = "hub-test-token";
const AGENT_TOKEN: &str = "agent-test-token";
const EVENT_LIMIT: Duration = Duration::from_secs(20);

fn structured(result: &Value) -> &Value {
    &result["structuredContent"]
}

/// A hub whose registry holds one HTTP agent, `web`, and the channel
/// timing of `channels`.
async fn hub(dir: &Path, web: &Herd, channels: &str) -> Herd {
    let config = dir.join("hosts.toml");
    let registry = format!(
        "{channels}\n[[hosts]]\nname = \"web\"\nurl = \"{}\"\ntoken = \"{AGENT_TOKEN}\"\ntags = [\"fan\"]\n",
        web.url
    );
    std::fs::write(&config, registry).unwrap();
    let config = config.to_str().unwrap();
    Herd::start(&["hub", "--config", config, "--listen", "127.0.0.1:0", "--token", HUB_TOKEN]).await
}

/// A `herd agent` with no listening port that joins `hub_url` as `name`,
/// its state in `home`.
async fn channel_agent(dir: &Path, home: &Path, name: &str, hub_url: &str) -> Herd {
    let config = dir.join(format!("{name}.toml"));
    let text = format!(
        "name = \"{name}\"\nhub = \"{hub_url}\"\nhub_token_env = \"HERD_HUB_TOKEN\"\n\
         [channel]\nheartbeat = 0.3\ntimeout = 0.6\nreconnect_min = 0.1\nreconnect_max = 0.5\n"
    );
    std::fs::write(&config, text).unwrap();
    let home = home.to_str().unwrap();
    let env = [("HERD_HUB_TOKEN", HUB_TOKEN), ("HERD_HOME", home)];
    let mut agent = Herd::start_with_env(&["agent", "--config", config.to_str().unwrap()], &env).await;
    assert_eq!(agent.url, "channel", "a channel-only agent listens on no port");
    agent.wait_for_log("channel connected", EVENT_LIMIT).await;
    agent
}

/// The hub's base URL (its MCP endpoint without `/mcp`).
fn base(hub: &Herd) -> String {
    hub.url.trim_end_matches("/mcp").to_owned()
}

fn listed<'a>(hosts: &'a Value, name: &str) -> &'a Value {
    structured(hosts)["hosts"].as_array().unwrap().iter().find(|h| h["name"] == name).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_channel_only_agent_is_a_host_like_any_other() {
    let dir = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let web = Herd::start(&["agent", "--listen", "127.0.0.1:0", "--token", AGENT_TOKEN]).await;
    let mut hub = hub(dir.path(), &web, "").await;
    let _ws1 = channel_agent(dir.path(), home.path(), "ws1", &base(&hub)).await;
    let joined = hub.wait_for_log("host joined over its channel", EVENT_LIMIT).await;
    assert_eq!((joined["host"].as_str(), joined["up"].as_bool()), (Some("ws1"), Some(true)), "{joined}");

    let client = Client::connect(&hub.url, Some(HUB_TOKEN)).await;
    let hosts = client.call("remote_list_hosts", json!({})).await;
    let ws1 = listed(&hosts, "ws1");
    assert_eq!((ws1["path"].as_str(), ws1["state"].as_str()), (Some("channel"), Some("up")), "{hosts}");
    assert!(ws1.get("url").is_none(), "{ws1}");
    assert_eq!(listed(&hosts, "web")["path"], "agent");

    let shell = client.call("remote_shell", json!({ "host": "ws1", "command": "echo over-$((40+2))" })).await;
    assert_eq!(structured(&shell)["stdout"], "over-42\n", "{shell}");
    assert_eq!(structured(&shell)["via"], "channel");
    assert!(text(&shell).ends_with("[ws1 via channel]"), "{shell}");

    let file = dir.path().join("written-over-the-channel");
    let written = client
        .call("remote_write_file", json!({ "host": "ws1", "path": file, "content": "through one connection" }))
        .await;
    assert_ne!(written["isError"], true, "{written}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "through one connection");
    let read = client.call("remote_read_file", json!({ "host": "ws1", "path": file })).await;
    assert!(text(&read).contains("through one connection"), "{read}");

    let listing = client
        .call("remote_call", json!({ "host": "ws1", "tool": "list_dir", "arguments": { "path": dir.path() } }))
        .await;
    assert!(text(&listing).contains("written-over-the-channel"), "{listing}");
    assert!(text(&listing).ends_with("[ws1 via channel]"), "{listing}");

    let many =
        client.call("remote_shell_many", json!({ "hosts": ["ws1", "web"], "command": "echo fan-$((40+2))" })).await;
    let results = structured(&many)["results"].as_array().unwrap().clone();
    let mut ran: Vec<(&str, &str)> =
        results.iter().map(|r| (r["host"].as_str().unwrap(), r["stdout"].as_str().unwrap())).collect();
    ran.sort_unstable();
    assert_eq!(ran, [("web", "fan-42\n"), ("ws1", "fan-42\n")], "{many}");
    assert_eq!(structured(&many)["failed"], 0, "{many}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_upgrade_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let web = Herd::start(&["agent", "--listen", "127.0.0.1:0", "--token", AGENT_TOKEN]).await;
    let hub = hub(dir.path(), &web, "").await;
    let http = reqwest::Client::new();
    let url = format!("{}/api/v1/channel", base(&hub));
    let ask = |token: &str, name: &str| {
        http.get(&url)
            .bearer_auth(token)
            .header("connection", "upgrade")
            .header("upgrade", "herd-channel")
            .header("herd-host", name)
            .header("herd-channel-session", "session-0001")
            .send()
    };
    let unknown = ask("not-a-token", "ws1").await.unwrap();
    assert_eq!(unknown.status(), 401);
    let bad_name = ask(HUB_TOKEN, "no spaces please").await.unwrap();
    assert_eq!(bad_name.status(), 400);
    assert!(bad_name.text().await.unwrap().contains("herd-host"));
    let plain = http.get(&url).bearer_auth(HUB_TOKEN).send().await.unwrap();
    assert_eq!(plain.status(), 400);
    assert!(plain.text().await.unwrap().contains("Upgrade: herd-channel"));

    // Only the agent role (within its host grant) and admins connect.
    let agent = user_token(&hub, "ws", &["--role", "agent", "--hosts", "ws*"]).await;
    let viewer = user_token(&hub, "eve", &["--role", "viewer"]).await;
    let as_viewer = ask(&viewer, "ws1").await.unwrap();
    assert_eq!(as_viewer.status(), 403);
    assert!(as_viewer.text().await.unwrap().contains("may not connect an agent channel"));
    assert_eq!(ask(&agent, "gpu1").await.unwrap().status(), 403, "gpu1 is outside the agent's grant");
    let accepted = ask(&agent, "ws1").await.unwrap();
    assert_eq!(accepted.status(), 101);
    // The name is held: another session may not take it.
    let other = http
        .get(&url)
        .bearer_auth(&agent)
        .header("connection", "upgrade")
        .header("upgrade", "herd-channel")
        .header("herd-host", "ws1")
        .header("herd-channel-session", "session-0002")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 409);
    assert!(other.text().await.unwrap().contains("another agent holds the channel of host \"ws1\""));
}

/// A new user of `hub` made with `args`, and a token of theirs.
async fn user_token(hub: &Herd, name: &str, args: &[&str]) -> String {
    let run = |args: Vec<&str>| {
        let mut cmd = tokio::process::Command::new(support::herd_bin());
        cmd.args(args).env("HERD_URL", &hub.url).env("HERD_TOKEN", HUB_TOKEN).env_remove("HERD_HOME");
        support::run_bounded(cmd, Duration::from_secs(60))
    };
    let added = run([&["user", "add", name][..], args].concat()).await;
    assert!(added.status.success(), "{added:?}");
    let token = run(vec!["token", "create", "--user", name]).await;
    assert!(token.status.success(), "{token:?}");
    token.stdout.trim().to_owned()
}

/// A TCP proxy whose connections can be silenced: after [`Proxy::silence`],
/// the connections open at that moment still accept bytes and pass none on
/// (a path that died without a FIN or RST), and new ones are closed at
/// once until [`Proxy::restore`].
struct Proxy {
    addr: SocketAddr,
    /// Connections accepted so far (numbered from 1).
    accepted: Arc<AtomicU64>,
    /// Connections numbered up to this one pass nothing on.
    silenced_upto: Arc<AtomicU64>,
    /// New connections are closed at once.
    refusing: Arc<std::sync::atomic::AtomicBool>,
    _tasks: JoinSet<()>,
}

impl Proxy {
    async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let silenced_upto = Arc::new(AtomicU64::new(0));
        let accepted = Arc::new(AtomicU64::new(0));
        let refusing = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (cut, count, refuse) = (silenced_upto.clone(), accepted.clone(), refusing.clone());
        let mut tasks = JoinSet::new();
        tasks.spawn(async move {
            let mut connections = JoinSet::new();
            while let Ok((client, _)) = listener.accept().await {
                if refuse.load(Ordering::SeqCst) {
                    continue;
                }
                let me = count.fetch_add(1, Ordering::SeqCst) + 1;
                let cut = cut.clone();
                connections.spawn(async move {
                    let Ok(server) = TcpStream::connect(target).await else { return };
                    let (client_read, client_write) = client.into_split();
                    let (server_read, server_write) = server.into_split();
                    tokio::join!(copy(client_read, server_write, &cut, me), copy(server_read, client_write, &cut, me));
                });
            }
        });
        Proxy { addr, accepted, silenced_upto, refusing, _tasks: tasks }
    }

    /// Silences every connection open now and closes new ones.
    fn silence(&self) {
        self.refusing.store(true, Ordering::SeqCst);
        self.silenced_upto.store(self.accepted.load(Ordering::SeqCst), Ordering::SeqCst);
    }

    /// New connections work again (silenced ones stay silent).
    fn restore(&self) {
        self.refusing.store(false, Ordering::SeqCst);
    }
}

async fn copy(mut from: impl AsyncReadExt + Unpin, mut to: impl AsyncWriteExt + Unpin, cut: &AtomicU64, me: u64) {
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if me <= cut.load(Ordering::SeqCst) {
            continue;
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_silently_dead_channel_goes_inactive_and_the_agent_comes_back_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let web = Herd::start(&["agent", "--listen", "127.0.0.1:0", "--token", AGENT_TOKEN]).await;
    let mut hub = hub(dir.path(), &web, "[channels]\nheartbeat = 0.3\ntimeout = 0.6\n").await;
    let hub_addr: SocketAddr = base(&hub).trim_start_matches("http://").parse().unwrap();
    let proxy = Proxy::start(hub_addr).await;
    let mut ws1 = channel_agent(dir.path(), home.path(), "ws1", &format!("http://{}", proxy.addr)).await;
    let first = hub.wait_for_log("channel open", EVENT_LIMIT).await;
    hub.wait_for_log("host joined over its channel", EVENT_LIMIT).await;
    let session = std::fs::read_to_string(home.path().join("channel-session")).unwrap();
    assert_eq!(first["session"].as_str(), Some(session.as_str()), "{first}");

    // Silence the path: no FIN, no RST. The hub's unanswered PING ends it.
    let client = Client::connect(&hub.url, Some(HUB_TOKEN)).await;
    proxy.silence();
    let inactive = hub.wait_for_log("host inactive: its channel closed", EVENT_LIMIT).await;
    assert_eq!(inactive["host"], "ws1");
    let hosts = client.call("remote_list_hosts", json!({})).await;
    let listed_ws1 = listed(&hosts, "ws1");
    assert_eq!((listed_ws1["state"].as_str(), listed_ws1["path"].as_str()), (Some("down"), Some("channel")), "{hosts}");
    let refused = client.call("remote_shell", json!({ "host": "ws1", "command": "true" })).await;
    assert_eq!(refused["isError"], true, "{refused}");

    // The agent notices too and dials again; once the path works it is
    // back under the same session and name.
    ws1.wait_for_log("channel closed; connecting again", EVENT_LIMIT).await;
    proxy.restore();
    ws1.wait_for_log("channel connected", EVENT_LIMIT).await;
    let again = hub.wait_for_log("channel open", EVENT_LIMIT).await;
    assert_eq!((again["host"].as_str(), again["session"].as_str()), (Some("ws1"), Some(session.as_str())), "{again}");
    let joined = hub.wait_for_log("host joined over its channel", EVENT_LIMIT).await;
    assert_eq!((joined["host"].as_str(), joined["up"].as_bool()), (Some("ws1"), Some(true)), "{joined}");
    let shell = client.call("remote_shell", json!({ "host": "ws1", "command": "echo back" })).await;
    assert_eq!(structured(&shell)["stdout"], "back\n", "{shell}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_call_over_the_channel_does_not_hold_up_a_quick_one() {
    let dir = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let web = Herd::start(&["agent", "--listen", "127.0.0.1:0", "--token", AGENT_TOKEN]).await;
    let mut hub = hub(dir.path(), &web, "").await;
    let _ws1 = channel_agent(dir.path(), home.path(), "ws1", &base(&hub)).await;
    hub.wait_for_log("host joined over its channel", EVENT_LIMIT).await;
    let client = Arc::new(Client::connect(&hub.url, Some(HUB_TOKEN)).await);

    // The slow call reads a FIFO until the test writes to it; opening the
    // FIFO for writing returns once the command has it open: in flight.
    let fifo = dir.path().join("gate");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let slow = {
        let (client, command) = (client.clone(), format!("cat {}", fifo.display()));
        tokio::spawn(async move { client.call("remote_shell", json!({ "host": "ws1", "command": command })).await })
    };
    let gate = fifo.clone();
    let writer = tokio::time::timeout(EVENT_LIMIT, tokio::task::spawn_blocking(move || std::fs::File::create(gate)))
        .await
        .expect("the slow command opened the FIFO")
        .unwrap()
        .unwrap();

    let file = dir.path().join("quick");
    std::fs::write(&file, "quick answer").unwrap();
    let quick = client.call("remote_read_file", json!({ "host": "ws1", "path": file })).await;
    assert!(text(&quick).contains("quick answer"), "{quick}");
    assert!(!slow.is_finished(), "the slow call is still running while the quick one was answered");

    let mut writer = writer;
    std::io::Write::write_all(&mut writer, b"released\n").unwrap();
    drop(writer);
    let slow = tokio::time::timeout(EVENT_LIMIT, slow).await.expect("the slow call ends once released").unwrap();
    assert_eq!(structured(&slow)["stdout"], "released\n", "{slow}");
}
