//! Users' tokens at a real hub: two users each hold a session through the
//! official Python SDK client (PyPI `mcp`, `tests/clients/py_auth_client.py`),
//! neither can use or end the other's session (404), a revoked token ends
//! its session's next request and its open SSE stream, and an expired token
//! is refused. Users and tokens are made in the hub's own state
//! (`$HERD_HOME/herd.db`) by this process, as `herd token revoke --home`
//! would, so a revocation reaches the running hub within its cache bound
//! (`herd_access::CACHE_TTL`) and streams within twice that.

#![allow(clippy::unwrap_used)]

mod support;

use herd_store::{NewUser, Role, Store, Timestamp};
use serde_json::{Value, json};
use std::process::Stdio;
use std::time::Duration;
use support::{Deps, Herd, repo_root};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

/// Longer than any refusal may take to reach a stream: two cache periods
/// and a margin for a loaded machine.
const STREAM_END_LIMIT: Duration = Duration::from_secs(15);

/// A hub over a conformance server, with users `alice` (operator) and
/// `bob` (viewer) in its state.
struct Fixture {
    hub: Herd,
    _backend: Herd,
    store: Store,
    _home: tempfile::TempDir,
}

impl Fixture {
    async fn start() -> Fixture {
        let home = tempfile::tempdir().unwrap();
        let store = Store::open(home.path().join("herd.db").to_str().unwrap()).await.unwrap();
        store.add_user(&NewUser::new("alice", Role::Operator)).await.unwrap();
        store.add_user(&NewUser::new("bob", Role::Viewer)).await.unwrap();
        let backend = Herd::start(&["conformance-server", "--insecure-no-auth", "--listen", "127.0.0.1:0"]).await;
        let config = home.path().join("hosts.toml");
        let registry = format!("[[hosts]]\nname = \"conformance\"\nurl = \"{}\"\nexpose = {{}}\n", backend.url);
        std::fs::write(&config, registry).unwrap();
        let home_text = home.path().to_str().unwrap();
        let args = ["hub", "--config", config.to_str().unwrap(), "--listen", "127.0.0.1:0"];
        let hub = Herd::start_with_env(&args, &[("HERD_HOME", home_text)]).await;
        Fixture { hub, _backend: backend, store, _home: home }
    }

    /// A new token of `user` (`expires_at` optional): its id and secret.
    async fn token(&self, user: &str, expires_at: Option<Timestamp>) -> (String, String) {
        let (record, secret) = self.store.create_token(user, None, expires_at).await.unwrap();
        (record.id, secret.expose_secret().to_owned())
    }
}

/// The Python SDK client holding one session open.
struct PyClient {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    session: String,
    tools: Vec<String>,
}

impl PyClient {
    async fn open(url: &str, token: &str) -> PyClient {
        let script = repo_root().join("tests/clients/py_auth_client.py");
        let mut child = Command::new(Deps::load().python())
            .arg(script)
            .args([url, token])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let open = next_line(&mut lines).await;
        assert_eq!(open["step"], "open", "{open}");
        let session = open["session"].as_str().expect("a session id").to_owned();
        let tools = names(&open["tools"]);
        PyClient { child, lines, session, tools }
    }

    /// Lists the tools in the open session: the names, or the error text.
    async fn list(&mut self) -> Result<Vec<String>, String> {
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin.write_all(b"list\n").await.unwrap();
        stdin.flush().await.unwrap();
        let answer = next_line(&mut self.lines).await;
        match answer["error"].as_str() {
            Some(error) => Err(error.to_owned()),
            None => Ok(names(&answer["tools"])),
        }
    }
}

async fn next_line(lines: &mut Lines<BufReader<ChildStdout>>) -> Value {
    let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .expect("the Python client answers within 60 s")
        .unwrap()
        .expect("the Python client printed a line");
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
}

fn names(list: &Value) -> Vec<String> {
    list.as_array().unwrap().iter().map(|n| n.as_str().unwrap().to_owned()).collect()
}

/// Raw HTTP to the hub, to see statuses and headers the SDK hides.
struct Wire {
    http: reqwest::Client,
    url: String,
}

impl Wire {
    fn new(url: &str) -> Wire {
        Wire { http: reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap(), url: url.to_owned() }
    }

    fn request(&self, method: reqwest::Method, token: Option<&str>, session: Option<&str>) -> reqwest::RequestBuilder {
        let mut request = self
            .http
            .request(method, &self.url)
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json");
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(session) = session {
            request = request.header("mcp-session-id", session);
        }
        request
    }

    /// `POST message`: the status and the `WWW-Authenticate` header.
    async fn post(&self, token: Option<&str>, session: Option<&str>, message: Value) -> (u16, String) {
        let response =
            self.request(reqwest::Method::POST, token, session).body(message.to_string()).send().await.unwrap();
        (response.status().as_u16(), challenge(&response))
    }

    /// Opens a session with `token`: its id.
    async fn initialize(&self, token: &str) -> String {
        let response =
            self.request(reqwest::Method::POST, Some(token), None).body(initialize().to_string()).send().await.unwrap();
        assert_eq!(response.status(), 200, "{}", challenge(&response));
        let session = response.headers()["mcp-session-id"].to_str().unwrap().to_owned();
        let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        assert_eq!(self.post(Some(token), Some(&session), initialized).await.0, 202);
        session
    }
}

fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "access-test", "version": "1"}}})
}

fn tools_list() -> Value {
    json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
}

fn challenge(response: &reqwest::Response) -> String {
    response.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_users_hold_their_own_sessions_and_cannot_touch_each_others() {
    let fx = Fixture::start().await;
    let (_, alice_token) = fx.token("alice", None).await;
    let (_, bob_token) = fx.token("bob", None).await;
    let mut alice = PyClient::open(&fx.hub.url, &alice_token).await;
    let mut bob = PyClient::open(&fx.hub.url, &bob_token).await;
    assert_ne!(alice.session, bob.session);
    assert!(alice.tools.iter().any(|t| t == "remote_list_hosts"), "{:?}", alice.tools);

    let wire = Wire::new(&fx.hub.url);
    // Bob's token on Alice's session: as if it did not exist.
    let (status, _) = wire.post(Some(&bob_token), Some(&alice.session), tools_list()).await;
    assert_eq!(status, 404, "bob must not use alice's session");
    let get = wire.request(reqwest::Method::GET, Some(&bob_token), Some(&alice.session)).send().await.unwrap();
    assert_eq!(get.status(), 404, "bob must not open alice's stream");
    let delete = wire.request(reqwest::Method::DELETE, Some(&bob_token), Some(&alice.session)).send().await.unwrap();
    assert_eq!(delete.status(), 404, "bob must not end alice's session");
    // ... which both still work.
    assert_eq!(alice.list().await.unwrap(), alice.tools);
    assert_eq!(bob.list().await.unwrap(), bob.tools);

    // No token, an unknown one, a malformed one: 401 with a challenge.
    let (status, challenge) = wire.post(None, None, initialize()).await;
    assert_eq!(status, 401);
    assert!(challenge.starts_with("Bearer ") && !challenge.contains("error="), "{challenge}");
    let unknown = format!("herd_{}", "A".repeat(43));
    let (status, challenge) = wire.post(Some(&unknown), None, initialize()).await;
    assert_eq!(status, 401);
    assert!(challenge.contains(r#"error="invalid_token""#), "{challenge}");
    assert!(!challenge.contains(&unknown), "the token is not echoed: {challenge}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revoked_token_ends_its_sessions_next_request_and_its_stream() {
    let fx = Fixture::start().await;
    let (alice_id, alice_token) = fx.token("alice", None).await;
    let (_, bob_token) = fx.token("bob", None).await;
    let mut alice = PyClient::open(&fx.hub.url, &alice_token).await;
    let mut bob = PyClient::open(&fx.hub.url, &bob_token).await;
    let wire = Wire::new(&fx.hub.url);
    let session = wire.initialize(&alice_token).await;
    let mut stream = wire.request(reqwest::Method::GET, Some(&alice_token), Some(&session)).send().await.unwrap();
    assert_eq!(stream.status(), 200);

    fx.store.revoke_token(&alice_id).await.unwrap();
    // The open stream ends once the hub sees the revocation...
    let ended = tokio::time::timeout(STREAM_END_LIMIT, async {
        while let Some(chunk) = stream.chunk().await.unwrap() {
            assert!(!chunk.is_empty());
        }
    })
    .await;
    assert!(ended.is_ok(), "the stream of a revoked token was still open after {STREAM_END_LIMIT:?}");
    // ... and from then on every request of the token is refused.
    let (status, challenge) = wire.post(Some(&alice_token), Some(&session), tools_list()).await;
    assert_eq!(status, 401);
    assert!(challenge.contains("revoked"), "{challenge}");
    let refused = alice.list().await.expect_err("the SDK session of a revoked token must fail");
    assert!(!refused.is_empty());
    // Bob is untouched.
    assert_eq!(bob.list().await.unwrap(), bob.tools);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_token_is_refused() {
    let fx = Fixture::start().await;
    let wire = Wire::new(&fx.hub.url);
    let past = Timestamp::now().saturating_sub(Duration::from_secs(1));
    let (_, expired) = fx.token("bob", Some(past)).await;
    let (status, challenge) = wire.post(Some(&expired), None, initialize()).await;
    assert_eq!(status, 401);
    assert!(challenge.contains("expired"), "{challenge}");

    // A token that expires while its session is open fails on its next
    // request, though the hub had it cached.
    let expires = Timestamp::now().saturating_add(Duration::from_millis(1500));
    let (_, short) = fx.token("bob", Some(expires)).await;
    let session = wire.initialize(&short).await;
    let wait = expires.unix_millis().saturating_sub(Timestamp::now().unix_millis()) + 100;
    tokio::time::sleep(Duration::from_millis(wait.try_into().unwrap())).await;
    let (status, challenge) = wire.post(Some(&short), Some(&session), tools_list()).await;
    assert_eq!(status, 401);
    assert!(challenge.contains("expired"), "{challenge}");
}
