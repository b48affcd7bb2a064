//! `herd up` on a fresh `HERD_HOME`: hub and local agent start, a token is
//! generated and stored privately and becomes the first admin's token in the
//! state (`herd.db`), the printed client configuration works
//! as printed, the client verbs find the stored token, and a second start
//! reuses the token. Token files and `hosts.toml` end up 0600, an existing
//! token file included. Servers of `$HERD_HOME/agent.toml` run on the local
//! agent.

#![allow(clippy::unwrap_used)]

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use support::{Deps, herd_bin, repo_root, run_bounded};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Starts `herd up` and returns it with the URL and token from its
/// `claude mcp add` line.
async fn up(home: &Path) -> (Child, String, String) {
    let mut child = Command::new(herd_bin())
        .args(["up", "--listen", "127.0.0.1:0", "--agent-listen", "127.0.0.1:0"])
        .env("HERD_HOME", home)
        .env_remove("HERD_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.trim_start().starts_with("claude mcp add") {
                return line;
            }
        }
        panic!("herd up ended without printing a claude line");
    })
    .await
    .expect("herd up printed its configuration in time");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    // claude mcp add --transport http herd URL --header "Authorization: Bearer TOKEN"
    let words: Vec<&str> = line.split_whitespace().collect();
    let url = words[6].to_owned();
    let token = words.last().unwrap().trim_end_matches('"').to_owned();
    (child, url, token)
}

async fn verb(home: &Path, url: &str, args: &[&str]) -> support::Finished {
    let mut cmd = Command::new(herd_bin());
    cmd.args(args).env("HERD_URL", url).env("HERD_HOME", home).env_remove("HERD_TOKEN");
    run_bounded(cmd, Duration::from_secs(60)).await
}

#[tokio::test(flavor = "multi_thread")]
async fn up_serves_the_local_machine_with_a_stored_token() {
    let home = tempfile::tempdir().unwrap();
    let (child, url, token) = up(home.path()).await;
    let stored = std::fs::read_to_string(home.path().join("token")).unwrap();
    assert_eq!(stored.trim(), token);
    assert_eq!(std::fs::metadata(home.path().join("token")).unwrap().permissions().mode() & 0o777, 0o600);

    // The state has its first admin, whose token the printed one is.
    let store = herd_store::Store::open(home.path().join("herd.db").to_str().unwrap()).await.unwrap();
    let (_, admin) = store.token_by_hash(&herd_store::hash_secret(&token)).await.unwrap().expect("token imported");
    assert_eq!((admin.name.as_str(), admin.role), ("admin", herd_store::Role::Admin));
    assert_eq!(store.count_users().await.unwrap(), 1);

    let hosts = verb(home.path(), &url, &["hosts", "--json"]).await;
    assert!(hosts.status.success(), "{hosts:?}");
    let hosts: serde_json::Value = serde_json::from_str(&hosts.stdout).unwrap();
    assert_eq!((hosts[0]["name"].as_str(), hosts[0]["state"].as_str()), (Some("local"), Some("up")), "{hosts}");

    let exec = verb(home.path(), &url, &["exec", "local", "--", "echo", "from-up"]).await;
    assert!(exec.status.success() && exec.stdout.contains("== local (agent) exit 0 ==\nfrom-up"), "{exec:?}");

    // The status page beside it takes the same token.
    let base = url.trim_end_matches("/mcp");
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let form = url::form_urlencoded::Serializer::new(String::new()).append_pair("token", &token).finish();
    let login = browser.post(format!("{base}/ui/login")).header("content-type", "application/x-www-form-urlencoded");
    let signed_in = login.body(form).send().await.unwrap();
    assert_eq!(signed_in.status().as_u16(), 303);
    let cookie = signed_in.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let page = browser.get(format!("{base}/ui/api/hosts")).header("cookie", cookie).send().await.unwrap();
    let page: serde_json::Value = serde_json::from_str(&page.text().await.unwrap()).unwrap();
    assert_eq!((page["hosts"][0]["name"].as_str(), page["hosts"][0]["state"].as_str()), (Some("local"), Some("up")));

    let mut wrong = Command::new(herd_bin());
    wrong.args(["hosts"]).env("HERD_URL", &url).env("HERD_TOKEN", "wrong");
    let refused = run_bounded(wrong, Duration::from_secs(60)).await;
    assert!(!refused.status.success() && refused.stderr.contains("refused the credentials"), "{refused:?}");

    drop(child);
    let (_again, _, token_again) = up(home.path()).await;
    assert_eq!(token_again, token, "the token is generated once");
}

#[tokio::test(flavor = "multi_thread")]
async fn up_makes_an_existing_token_file_private_and_writes_hosts_toml_private() {
    let home = tempfile::tempdir().unwrap();
    let token_file = home.path().join("token");
    std::fs::write(&token_file, "kept-token\n").unwrap();
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (_child, _url, token) = up(home.path()).await;
    assert_eq!(token, "kept-token", "an existing token is used as it is");
    let mode = |name: &str| std::fs::metadata(home.path().join(name)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode("token"), 0o600, "the token file was narrowed");
    assert_eq!(mode("agent.token"), 0o600);
    assert_eq!(mode("hosts.toml"), 0o600, "hosts.toml holds other hosts' tokens");
}

#[tokio::test(flavor = "multi_thread")]
async fn up_runs_the_servers_of_agent_toml_on_the_local_agent() {
    let home = tempfile::tempdir().unwrap();
    let script = repo_root().join("crates/herd/tests/fixtures/stdio_server.py");
    let python = Deps::load().python();
    let config = format!(
        "[[servers]]\nname = \"fx\"\ncommand = {:?}\nargs = [{:?}]\n",
        python.display().to_string(),
        script.display().to_string()
    );
    std::fs::write(home.path().join("agent.toml"), config).unwrap();
    let (_child, url, _) = up(home.path()).await;

    // The server starts in the background: its state is polled, bounded.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let listed = verb(home.path(), &url, &["call", "local", "servers_list", "--json", "{}"]).await;
        if listed.stdout.contains(") running pid ") {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "fx never ran: {listed:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let echoed =
        verb(home.path(), &url, &["call", "local", "fx__echo", "--json", r#"{"text":"from agent.toml"}"#]).await;
    assert!(echoed.status.success() && echoed.stdout.contains("from agent.toml"), "{echoed:?}");
}
