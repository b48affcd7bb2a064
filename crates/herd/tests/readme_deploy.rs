//! README's "Deploy a fleet", followed as written: its commands are read
//! from README.md and run by bash with the herd under test first on
//! `PATH`, each step fed what the step before printed. Only what a test
//! must change is changed: the homes are temporary directories, `hub.lan`
//! is `localhost` (the hub's certificate names it too), `--install` gives
//! way to ports of the test's own, the agent is named `node1` (on one
//! machine the machine's name is the hub's), and the processes are `exec`ed so they
//! stop with the test. Claude Code does not run here; the official Python
//! SDK connects with the URL and header of the line printed for it,
//! trusting the fleet CA the way the printed advice says for Python.

#![allow(clippy::unwrap_used)]

mod support;

use serde_json::Value;
use std::path::Path;
use std::time::Duration;
use support::{Deps, Herd, herd_bin, repo_root, run_bounded};
use tokio::process::Command;

/// Long enough for a debug build on a busy machine.
const LIMIT: Duration = Duration::from_secs(60);
/// The hub's home in README's commands.
const README_HOME: &str = "/var/lib/herd";

/// Lists the hosts and runs one command on `argv[2]` through the hub at
/// `argv[1]` with the token in `HERD_TEST_TOKEN`; prints both results.
const PYTHON_CLIENT: &str = r#"
import asyncio, json, os, sys
from mcp import ClientSession
from mcp.client.streamable_http import streamablehttp_client

async def main():
    headers = {"Authorization": os.environ["HERD_TEST_AUTHORIZATION"]}
    async with streamablehttp_client(sys.argv[1], headers=headers) as (read, write, _):
        async with ClientSession(read, write) as session:
            await asyncio.wait_for(session.initialize(), 30)
            hosts = await asyncio.wait_for(session.call_tool("remote_list_hosts", {}), 30)
            shell = await asyncio.wait_for(
                session.call_tool("remote_shell", {"host": sys.argv[2], "command": "echo deployed"}), 30)
            print(json.dumps({"hosts": hosts.structuredContent, "shell": shell.structuredContent}))

asyncio.run(main())
"#;

/// The commands of README's "Deploy a fleet" block, without comments.
fn readme_commands() -> (Vec<String>, String) {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let section = readme.split("\n## Deploy a fleet\n").nth(1).expect("README has ## Deploy a fleet");
    let section = section.split("\n## ").next().unwrap();
    let block = section.split("```sh\n").nth(1).unwrap().split("```").next().unwrap();
    let commands = block.lines().filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    let by_hand = section.split('`').find(|s| s.starts_with("set -a; ")).expect("the line without --install");
    (commands.map(str::to_owned).collect(), by_hand.to_owned())
}

/// A loopback port nothing listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `PATH` with the herd under test first.
fn path_with_herd() -> String {
    let dir = Path::new(herd_bin()).parent().unwrap().display().to_string();
    format!("{dir}:{}", std::env::var("PATH").unwrap_or_default())
}

/// Runs `line` with bash in `home` (`HERD_HOME`, the machine's default
/// home), its standard input read from `input`.
async fn bash(line: &str, home: Option<&Path>, input: Option<&Path>) -> support::Finished {
    let script = match input {
        // On a line of its own: README's lines end in comments.
        Some(input) => format!("{{\n{line}\n}} < {}", input.display()),
        None => line.to_owned(),
    };
    let mut cmd = Command::new("bash");
    cmd.args(["-c", &script]).env("PATH", path_with_herd());
    for var in ["HERD_HOME", "HERD_TOKEN", "HERD_JOIN_TOKEN", "HERD_URL"] {
        cmd.env_remove(var);
    }
    if let Some(home) = home {
        cmd.env("HERD_HOME", home);
    }
    let done = run_bounded(cmd, LIMIT).await;
    assert!(done.status.success(), "{script}: {done:?}");
    done
}

/// Starts a server the way README says to without `--install`.
async fn start_by_hand(line: &str) -> Herd {
    // `exec`, so the process is herd's own and stops with the test; the
    // harness adds `--log-format json` to read the address it serves at.
    let (before, role) = line.rsplit_once("herd ").unwrap();
    let script = format!("{before}exec herd {role} \"$@\"");
    let path = path_with_herd();
    Herd::start_via(&["bash", "-c", &script], &[], &[("PATH", path.as_str())]).await
}

/// The line of `text` that starts (after indentation) with `prefix`.
fn printed_line<'a>(text: &'a str, prefix: &str) -> &'a str {
    text.lines().map(str::trim).find(|l| l.starts_with(prefix)).unwrap_or_else(|| panic!("no {prefix:?} in:\n{text}"))
}

/// `text` with every word after `flag` replaced by `...`, for comparing a
/// printed command with README's template.
fn shape(text: &str, flags: &[&str]) -> String {
    let mut words: Vec<String> = text.split_whitespace().map(str::to_owned).collect();
    for i in 1..words.len() {
        if flags.contains(&words[i - 1].as_str()) {
            words[i] = "...".into();
        }
    }
    words.join(" ")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_readme_deploys_a_fleet_as_written() {
    let (commands, by_hand) = readme_commands();
    let [init_hub, init_agent, add_host, trust_ca, claude] = <[String; 5]>::try_from(commands).unwrap();
    assert!(by_hand.contains(README_HOME) && by_hand.ends_with("herd hub"), "{by_hand}");
    let dir = tempfile::tempdir().unwrap();
    let hub_home = dir.path().join("hub");
    let agent_home = dir.path().join("agent");
    let here = |line: &str| line.replace(README_HOME, hub_home.to_str().unwrap()).replace("hub.lan", "localhost");

    // 1. The hub.
    let hub_port = free_port();
    let line = here(&init_hub).replace("--install", &format!("--listen 127.0.0.1:{hub_port}"));
    let hub_out = bash(&line, None, None).await.stdout;
    let hub = start_by_hand(&here(&by_hand)).await;
    assert_eq!(hub.url, format!("https://127.0.0.1:{hub_port}/mcp"));

    // 2. The agent, with the command step 1 printed, in the shape README
    // shows.
    let printed = printed_line(&hub_out, "herd init agent ");
    let readme_shape = here(&init_agent).replace(":7800", &format!(":{hub_port}")).replace(" --install", "");
    assert_eq!(shape(printed, &["--token", "--ca-sha256"]), shape(&readme_shape, &["--token", "--ca-sha256"]));
    let agent_port = free_port();
    // One machine plays both: the agent needs a name other than the
    // machine's, which the hub's certificate holds.
    let line = format!("{printed} --listen 127.0.0.1:{agent_port} --san 127.0.0.1 --name node1");
    let agent_out = bash(&line, Some(&agent_home), None).await.stdout;
    let agent_env = agent_home.join("agent.env");
    let agent_by_hand =
        here(&by_hand).replace(&hub_home.join("hub.env").display().to_string(), agent_env.to_str().unwrap());
    let _agent = start_by_hand(&agent_by_hand.replace("herd hub", "herd agent")).await;

    // 3. The printed [[hosts]] entry into the hub's registry.
    let entry_at = agent_out.find("[[hosts]]").unwrap_or_else(|| panic!("no [[hosts]] in:\n{agent_out}"));
    let entry: String =
        agent_out[entry_at..].lines().take_while(|l| !l.trim().is_empty()).map(|l| format!("{l}\n")).collect();
    let name = entry.lines().find_map(|l| l.strip_prefix("name = ")).unwrap().trim_matches('"').to_owned();
    let entry_file = dir.path().join("entry.toml");
    std::fs::write(&entry_file, format!("\n{entry}")).unwrap();
    let mut hub = hub;
    bash(&here(&add_host), None, Some(&entry_file)).await;
    hub.wait_for_log("registry reloaded", LIMIT).await;

    // 4. The client: the URL and header of the line printed for Claude
    // Code, in README's shape; the CA as README's step exports it.
    let printed = printed_line(&hub_out, "Claude Code: ").trim_start_matches("Claude Code: ");
    let readme_shape = claude.replace("hub.lan:7800", &format!("localhost:{hub_port}"));
    assert_eq!(shape(printed, &["Bearer"]), shape(&readme_shape, &["Bearer"]));
    assert!(trust_ca.starts_with("export NODE_EXTRA_CA_CERTS="), "{trust_ca}");
    let words: Vec<&str> = printed.split_whitespace().collect();
    let url = words.iter().find(|w| w.starts_with("https://")).unwrap().to_string();
    let header = printed.split("--header \"").nth(1).unwrap().trim_end_matches('"');
    let authorization = header.strip_prefix("Authorization: ").unwrap();
    let mut python = Command::new(Deps::load().python());
    python
        .args(["-c", PYTHON_CLIENT, &url, &name])
        .env("HERD_TEST_AUTHORIZATION", authorization)
        .env("SSL_CERT_FILE", hub_home.join("tls/ca.pem"));
    let called = run_bounded(python, LIMIT).await;
    assert!(called.status.success(), "{called:?}");
    let called: Value = serde_json::from_str(called.stdout.trim()).unwrap();
    let hosts = called["hosts"]["hosts"].as_array().unwrap();
    assert!(hosts.iter().any(|h| h["name"] == name.as_str() && h["state"] == "up"), "{called}");
    assert_eq!(called["shell"]["stdout"], "deployed\n", "{called}");
    assert_eq!(called["shell"]["via"], "agent", "{called}");
}
