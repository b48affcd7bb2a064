//! Supervised stdio MCP servers on a real `herd agent`: a server built on
//! the official Python SDK (tests/fixtures/stdio_server.py) shared by
//! concurrent sessions, restarted after a kill, ending in `crashed` when it
//! cannot start, leaving no process behind after unload or agent shutdown,
//! and receiving hostile-looking arguments as plain data.
//! `servers_real.rs` covers the npm and PyPI servers and the hub.

#![allow(clippy::unwrap_used)]

mod support;

#[path = "support/client.rs"]
mod client;

use client::{Client, text};
use serde_json::{Value, json};
use std::time::Duration;
use support::{Deps, Herd, repo_root};

const TOKEN: &str = "servers-test-token";

struct Agent {
    herd: Herd,
    client: Client,
    _home: tempfile::TempDir,
}

impl Agent {
    async fn start() -> Agent {
        let home = tempfile::tempdir().unwrap();
        let home_text = home.path().to_str().unwrap().to_owned();
        let args = ["agent", "--listen", "127.0.0.1:0", "--token", TOKEN];
        let herd = Herd::start_with_env(&args, &[("HERD_HOME", &home_text)]).await;
        let client = Client::connect(&herd.url, Some(TOKEN)).await;
        Agent { herd, client, _home: home }
    }

    async fn load(&self, spec: Value) -> Value {
        self.client.call("servers_load", spec).await
    }

    async fn whoami(&self, server: &str) -> (i32, i32) {
        let result = self.client.call(&format!("{server}__whoami"), json!({})).await;
        let me = &result["structuredContent"];
        (me["pid"].as_i64().unwrap() as i32, me["pgid"].as_i64().unwrap() as i32)
    }
}

fn fixture(name: &str) -> Value {
    let script = repo_root().join("crates/herd/tests/fixtures/stdio_server.py");
    json!({ "name": name, "command": Deps::load().python(), "args": [script], "wait": 60 })
}

fn state(result: &Value) -> &str {
    result["structuredContent"]["server"]["state"].as_str().unwrap_or("?")
}

/// Live (non-zombie) processes whose process group is `pgid`.
fn group_members(pgid: i32) -> Vec<i32> {
    let mut members = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        let Some((_, rest)) = stat.rsplit_once(')') else { continue };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.first() != Some(&"Z") && fields.get(2) == Some(&pgid.to_string().as_str()) {
            members.push(pid);
        }
    }
    members
}

/// Waits (bounded) for a process group to empty: its members are not our
/// children, so there is no event to wait on.
async fn wait_group_gone(pgid: i32, limit: Duration) -> Vec<i32> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let left = group_members(pgid);
        if left.is_empty() || tokio::time::Instant::now() >= deadline {
            return left;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn one_child_serves_concurrent_sessions_each_with_its_own_progress() {
    let agent = Agent::start().await;
    let loaded = agent.load(fixture("fx")).await;
    assert_eq!(state(&loaded), "running", "{loaded}");
    let tools = agent.client.tool_names().await;
    for tool in ["servers_list", "servers_load", "servers_unload", "servers_logs", "fx__echo", "fx__slow"] {
        assert!(tools.contains(&tool.to_owned()), "{tool} missing from {tools:?}");
    }
    let second = Client::connect(&agent.herd.url, Some(TOKEN)).await;
    let first = &agent.client;
    let no_questions = |_: &str, _: &Value| Value::Null;
    let (a, b) = tokio::join!(
        first.call_observed("fx__slow", json!({"label": "alpha", "steps": 6}), "tok-a", no_questions, |_| {}),
        second.call_observed("fx__slow", json!({"label": "beta", "steps": 4}), "tok-b", no_questions, |_| {}),
    );
    let (a_result, a_progress) = (a.0.unwrap(), a.1);
    let (b_result, b_progress) = (b.0.unwrap(), b.1);
    assert_eq!(text(&a_result), "done alpha");
    assert_eq!(text(&b_result), "done beta");
    assert_eq!(a_progress.len(), 6, "{a_progress:?}");
    assert_eq!(b_progress.len(), 4, "{b_progress:?}");
    assert!(
        a_progress.iter().all(|p| p["progressToken"] == "tok-a" && p["message"].as_str().unwrap().starts_with("alpha"))
    );
    assert!(
        b_progress.iter().all(|p| p["progressToken"] == "tok-b" && p["message"].as_str().unwrap().starts_with("beta"))
    );

    // A server's question goes back to the session whose call caused it.
    let answer = |method: &str, _: &Value| {
        assert_eq!(method, "sampling/createMessage");
        json!({"role": "assistant", "content": {"type": "text", "text": "forty-two"}, "model": "test"})
    };
    let (asked, _) = second.call_observed("fx__ask", json!({"question": "meaning?"}), "tok-c", answer, |_| {}).await;
    assert_eq!(text(&asked.unwrap()), "client said: forty-two");
    let (pid_a, _) = agent.whoami("fx").await;
    let (pid_b, _) = {
        let r = second.call("fx__whoami", json!({})).await;
        (r["structuredContent"]["pid"].as_i64().unwrap() as i32, 0)
    };
    assert_eq!(pid_a, pid_b, "both sessions share one child");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_child_fails_its_calls_at_once_and_comes_back() {
    let mut agent = Agent::start().await;
    assert_eq!(state(&agent.load(fixture("fx")).await), "running");
    let (pid, _) = agent.whoami("fx").await;

    // Kill the child as soon as the call is surely running: at its first
    // progress notification.
    let mut killed = false;
    let kill_once = |_: &Value| {
        if !std::mem::replace(&mut killed, true) {
            std::process::Command::new("kill").args(["-KILL", &pid.to_string()]).status().unwrap();
        }
    };
    let started = tokio::time::Instant::now();
    let args = json!({"label": "l", "steps": 2000});
    let outcome = agent.client.call_observed("fx__slow", args, "t", |_, _| Value::Null, kill_once).await;
    assert!(killed, "the call made no progress before it ended: {outcome:?}");
    let error = outcome.0.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10), "the pending call waited {:?}", started.elapsed());
    assert!(error["message"].as_str().unwrap().contains("server fx"), "{error}");

    agent.herd.wait_for_log("restarting a server", Duration::from_secs(30)).await;
    agent.herd.wait_for_log("server running", Duration::from_secs(30)).await;
    let (again, _) = agent.whoami("fx").await;
    assert_ne!(again, pid, "a new process serves");
    let listed = agent.client.call("servers_list", json!({})).await;
    let server = &listed["structuredContent"]["servers"][0];
    assert_eq!(server["state"], "running");
    assert_eq!(server["restarts"], 1);
    let logs = agent.client.call("servers_logs", json!({"name": "fx"})).await;
    assert!(text(&logs).contains("restart 1"), "{}", text(&logs));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_crashes_at_start_ends_crashed_with_its_stderr_readable() {
    let agent = Agent::start().await;
    let mut spec = fixture("broken");
    spec["env"] = json!({"FIXTURE_CRASH_AT_START": "database unreachable"});
    spec["max_restarts"] = json!(2);
    spec["restart_delay"] = json!(0.05);
    let loaded = agent.load(spec).await;
    assert_eq!(loaded["isError"], true, "{loaded}");
    assert_eq!(state(&loaded), "crashed", "{loaded}");
    let server = &loaded["structuredContent"]["server"];
    assert_eq!(server["restarts"], 2);
    assert!(server["error"].as_str().unwrap().contains("exited"), "{server}");
    assert!(text(&loaded).contains("fixture: cannot start: database unreachable"), "{}", text(&loaded));
    let logs = agent.client.call("servers_logs", json!({"name": "broken", "lines": 50})).await;
    let lines = logs["structuredContent"]["lines"].as_array().unwrap();
    let reasons = lines.iter().filter(|l| l.as_str().unwrap().contains("database unreachable")).count();
    assert_eq!(reasons, 3, "one start and two restarts: {lines:?}");
    // Its tools are not offered, and a call to it says why.
    assert!(!agent.client.tool_names().await.iter().any(|t| t.starts_with("broken__")));
    let listed = agent.client.call("servers_list", json!({})).await;
    assert_eq!(listed["structuredContent"]["servers"][0]["state"], "crashed");
    assert!(!text(&listed).contains("database unreachable"), "env values are never listed: {}", text(&listed));
}

#[tokio::test(flavor = "multi_thread")]
async fn unload_and_agent_shutdown_leave_no_process_of_the_server() {
    let mut agent = Agent::start().await;
    assert_eq!(state(&agent.load(fixture("fx")).await), "running");
    let (_, pgid) = agent.whoami("fx").await;
    let sleeper = agent.client.call("fx__spawn_sleeper", json!({})).await;
    let sleeper = sleeper["structuredContent"]["pid"].as_i64().unwrap() as i32;
    assert!(group_members(pgid).contains(&sleeper), "the grandchild is in the server's group");
    let unloaded = agent.client.call("servers_unload", json!({"name": "fx"})).await;
    assert_eq!(unloaded["structuredContent"]["unloaded"], true);
    // servers_unload returns once the group is gone: no waiting needed.
    assert_eq!(group_members(pgid), Vec::<i32>::new(), "left after unload");
    assert!(!agent.client.tool_names().await.iter().any(|t| t.starts_with("fx__")));

    assert_eq!(state(&agent.load(fixture("fx")).await), "running");
    let (_, pgid) = agent.whoami("fx").await;
    agent.client.call("fx__spawn_sleeper", json!({})).await;
    assert_eq!(group_members(pgid).len(), 2);
    let status = agent.herd.terminate(Duration::from_secs(20)).await;
    assert!(status.success(), "{status}");
    assert_eq!(group_members(pgid), Vec::<i32>::new(), "left after agent shutdown");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_loaded_without_autostart_is_listed_stopped_at_once() {
    let agent = Agent::start().await;
    let mut spec = fixture("idle");
    spec["autostart"] = json!(false);
    spec["wait"] = json!(600);
    // A load that starts nothing has nothing to wait for.
    let loaded = tokio::time::timeout(Duration::from_secs(30), agent.load(spec)).await;
    let loaded = loaded.expect("the load waited for a server it never started");
    assert_eq!(state(&loaded), "stopped", "{loaded}");
    let listed = agent.client.call("servers_list", json!({})).await;
    assert_eq!(listed["structuredContent"]["servers"][0]["state"], "stopped", "{listed}");
    assert!(!agent.client.tool_names().await.iter().any(|t| t.starts_with("idle__")));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_agent_killed_outright_takes_its_server_along() {
    let mut agent = Agent::start().await;
    assert_eq!(state(&agent.load(fixture("fx")).await), "running");
    let (_, pgid) = agent.whoami("fx").await;
    // Without the parent-death signal this server would survive: it does
    // not exit when its stdin closes.
    agent.client.call("fx__linger", json!({})).await;
    agent.herd.kill().await;
    let left = wait_group_gone(pgid, Duration::from_secs(10)).await;
    assert_eq!(left, Vec::<i32>::new(), "the server outlived a SIGKILLed agent");
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_looking_specs_are_refused_or_passed_as_plain_data() {
    let agent = Agent::start().await;
    let dir = tempfile::tempdir().unwrap();
    let marker = |n: u32| dir.path().join(format!("pwned{n}"));
    let touch = |n: u32| format!("touch {}", marker(n).display());
    let refused = [
        json!({"name": format!("x$({})", touch(1)), "command": "true"}),
        json!({"name": "x", "npx": format!("pkg;{}", touch(2))}),
        json!({"name": "x", "npx": format!("--prefix=/tmp/$({})", touch(3))}),
        json!({"name": "x", "uvx": format!("pkg\n{}", touch(4))}),
        json!({"name": "x", "git": format!("ext::sh -c {}", touch(5))}),
        json!({"name": "x", "git": format!("--upload-pack={}", touch(6))}),
        json!({"name": "x", "git": "https://example.invalid/r.git", "branch": format!("`{}`", touch(7))}),
        json!({"name": "x", "command": format!("-c {}", touch(8))}),
        json!({"name": "x", "command": "true", "env": {format!("A$({})", touch(9)): "1"}}),
    ];
    for spec in refused {
        let result = agent.client.call("servers_load", spec.clone()).await;
        assert_eq!(result["isError"], true, "accepted {spec}: {result}");
    }
    let odd = [
        format!("$({})", touch(10)),
        format!("; {}", touch(11)),
        format!("`{}`", touch(12)),
        format!("'\"\n{}", touch(13)),
        "--help".to_owned(),
    ];
    let mut spec = fixture("plain");
    spec["args"].as_array_mut().unwrap().extend(odd.iter().map(|a| json!(a)));
    spec["env"] = json!({"ODD": format!("$({}); `{}`", touch(14), touch(15))});
    assert_eq!(state(&agent.load(spec).await), "running");
    let argv = agent.client.call("plain__argv", json!({})).await;
    let argv: Vec<String> = serde_json::from_value(argv["structuredContent"]["argv"].clone()).unwrap();
    assert_eq!(argv, odd, "arguments arrive byte for byte");
    let env = agent.client.call("plain__env", json!({"name": "ODD"})).await;
    assert_eq!(env["structuredContent"]["value"], format!("$({}); `{}`", touch(14), touch(15)));
    let leaked = agent.client.call("plain__env", json!({"name": "HERD_HOME"})).await;
    assert_eq!(leaked["structuredContent"]["value"], Value::Null, "herd's own variables stay out");
    for n in 1..=15 {
        assert!(!marker(n).exists(), "{} was created: something ran a shell", marker(n).display());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn servers_from_a_git_branch_and_from_a_local_directory() {
    let agent = Agent::start().await;
    let work = tempfile::tempdir().unwrap();
    let repo = work.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    let script = repo_root().join("crates/herd/tests/fixtures/stdio_server.py");
    std::fs::copy(&script, repo.join("stdio_server.py")).unwrap();
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git").args(args).current_dir(&repo).output().unwrap();
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    git(&["init", "--quiet", "--initial-branch", "main"]);
    git(&["-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "--allow-empty", "-m", "empty"]);
    git(&["checkout", "--quiet", "-b", "v1"]);
    git(&["add", "stdio_server.py"]);
    git(&["-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "-m", "server"]);
    git(&["checkout", "--quiet", "main"]);

    let python = Deps::load().python();
    let url = format!("file://{}", repo.display());
    let from_git = json!({"name": "g", "git": url, "branch": "v1", "command": python, "args": ["stdio_server.py"]});
    let loaded = agent.load(from_git).await;
    assert_eq!(state(&loaded), "running", "{loaded}");
    assert_eq!(loaded["structuredContent"]["server"]["source"], format!("git {url}#v1"));
    assert_eq!(text(&agent.client.call("g__echo", json!({"text": "from git"})).await), "from git");

    let from_dir = json!({"name": "d", "path": repo, "command": python, "args": [script]});
    assert_eq!(state(&agent.load(from_dir).await), "running");
    assert_eq!(text(&agent.client.call("d__echo", json!({"text": "from a dir"})).await), "from a dir");

    // main has no server: a clone of it cannot start, and says so.
    let wrong = json!({"name": "w", "git": url, "command": python, "args": ["stdio_server.py"], "restart": "never"});
    let failed = agent.load(wrong).await;
    assert_eq!(state(&failed), "crashed", "{failed}");
    assert!(text(&failed).contains("stdio_server.py"), "{}", text(&failed));
}

/// Live (non-zombie) processes whose command line mentions `needle`.
fn processes_mentioning(needle: &str) -> Vec<i32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else { continue };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else { continue };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        let zombie = stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'));
        if !zombie && String::from_utf8_lossy(&cmdline).contains(needle) {
            found.push(pid);
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread")]
async fn unloading_mid_install_ends_the_installer_and_a_reload_replaces_the_server() {
    let agent = Agent::start().await;
    // A git server that accepts and never answers: the clone hangs.
    let hole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("git://127.0.0.1:{}/stuck.git", hole.local_addr().unwrap().port());
    let loaded = agent.load(json!({"name": "stuck", "git": url, "command": "x", "wait": 0})).await;
    assert_eq!(state(&loaded), "installing", "{loaded}");
    let _connection = tokio::task::spawn_blocking(move || hole.accept().unwrap()).await.unwrap();
    assert!(!processes_mentioning(&url).is_empty(), "git clone is running");
    let unloaded = agent.client.call("servers_unload", json!({"name": "stuck"})).await;
    assert_eq!(unloaded["structuredContent"]["unloaded"], true);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !processes_mentioning(&url).is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(processes_mentioning(&url), Vec::<i32>::new(), "the installer outlived the unload");

    // Loading a name again replaces the server: one process, the new one.
    assert_eq!(state(&agent.load(fixture("fx")).await), "running");
    let (first, first_group) = agent.whoami("fx").await;
    let (a, b) = tokio::join!(agent.load(fixture("fx")), agent.load(fixture("fx")));
    // The later of the two wins; the earlier may have been replaced
    // before it came up, and then says so.
    let states = [state(&a), state(&b)];
    assert!(states.contains(&"running"), "{a}\n{b}");
    for outcome in [&a, &b].into_iter().filter(|o| state(o) != "running") {
        assert_eq!(state(outcome), "stopped", "{outcome}");
        assert!(text(outcome).contains("replaced by a later load"), "{outcome}");
    }
    let (second, _) = agent.whoami("fx").await;
    assert_ne!(first, second);
    assert_eq!(group_members(first_group), Vec::<i32>::new(), "the replaced server is gone");
    let listed = agent.client.call("servers_list", json!({})).await;
    assert_eq!(listed["structuredContent"]["servers"].as_array().unwrap().len(), 1);
    assert_eq!(children_of(agent.herd.pid() as i32), vec![second], "exactly one server process runs");
}

/// Live (non-zombie) processes whose parent is `ppid`.
fn children_of(ppid: i32) -> Vec<i32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        let Some((_, rest)) = stat.rsplit_once(')') else { continue };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.first() != Some(&"Z") && fields.get(1) == Some(&ppid.to_string().as_str()) {
            found.push(pid);
        }
    }
    found
}
