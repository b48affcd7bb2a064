//! The status page at `/ui`, end to end: `herd hub` over two real `herd
//! agent` processes, `web1` (tag `web`) and `db1` (tag `db`), users with
//! real `herd_` tokens in the hub's store: `root` (admin) and `webop`
//! (operator granted `@web`).
//!
//! One test drives Debian's chromium (headless, loopback, its own
//! profile) through signing in, watching an agent go down without a
//! reload, the policy's view for the operator, a refused token and
//! signing out. The others speak plain HTTP to the JSON endpoints.

#![allow(clippy::unwrap_used)]

#[path = "support/browser.rs"]
mod browser;
mod support;

use browser::Browser;
use herd_auth::Role;
use herd_store::{AuditFilter, NewUser, Store};
use serde_json::Value;
use std::time::Duration;
use support::Herd;

const AGENT_TOKEN: &str = "agent-test-token";
/// Longest the page may take to show a change the hub already knows of:
/// the hub re-probes every 5 s and the page polls every 2 s.
const SEEN_WITHIN: Duration = Duration::from_secs(30);

struct Fleet {
    base: String,
    store: Store,
    root: String,
    webop: String,
    hub: Herd,
    agents: Vec<Herd>,
    _workstation: Herd,
    _provider: herd_test_provider::ScriptedProvider,
    _dir: tempfile::TempDir,
}

/// The hub (UP results trusted 1 s, so a dead agent is seen at the next
/// background round) over `web1` and `db1`, and the two users.
async fn fleet() -> Fleet {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let store = Store::open(home.join("herd.db").to_str().unwrap()).await.unwrap();
    let mut tokens = Vec::new();
    for (name, role, hosts) in [("root", Role::Admin, vec![]), ("webop", Role::Operator, vec!["@web".to_owned()])] {
        store.add_user(&NewUser { hosts, ..NewUser::new(name, role) }).await.unwrap();
        let (_, secret) = store.create_token(name, None, None).await.unwrap();
        tokens.push(secret.expose_secret().to_owned());
    }
    let mut agents = Vec::new();
    let mut registry = "[health]\nup_ttl = 1\ndown_min = 1\nbudget = 2\n".to_owned();
    // web1 supervises a server that fails at start, saying why on stderr.
    let script = support::repo_root().join("crates/herd/tests/fixtures/stdio_server.py");
    let agent_config = home.join("agent.toml");
    let servers = format!(
        "[[servers]]\nname = \"broken\"\ncommand = \"python3\"\nargs = [{:?}]\nrestart = \"never\"\n\
         env = {{ FIXTURE_CRASH_AT_START = \"no disk\" }}\n",
        script.to_str().unwrap()
    );
    std::fs::write(&agent_config, servers).unwrap();
    let agent_config = agent_config.to_str().unwrap();
    for (host, tag) in [("web1", "web"), ("db1", "db")] {
        let mut args = vec!["agent", "--listen", "127.0.0.1:0", "--token", AGENT_TOKEN];
        if host == "web1" {
            args.extend(["--config", agent_config]);
        }
        let mut agent = Herd::start(&args).await;
        if host == "web1" {
            agent.logged("server not running", SEEN_WITHIN).await;
        }
        registry.push_str(&format!(
            "[[hosts]]\nname = \"{host}\"\nurl = \"{}\"\ntoken = \"{AGENT_TOKEN}\"\ntags = [\"{tag}\"]\n",
            agent.url
        ));
        agents.push(agent);
    }
    let config = home.join("hosts.toml");
    std::fs::write(&config, registry).unwrap();
    let (config, home_arg) = (config.to_str().unwrap(), home.to_str().unwrap());
    let hub = Herd::start(&["hub", "--config", config, "--home", home_arg, "--listen", "127.0.0.1:0"]).await;
    let base = hub.url.trim_end_matches("/mcp").to_owned();
    let [root, webop] = <[String; 2]>::try_from(tokens).unwrap();

    // ws1, root's workstation, joins over its channel and publishes a
    // public LLM.
    let provider = herd_test_provider::ScriptedProvider::start(herd_test_provider::Script::default()).await.unwrap();
    let ws_config = home.join("ws1.toml");
    std::fs::write(
        &ws_config,
        format!(
            "name = \"ws1\"\nhub = \"{base}\"\nhub_token_env = \"HERD_HUB_TOKEN\"\n\
             [[llm]]\nname = \"qwen-local\"\nurl = \"{}\"\nvisibility = \"public\"\nmax_concurrency = 2\n",
            provider.base_url()
        ),
    )
    .unwrap();
    let ws_home = home.join("ws1-home");
    std::fs::create_dir_all(&ws_home).unwrap();
    let env = [("HERD_HUB_TOKEN", root.as_str()), ("HERD_HOME", ws_home.to_str().unwrap())];
    let workstation = Herd::start_with_env(&["agent", "--config", ws_config.to_str().unwrap()], &env).await;
    let mut hub = hub;
    hub.wait_for_log("LLM models listed", SEEN_WITHIN).await;
    Fleet { base, store, root, webop, hub, agents, _workstation: workstation, _provider: provider, _dir: dir }
}

/// Signs in through the form with `token` and waits for the next page.
async fn sign_in(browser: &mut Browser, base: &str, token: &str) {
    browser.goto(&format!("{base}/ui/login")).await;
    let script = format!(
        "document.getElementById('token').value = {}; document.querySelector('form button').click(); true",
        serde_json::to_string(token).unwrap()
    );
    browser.navigate_by(&script).await;
}

fn host_rows() -> &'static str {
    "Array.from(document.querySelectorAll('#hosts tbody tr'))\
        .map(r => r.dataset.host + ':' + r.querySelector('[data-state]').dataset.state)"
}

#[tokio::test]
async fn the_page_signs_in_follows_the_fleet_live_and_signs_out() {
    let mut fleet = fleet().await;
    let base = fleet.base.clone();
    // The cookie's path.
    let page = format!("{base}/ui");
    let mut browser = Browser::start().await;
    browser.window(1280, 860).await;
    // Every page records what the Content-Security-Policy blocked and what
    // its script threw.
    let watch = "window.problems = [];\
        document.addEventListener('securitypolicyviolation', e => problems.push('csp: ' + e.violatedDirective));\
        window.addEventListener('error', e => problems.push('error: ' + e.message));";
    browser.command("Page.addScriptToEvaluateOnNewDocument", serde_json::json!({ "source": watch })).await;

    // A wrong token: a clear error, no cookie.
    sign_in(&mut browser, &base, "herd_not-a-real-token").await;
    let error = browser.eval("document.getElementById('error').textContent").await;
    assert!(error.as_str().unwrap().contains("That token was not accepted"), "{error}");
    browser.screenshot("ui", "1-sign-in-refused").await;
    assert_eq!(browser.eval("location.pathname").await, "/ui/login");
    assert!(browser.cookies(&page).await.is_empty());

    // The admin sees both agents, up.
    sign_in(&mut browser, &base, &fleet.root).await;
    assert_eq!(browser.eval("location.pathname").await, "/ui");
    browser.wait_for(&format!("{}.join() === 'web1:up,db1:up,ws1:up'", host_rows()), SEEN_WITHIN).await;
    browser.wait_for("document.getElementById('who').textContent === 'root'", SEEN_WITHIN).await;
    browser.wait_for("!document.getElementById('audit-section').hidden", SEEN_WITHIN).await;
    // ws1's LLM, with its state, host, owner and load.
    let llm = "document.querySelector('#models tr[data-model=\"qwen-local\"]')";
    browser
        .wait_for(&format!("{llm} && {llm}.querySelector('[data-state]').dataset.state === 'active'"), SEEN_WITHIN)
        .await;
    let row = browser.eval(&format!("Array.from({llm}.cells).map(c => c.textContent)")).await;
    assert_eq!(row, serde_json::json!(["qwen-local", "provider", "active", "ws1", "", "root", "0 / 2"]));
    browser.screenshot("ui", "2-admin-fleet").await;

    assert_eq!(browser.eval("window.problems").await, serde_json::json!([]));

    // The token is in an HttpOnly, SameSite=Strict cookie scripts cannot
    // read, and nowhere in the page.
    assert_eq!(browser.eval("document.cookie").await, "");
    let html = browser.eval("document.documentElement.outerHTML").await;
    assert!(!html.as_str().unwrap().contains(&fleet.root), "the token is in the page");
    let cookies = browser.cookies(&page).await;
    assert_eq!(cookies.len(), 1, "{cookies:?}");
    assert_eq!(cookies[0]["name"], "herd_ui");
    assert_eq!(cookies[0]["httpOnly"], true);
    assert_eq!(cookies[0]["sameSite"], "Strict");
    assert_eq!(cookies[0]["path"], "/ui");

    // web1's servers, and the last lines of the one that failed.
    browser.eval("document.querySelector('#hosts tr[data-host=web1] button').click(); true").await;
    browser.wait_for("document.querySelector('#servers tr[data-server=broken] [data-state]')", SEEN_WITHIN).await;
    let state =
        browser.eval("document.querySelector('#servers tr[data-server=broken] [data-state]').dataset.state").await;
    assert_eq!(state, "crashed");
    browser.eval("document.querySelector('#servers tr[data-server=broken] button').click(); true").await;
    browser.wait_for("document.getElementById('server-log').textContent.includes('no disk')", SEEN_WITHIN).await;
    browser.screenshot("ui", "3-servers-and-log").await;
    assert_eq!(browser.eval("window.problems").await, serde_json::json!([]));

    // An agent dies: its row turns down in place, without a reload.
    browser.eval("window.notReloaded = true").await;
    fleet.agents[1].kill().await;
    browser.wait_for(&format!("{}.join() === 'web1:up,db1:down,ws1:up'", host_rows()), SEEN_WITHIN).await;
    assert_eq!(browser.eval("window.notReloaded === true").await, true, "the page was reloaded");
    let error = browser.eval("document.querySelector('#hosts tr[data-host=db1] td.err').textContent").await;
    assert!(!error.as_str().unwrap().is_empty(), "the down host shows its last error");
    browser.screenshot("ui", "4-host-down").await;

    // Signing out clears the cookie; the page is then behind the form.
    browser.navigate_by("document.getElementById('logout').click(); true").await;
    assert_eq!(browser.eval("location.pathname").await, "/ui/login");
    assert!(browser.cookies(&page).await.is_empty());
    browser.goto(&format!("{base}/ui")).await;
    assert_eq!(browser.eval("location.pathname").await, "/ui/login");

    // The operator granted @web sees web1 only, and no audit.
    sign_in(&mut browser, &base, &fleet.webop).await;
    browser.wait_for(&format!("{}.join() === 'web1:up'", host_rows()), SEEN_WITHIN).await;
    browser.wait_for("document.getElementById('who').textContent === 'webop'", SEEN_WITHIN).await;
    // A public model is theirs to use, so theirs to see; its host is not.
    browser.wait_for("document.querySelector('#models tr[data-model=\"qwen-local\"]')", SEEN_WITHIN).await;
    assert_eq!(browser.eval("document.getElementById('audit-section').hidden").await, true);
    let text = browser.eval("document.body.innerText").await;
    assert!(!text.as_str().unwrap().contains("db1"), "the operator sees db1:\n{text}");
    browser.screenshot("ui", "5-operator-view").await;

    // Revoked: the next poll is refused and the page goes to the form.
    let tokens = fleet.store.list_tokens(Some("webop")).await.unwrap();
    browser.forget_events();
    fleet.store.revoke_token(&tokens[0].id).await.unwrap();
    browser.event("Page.loadEventFired").await;
    assert_eq!(browser.eval("location.pathname").await, "/ui/login");
    assert!(browser.cookies(&page).await.is_empty());
    drop(browser);
    let _ = fleet.hub.stderr_text();
}

/// `GET path` with the cookie of `token` (none when `None`).
async fn get(base: &str, path: &str, token: Option<&str>) -> (u16, Value) {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    let mut request = client.get(format!("{base}{path}"));
    if let Some(token) = token {
        request = request.header("cookie", format!("herd_ui={token}"));
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let body = response.text().await.unwrap();
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

fn names(hosts: &Value) -> Vec<&str> {
    hosts["hosts"].as_array().unwrap().iter().map(|h| h["name"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn the_json_endpoints_ask_for_a_cookie_and_follow_the_policy() {
    let fleet = fleet().await;
    let base = &fleet.base;
    for path in ["/ui/api/me", "/ui/api/hosts", "/ui/api/audit", "/ui/api/hosts/web1/servers"] {
        let (status, body) = get(base, path, None).await;
        assert_eq!(status, 401, "{path}: {body}");
        let (status, _) = get(base, path, Some("herd_wrong")).await;
        assert_eq!(status, 401, "{path}");
    }
    // A bearer token is not a session: the page reads only its cookie.
    let client = reqwest::Client::new();
    let bearer = client.get(format!("{base}/ui/api/hosts")).bearer_auth(&fleet.root).send().await.unwrap();
    assert_eq!(bearer.status().as_u16(), 401);

    let (status, hosts) = get(base, "/ui/api/hosts", Some(&fleet.root)).await;
    assert_eq!(status, 200);
    assert_eq!(names(&hosts), ["web1", "db1", "ws1"]);
    assert_eq!(hosts["hosts"][2]["paths"], serde_json::json!(["channel"]));
    for host in &hosts["hosts"].as_array().unwrap()[..2] {
        assert_eq!(host["state"], "up", "{host}");
        assert_eq!(host["paths"], serde_json::json!(["http"]));
        assert!(host["latency_ms"].as_f64().unwrap() > 0.0, "{host}");
        assert!(!host["url"].as_str().unwrap().contains(AGENT_TOKEN));
    }
    let (_, hosts) = get(base, "/ui/api/hosts", Some(&fleet.webop)).await;
    assert_eq!(names(&hosts), ["web1"]);

    // Servers go through remote_call: decided and audited like MCP.
    let (status, servers) = get(base, "/ui/api/hosts/web1/servers", Some(&fleet.webop)).await;
    assert_eq!(status, 200, "{servers}");
    assert_eq!(servers["servers"][0]["name"], "broken", "{servers}");
    assert_eq!(servers["servers"][0]["state"], "crashed", "{servers}");
    let (status, log) = get(base, "/ui/api/hosts/web1/servers/broken/logs", Some(&fleet.root)).await;
    assert_eq!(status, 200, "{log}");
    assert!(log["lines"].to_string().contains("fixture: cannot start: no disk"), "{log}");
    let (status, denied) = get(base, "/ui/api/hosts/db1/servers", Some(&fleet.webop)).await;
    assert_eq!(status, 403, "{denied}");
    assert!(denied["error"]["message"].as_str().unwrap().contains("no grant for host db1"), "{denied}");
    let (status, missing) = get(base, "/ui/api/hosts/web1/servers/nope/logs", Some(&fleet.root)).await;
    assert_eq!(status, 502, "{missing}");
    let filter = AuditFilter { user: Some("webop".into()), ..AuditFilter::default() };
    let records = fleet.store.query_audit(&filter).await.unwrap();
    let outcomes: Vec<(&str, &str)> =
        records.iter().map(|r| (r.target.as_deref().unwrap_or(""), r.outcome.as_str())).collect();
    assert_eq!(outcomes, [("remote_call", "ok"), ("remote_call", "denied")]);

    // The audit log is for admins, with filters.
    let (status, denied) = get(base, "/ui/api/audit", Some(&fleet.webop)).await;
    assert_eq!(status, 403, "{denied}");
    let (status, audit) = get(base, "/ui/api/audit?user=webop&outcome=denied", Some(&fleet.root)).await;
    assert_eq!(status, 200, "{audit}");
    let records = audit["records"].as_array().unwrap();
    assert_eq!(records.len(), 1, "{audit}");
    assert_eq!(records[0]["hosts"], serde_json::json!(["db1"]));
    let (status, bad) = get(base, "/ui/api/audit?since=soon", Some(&fleet.root)).await;
    assert_eq!(status, 400, "{bad}");
}
