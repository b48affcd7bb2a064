//! No process a real `herd agent` starts inherits its secrets: not a
//! `shell` command, not a `shell_bg` job, not an installer (an npm
//! `postinstall` script of a server cloned from git) and not the
//! supervised server itself. The agent runs with `HERD_TOKEN`,
//! `HERD_STATE_KEY`, `HERD_HUB_TOKEN`, `HERD_DATABASE_URL`, a variable its
//! config names as its token source, and a copy of its token under an
//! innocent name; what each child sees is checked by value.

#![allow(clippy::unwrap_used)]

mod support;

#[path = "support/client.rs"]
mod client;

use client::{Client, text};
use serde_json::json;
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use support::Herd;

const TOKEN: &str = "agent-token-0f3a9c1e5b7d";
/// What must show nowhere, with the variable each is given in.
const SECRETS: [(&str, &str); 6] = [
    ("HERD_TOKEN", TOKEN),
    ("HERD_STATE_KEY", "state-key-77c2e0d94b1a"),
    ("HERD_HUB_TOKEN", "hub-token-5e8d1b3f6a20"),
    ("HERD_DATABASE_URL", "postgres://herd:db-pass-4c9e7a1d@db.lan/herd"),
    ("AGENT_CONFIG_TOKEN", "config-token-9b0e2f7c3d18"),
    ("INNOCENT_COPY", TOKEN),
];
/// What must show: the rest of the environment passes.
const PLAIN: (&str, &str) = ("PLAIN_VISIBLE", "plain-value-3141");

fn assert_clean(what: &str, env_text: &str) {
    let plain = format!("{}={}", PLAIN.0, PLAIN.1);
    assert!(env_text.contains(&plain), "{what} lacks {plain}, so it is no environment:\n{env_text}");
    for (name, value) in SECRETS {
        assert!(!env_text.contains(value), "{what} holds the value of {name}:\n{env_text}");
    }
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git").args(args).current_dir(dir).output().unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A git repository holding a Node "server" whose npm `postinstall` writes
/// its environment to a file, and which itself prints its environment to
/// stderr and exits.
fn env_dumping_repo(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let manifest = json!({
        "name": "env-dump", "version": "1.0.0", "private": true, "main": "server.js",
        "scripts": {"postinstall": "env > installer-env.txt"}
    });
    std::fs::write(dir.join("package.json"), manifest.to_string()).unwrap();
    let server = "for (const [k, v] of Object.entries(process.env)) console.error(`${k}=${v}`);\nprocess.exit(1);\n";
    std::fs::write(dir.join("server.js"), server).unwrap();
    git(dir, &["init", "--quiet"]);
    git(dir, &["add", "."]);
    git(dir, &["-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "-m", "x"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn no_child_of_the_agent_inherits_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let config = dir.path().join("agent.toml");
    std::fs::write(&config, "token_env = \"AGENT_CONFIG_TOKEN\"\n").unwrap();
    let (home_text, config_text) = (home.to_str().unwrap(), config.to_str().unwrap());
    let mut env: Vec<(&str, &str)> = SECRETS.to_vec();
    env.extend([PLAIN, ("HERD_HOME", home_text)]);
    let agent = Herd::start_with_env(&["agent", "--config", config_text, "--listen", "127.0.0.1:0"], &env).await;
    let client = Client::connect(&agent.url, Some(TOKEN)).await;

    let shell = client.call("shell", json!({"command": "env", "env": {"ASKED_FOR": "by-the-call"}})).await;
    let stdout = shell["structuredContent"]["stdout"].as_str().unwrap();
    assert_clean("shell", stdout);
    assert!(stdout.contains("ASKED_FOR=by-the-call"), "a variable the call sets passes:\n{stdout}");

    let log = dir.path().join("bg.log");
    let started = client.call("shell_bg", json!({"command": "env; echo end-of-env", "log": log})).await;
    assert_ne!(started["isError"], true, "{started}");
    // The job is the agent's child, not ours: its end can only be polled.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let mut written = String::new();
    while !written.contains("end-of-env") && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        written = std::fs::read_to_string(&log).unwrap_or_default();
    }
    assert_clean("shell_bg's log", &written);

    let repo = dir.path().join("repo");
    env_dumping_repo(&repo);
    let spec = json!({
        "name": "dump", "git": repo.to_str().unwrap(), "restart": "never", "wait": 120,
        "env": {"GIVEN_BY_SPEC": "spec-value"}
    });
    let loaded = client.call("servers_load", spec).await;
    assert_eq!(loaded["structuredContent"]["server"]["state"], "crashed", "{loaded}");
    let installer_env = std::fs::read_to_string(home.join("servers/dump/src/installer-env.txt")).unwrap();
    assert_clean("the npm install script", &installer_env);
    let logs = client.call("servers_logs", json!({"name": "dump", "lines": 10000})).await;
    let server_env = text(&logs);
    assert!(server_env.contains("running: npm install"), "{server_env}");
    assert_clean("the server", &server_env);
    assert!(server_env.contains("GIVEN_BY_SPEC=spec-value"), "the spec's own env passes:\n{server_env}");
}
