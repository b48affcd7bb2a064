//! `herd init` end to end: a hub set up by `herd init hub` runs from the
//! files it wrote, agents join it with `herd init agent` (the CA checked
//! by its fingerprint, their certificate signed by the hub), and a call
//! through the hub reaches such an agent over HTTPS checked against the
//! fleet CA alone. Second runs change nothing; conflicting ones, wrong
//! fingerprints, tokens without the right and odd names are refused; the
//! installed units pass `systemd-analyze verify`.

#![allow(clippy::unwrap_used)]

mod support;

#[path = "support/client.rs"]
mod client;

use client::{Client, text};
use herd_upstream::{HttpUpstreamConfig, TrustedCa};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use support::{Deps, Herd, herd_bin, run_bounded};
use tokio::process::Command;

/// Long enough for a debug build on a busy machine.
const LIMIT: Duration = Duration::from_secs(60);

/// One `remote_shell` call on `node1` through the hub at `argv[1]` with the
/// official Python SDK; prints the result's `structuredContent`.
const PYTHON_CALL: &str = r#"
import asyncio, json, os, sys
from mcp import ClientSession
from mcp.client.streamable_http import streamablehttp_client

async def main():
    headers = {"Authorization": "Bearer " + os.environ["HERD_TEST_TOKEN"]}
    async with streamablehttp_client(sys.argv[1], headers=headers) as (read, write, _):
        async with ClientSession(read, write) as session:
            await asyncio.wait_for(session.initialize(), 30)
            arguments = {"host": "node1", "command": "echo via-python-sdk"}
            result = await asyncio.wait_for(session.call_tool("remote_shell", arguments), 30)
            print(json.dumps(result.structuredContent))

asyncio.run(main())
"#;

/// Runs `herd ARGS...` to completion with its own `HERD_HOME` unset.
async fn herd(args: &[&str]) -> support::Finished {
    let mut cmd = Command::new(herd_bin());
    cmd.args(args).env_remove("HERD_HOME").env_remove("HERD_TOKEN").env_remove("HERD_JOIN_TOKEN");
    run_bounded(cmd, LIMIT).await
}

/// Runs `herd ARGS...` and expects success.
async fn herd_ok(args: &[&str]) -> support::Finished {
    let done = herd(args).await;
    assert!(done.status.success(), "herd {args:?}: {done:?}");
    done
}

/// Every file under `dir` with its bytes and modification time.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, SystemTime)> {
    let mut files = BTreeMap::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let meta = std::fs::metadata(&path).unwrap();
                files.insert(path.clone(), (std::fs::read(&path).unwrap(), meta.modified().unwrap()));
            }
        }
    }
    files
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The `KEY=VALUE` lines of an environment file written by `herd init`.
fn env_file(path: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains('='))
        .map(|l| l.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())).unwrap())
        .collect()
}

/// The word after `flag` on the line of `text` holding it.
fn word_after<'a>(text: &'a str, flag: &str) -> &'a str {
    let line = text.lines().find(|l| l.contains(flag)).unwrap_or_else(|| panic!("no {flag} in:\n{text}"));
    line.split_whitespace().skip_while(|w| *w != flag).nth(1).unwrap()
}

/// Starts `herd ROLE` from the environment file `init` wrote.
async fn start_from(role: &str, env: &Path) -> Herd {
    let vars = env_file(env);
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    Herd::start_with_env(&[role], &vars).await
}

/// `herd init agent` against `hub` into `home`, as host `name`.
async fn join(hub: &str, token: &str, fingerprint: &str, home: &Path, name: &str) -> support::Finished {
    let home = home.to_str().unwrap();
    let args = ["init", "agent", "--hub", hub, "--token", token, "--ca-sha256", fingerprint, "--home", home];
    herd(&[&args[..], &["--name", name, "--listen", "127.0.0.1:0", "--san", "127.0.0.1"]].concat()).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fleet_from_init_serves_a_call_through_the_hub_over_the_fleet_ca() {
    let dir = tempfile::tempdir().unwrap();
    let hub_home = dir.path().join("hub");
    let h = hub_home.to_str().unwrap();
    let init_hub = ["init", "hub", "--home", h, "--listen", "127.0.0.1:0", "--san", "hub.test"];
    let first = herd_ok(&init_hub).await;
    let admin_token = first.stdout.lines().skip_while(|l| !l.starts_with("Admin token")).nth(1).unwrap().trim();
    assert!(admin_token.starts_with("herd_"), "{}", first.stdout);
    let join_token = word_after(&first.stdout, "--token").to_owned();
    let fingerprint = word_after(&first.stdout, "--ca-sha256").to_owned();
    assert!(first.stdout.contains(&format!("Fleet CA SHA-256: {fingerprint}")), "{}", first.stdout);
    assert!(first.stdout.contains("claude mcp add --transport http herd https://hub.test:0/mcp"), "{}", first.stdout);
    for secret in ["tls/ca.key", "tls/hub.key", "hosts.toml"] {
        assert_eq!(mode(&hub_home.join(secret)), 0o600, "{secret}");
    }
    let db = std::fs::read(hub_home.join("herd.db")).unwrap();
    assert!(!String::from_utf8_lossy(&db).contains(admin_token), "the token is stored hashed");

    // Again: nothing changes, no secret is shown again; other arguments
    // are refused, naming the file.
    let before = snapshot(&hub_home);
    let again = herd_ok(&init_hub).await;
    assert!(again.stderr.contains("nothing to change"), "{again:?}");
    assert!(!again.stdout.contains(admin_token) && !again.stdout.contains(&join_token), "{}", again.stdout);
    assert_eq!(snapshot(&hub_home), before, "a second run wrote something");
    let moved = herd(&["init", "hub", "--home", h, "--listen", "127.0.0.1:1", "--san", "hub.test"]).await;
    assert!(!moved.status.success(), "{moved:?}");
    assert!(moved.stderr.contains(&format!("{h}/hub.env differs")) && moved.stderr.contains("--force"), "{moved:?}");
    let renamed = herd(&["init", "hub", "--home", h, "--listen", "127.0.0.1:0", "--san", "other.test"]).await;
    assert!(renamed.stderr.contains("tls/hub.pem differs"), "{renamed:?}");
    assert_eq!(snapshot(&hub_home), before, "a refused run wrote something");

    let mut hub = start_from("hub", &hub_home.join("hub.env")).await;
    assert!(hub.url.starts_with("https://127.0.0.1:"), "{}", hub.url);
    let hub_origin = hub.url.trim_end_matches("/mcp").to_owned();

    // A wrong fingerprint: refused before anything is written or sent.
    let agent_home = dir.path().join("agent");
    let wrong = format!("{}{}", if fingerprint.starts_with('0') { "1" } else { "0" }, &fingerprint[1..]);
    let refused = join(&hub_origin, &join_token, &wrong, &agent_home, "node1").await;
    assert!(!refused.status.success(), "{refused:?}");
    assert!(refused.stderr.contains(&format!("has SHA-256 {fingerprint}, not {wrong}")), "{refused:?}");
    assert!(!agent_home.join("agent.toml").exists() && !agent_home.join("tls/agent.pem").exists());

    // A viewer's token may not have a certificate signed.
    herd_ok(&["user", "add", "watcher", "--role", "viewer", "--home", h]).await;
    let viewer = herd_ok(&["token", "create", "--user", "watcher", "--home", h]).await;
    let refused = join(&hub_origin, viewer.stdout.trim(), &fingerprint, &agent_home, "node1").await;
    assert!(!refused.status.success(), "{refused:?}");
    assert!(refused.stderr.contains("role viewer may not get an agent certificate"), "{refused:?}");

    // The right fingerprint and the join token: the agent joins.
    let joined = join(&hub_origin, &join_token, &fingerprint, &agent_home, "node1").await;
    assert!(joined.status.success(), "{joined:?}");
    assert!(joined.stdout.contains("name = \"node1\""), "{}", joined.stdout);
    assert_eq!(mode(&agent_home.join("tls/agent.key")), 0o600);
    assert_eq!(mode(&agent_home.join("agent.env")), 0o600);
    let agent_token = env_file(&agent_home.join("agent.env")).into_iter().find(|(k, _)| k == "HERD_TOKEN").unwrap().1;
    assert!(joined.stdout.contains(&agent_token), "the hub's entry carries the agent's token");
    assert!(!std::fs::read_to_string(agent_home.join("agent.toml")).unwrap().contains(&agent_token));
    let joined_files = snapshot(&agent_home);
    let rejoined = join(&hub_origin, &join_token, &fingerprint, &agent_home, "node1").await;
    assert!(rejoined.status.success() && rejoined.stderr.contains("nothing to change"), "{rejoined:?}");
    assert!(!rejoined.stdout.contains(&agent_token), "{}", rejoined.stdout);
    assert_eq!(snapshot(&agent_home), joined_files, "a second join wrote something");
    let renamed = join(&hub_origin, &join_token, &fingerprint, &agent_home, "node2").await;
    assert!(renamed.stderr.contains("agent.toml differs") && renamed.stderr.contains("--force"), "{renamed:?}");

    // The agent runs with its signed certificate; the hub learns of it
    // from its registry and trusts it through the fleet CA.
    let agent = start_from("agent", &agent_home.join("agent.env")).await;
    assert!(agent.url.starts_with("https://127.0.0.1:"), "{}", agent.url);
    let entry = format!("\n[[hosts]]\nname = \"node1\"\nurl = \"{}\"\ntoken = \"{agent_token}\"\n", agent.url);
    let hosts = hub_home.join("hosts.toml");
    std::fs::write(&hosts, std::fs::read_to_string(&hosts).unwrap() + &entry).unwrap();
    hub.wait_for_log("registry reloaded", LIMIT).await;
    let client = Client::connect_with(HttpUpstreamConfig {
        token: Some(admin_token.to_owned()),
        ca: Some(TrustedCa::load(hub_home.join("tls/ca.pem")).unwrap()),
        exchange_timeout: LIMIT,
        ..HttpUpstreamConfig::new(&hub.url)
    })
    .await;
    let shell = client.call("remote_shell", json!({ "host": "node1", "command": "echo joined" })).await;
    assert_eq!(shell["structuredContent"]["stdout"], "joined\n", "{shell}");
    assert_eq!(shell["structuredContent"]["via"], "agent", "{}", text(&shell));
    // The official Python SDK, trusting the fleet CA the way the printed
    // advice says (SSL_CERT_FILE), and nothing else.
    let mut python = Command::new(Deps::load().python());
    python
        .args(["-c", PYTHON_CALL, &hub.url])
        .env("HERD_TEST_TOKEN", admin_token)
        .env("SSL_CERT_FILE", hub_home.join("tls/ca.pem"));
    let called = run_bounded(python, LIMIT).await;
    assert!(called.status.success(), "{called:?}");
    let called: Value = serde_json::from_str(called.stdout.trim()).unwrap();
    assert_eq!((called["stdout"].as_str(), called["via"].as_str()), (Some("via-python-sdk\n"), Some("agent")));

    // --force renews the certificate with a new key; the agent's token and
    // settings stay.
    let key_before = std::fs::read(agent_home.join("tls/agent.key")).unwrap();
    let a = agent_home.to_str().unwrap();
    let renew = ["init", "agent", "--hub", &hub_origin, "--token", &join_token, "--ca-sha256", &fingerprint, "--force"];
    let renewed = herd_ok(
        &[&renew[..], &["--home", a, "--name", "node1", "--listen", "127.0.0.1:0", "--san", "127.0.0.1"]].concat(),
    )
    .await;
    assert!(renewed.stderr.contains("tls/agent.pem") && !renewed.stderr.contains("agent.env"), "{renewed:?}");
    assert_ne!(std::fs::read(agent_home.join("tls/agent.key")).unwrap(), key_before);
    assert!(std::fs::read_to_string(agent_home.join("agent.env")).unwrap().contains(&agent_token));

    // The signing is in the hub's audit log, the refusal too.
    let audit = herd_ok(&["audit", "--home", h, "--json"]).await;
    let signs: Vec<Value> = audit
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r.to_string().contains("admin/certificates.sign"))
        .collect();
    assert!(signs.iter().any(|r| r.to_string().contains("node1") && r.to_string().contains("\"ok\"")), "{signs:?}");
    assert!(signs.iter().any(|r| r.to_string().contains("\"denied\"")), "{signs:?}");

    // Installed units: this binary, these homes, and systemd accepts them.
    let units = dir.path().join("units");
    let u = units.to_str().unwrap();
    let install = ["--install", "--unit-dir", u, "--no-start"];
    let installed = herd_ok(&[&init_hub[..], &install[..]].concat()).await;
    assert!(installed.stderr.contains("nothing to change") && installed.stderr.contains("service installed"));
    let agent_args = ["init", "agent", "--hub", &hub_origin, "--token", "unused", "--ca-sha256", &fingerprint];
    let agent_rest = ["--home", a, "--name", "node1", "--listen", "127.0.0.1:0", "--san", "127.0.0.1"];
    herd_ok(&[&agent_args[..], &agent_rest[..], &install[..]].concat()).await;
    let hub_unit = std::fs::read_to_string(units.join("herd-hub.service")).unwrap();
    assert!(hub_unit.contains(&format!("EnvironmentFile={h}/hub.env")), "{hub_unit}");
    assert!(hub_unit.contains(&format!("ExecStart={} hub", herd_bin())), "{hub_unit}");
    let mut verify = Command::new("systemd-analyze");
    verify.args(["verify", "--man=no"]).arg(units.join("herd-hub.service")).arg(units.join("herd-agent.service"));
    let verified = run_bounded(verify, LIMIT).await;
    assert!(verified.status.success() && verified.stdout.is_empty() && verified.stderr.is_empty(), "{verified:?}");
    let unchanged = herd_ok(&[&init_hub[..], &install[..]].concat()).await;
    assert!(unchanged.stderr.contains("already installed, unchanged"), "{unchanged:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_hub_refuses_odd_names_in_a_certificate_request() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("hub");
    let h = home.to_str().unwrap();
    let first = herd_ok(&["init", "hub", "--home", h, "--listen", "127.0.0.1:0", "--san", "hub.test"]).await;
    let join_token = word_after(&first.stdout, "--token").to_owned();
    let hub = start_from("hub", &home.join("hub.env")).await;
    let ca = std::fs::read(home.join("tls/ca.pem")).unwrap();
    let http = reqwest::Client::builder()
        .timeout(LIMIT)
        .tls_certs_only([reqwest::Certificate::from_pem(&ca).unwrap()])
        .build()
        .unwrap();
    let endpoint = hub.url.replace("/mcp", "/api/v1/certificates");
    let ask = |names: Vec<String>| {
        let key = rcgen::KeyPair::generate().unwrap();
        let csr = rcgen::CertificateParams::new(names).unwrap().serialize_request(&key).unwrap().pem().unwrap();
        let request = http
            .post(&endpoint)
            .bearer_auth(&join_token)
            .header("content-type", "application/json")
            .body(json!({ "name": "node1", "csr": csr }).to_string());
        async move {
            let answer = request.send().await.unwrap();
            let status = answer.status().as_u16();
            (status, serde_json::from_str::<Value>(&answer.text().await.unwrap()).unwrap())
        }
    };
    for (names, reason) in [
        (vec!["*.lan".to_owned()], "is a wildcard"),
        (vec!["hub.test".to_owned()], "is a name of the hub itself"),
        (vec!["0.0.0.0".to_owned()], "does not name one host"),
    ] {
        let (status, answer) = ask(names.clone()).await;
        assert_eq!(status, 400, "{names:?}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(reason), "{names:?}: {message}");
    }
    let (status, answer) = ask(vec!["node1.lan".to_owned()]).await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["names"], json!(["node1", "node1.lan"]));
    // Without a token the CA is public, the signing is not.
    let public = http.get(hub.url.replace("/mcp", "/api/v1/ca")).send().await.unwrap();
    assert_eq!(public.text().await.unwrap().as_bytes(), &ca[..]);
    let anonymous = http.post(&endpoint).body("{}").send().await.unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
}
