//! A real browser for the status page tests: Debian's `chromium`, headless,
//! on loopback, with a temporary profile, driven over the DevTools protocol
//! (one WebSocket, one page attached in flat mode).
//!
//! The browser runs in a process group of its own, killed on drop, so no
//! renderer or zygote outlives the test. Waiting is done by events: page
//! loads by `Page.loadEventFired`, page state by a `MutationObserver`
//! promise evaluated in the page (bounded by a deadline of its own).
#![allow(dead_code, unreachable_pub)]

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::time::{Instant, timeout_at};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long the browser may take to start and print its DevTools address.
const START_LIMIT: Duration = Duration::from_secs(30);
/// How long one DevTools command or awaited event may take.
const STEP_LIMIT: Duration = Duration::from_secs(30);

/// The chromium binary: `HERD_CHROMIUM`, else what `scripts/test-deps`
/// wrote to `.cache/test-deps.env`; panics when neither names one.
pub fn chromium() -> PathBuf {
    if let Some(path) = std::env::var_os("HERD_CHROMIUM") {
        return PathBuf::from(path);
    }
    let cache =
        std::env::var_os("HERD_CACHE_DIR").map_or_else(|| crate::support::repo_root().join(".cache"), PathBuf::from);
    let file = cache.join("test-deps.env");
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    let line = text.lines().find_map(|l| l.trim().strip_prefix("export HERD_CHROMIUM="));
    let path = PathBuf::from(line.unwrap_or_else(|| {
        panic!("HERD_CHROMIUM is not set and not in {}; run scripts/test-deps first", file.display())
    }));
    assert!(path.exists(), "{} does not exist; run scripts/test-deps first", path.display());
    path
}

/// A headless chromium with one page.
pub struct Browser {
    child: Child,
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    session: String,
    next_id: u64,
    events: VecDeque<Value>,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts the browser and opens a blank page.
    pub async fn start() -> Browser {
        let profile = tempfile::tempdir().expect("a profile dir");
        let mut cmd = Command::new(chromium());
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-sync",
            "--disable-component-update",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("about:blank")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start chromium: {e}"));
        let mut lines = BufReader::new(child.stderr.take().expect("piped stderr")).lines();
        let deadline = Instant::now() + START_LIMIT;
        let mut seen = Vec::new();
        let address = loop {
            match timeout_at(deadline, lines.next_line()).await {
                Ok(Ok(Some(line))) => {
                    if let Some(at) = line.find("ws://") {
                        break line[at..].trim().to_owned();
                    }
                    seen.push(line);
                }
                other => panic!("chromium printed no DevTools address ({other:?}):\n{}", seen.join("\n")),
            }
        };
        // Keep reading so the browser never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let (ws, _) = tokio_tungstenite::connect_async(address.as_str()).await.expect("DevTools connection");
        let mut browser =
            Browser { child, ws, session: String::new(), next_id: 0, events: VecDeque::new(), _profile: profile };
        let target = browser.browser_command("Target.createTarget", json!({ "url": "about:blank" })).await;
        let target_id = target["targetId"].as_str().expect("a target id").to_owned();
        let attached =
            browser.browser_command("Target.attachToTarget", json!({ "targetId": target_id, "flatten": true })).await;
        browser.session = attached["sessionId"].as_str().expect("a session id").to_owned();
        browser.command("Page.enable", json!({})).await;
        browser.command("Network.enable", json!({})).await;
        browser
    }

    async fn send(&mut self, method: &str, params: Value, session: Option<String>) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = session {
            message["sessionId"] = json!(session);
        }
        self.ws.send(Message::text(message.to_string())).await.expect("send a DevTools command");
        let deadline = Instant::now() + STEP_LIMIT;
        loop {
            let value = self.next_message(deadline, method).await;
            if value["id"] == id {
                if let Some(error) = value.get("error") {
                    panic!("{method} failed: {error}");
                }
                return value["result"].clone();
            }
            if value.get("method").is_some() {
                self.events.push_back(value);
            }
        }
    }

    async fn next_message(&mut self, deadline: Instant, waiting_for: &str) -> Value {
        loop {
            match timeout_at(deadline, self.ws.next()).await {
                Ok(Some(Ok(Message::Text(text)))) => return serde_json::from_str(&text).expect("DevTools JSON"),
                Ok(Some(Ok(_))) => {}
                other => panic!("DevTools connection ended waiting for {waiting_for}: {other:?}"),
            }
        }
    }

    async fn browser_command(&mut self, method: &str, params: Value) -> Value {
        self.send(method, params, None).await
    }

    /// Runs a command on the page.
    pub async fn command(&mut self, method: &str, params: Value) -> Value {
        let session = self.session.clone();
        self.send(method, params, Some(session)).await
    }

    /// Forgets events received so far (before an action whose own event
    /// is awaited next).
    pub fn forget_events(&mut self) {
        self.events.clear();
    }

    /// Waits for the page's next event `method`.
    pub async fn event(&mut self, method: &str) -> Value {
        if let Some(at) = self.events.iter().position(|e| e["method"] == method && e["sessionId"] == self.session) {
            return self.events.remove(at).unwrap_or_default();
        }
        let deadline = Instant::now() + STEP_LIMIT;
        loop {
            let value = self.next_message(deadline, method).await;
            if value["method"] == method && value["sessionId"] == self.session {
                return value;
            }
            self.events.push_back(value);
        }
    }

    /// Loads `url` and waits for its load event.
    pub async fn goto(&mut self, url: &str) {
        self.forget_events();
        self.command("Page.navigate", json!({ "url": url })).await;
        self.event("Page.loadEventFired").await;
    }

    /// Runs `script` (an expression; a promise is awaited) in the page and
    /// returns its value; panics with the page's exception.
    pub async fn eval(&mut self, script: &str) -> Value {
        let params = json!({ "expression": script, "awaitPromise": true, "returnByValue": true });
        let answer = self.command("Runtime.evaluate", params).await;
        if let Some(exception) = answer.get("exceptionDetails") {
            panic!("{script} threw: {exception}");
        }
        answer["result"]["value"].clone()
    }

    /// Runs `action` (a script that makes the page navigate, e.g. submits
    /// a form) and waits for the new page's load event.
    pub async fn navigate_by(&mut self, action: &str) {
        self.forget_events();
        self.eval(action).await;
        self.event("Page.loadEventFired").await;
    }

    /// Waits until `condition` (an expression) is true in the page,
    /// checked at once and after every change of the document; panics
    /// after `limit` with the condition and the page's text.
    pub async fn wait_for(&mut self, condition: &str, limit: Duration) {
        let ms = limit.as_millis();
        let script = format!(
            r#"new Promise((resolve) => {{
                const test = () => {{ try {{ return Boolean({condition}); }} catch (_) {{ return false; }} }};
                if (test()) return resolve(true);
                const observer = new MutationObserver(() => {{
                    if (test()) {{ observer.disconnect(); clearTimeout(timer); resolve(true); }}
                }});
                const timer = setTimeout(() => {{ observer.disconnect(); resolve(false); }}, {ms});
                observer.observe(document, {{ subtree: true, childList: true, attributes: true, characterData: true }});
            }})"#
        );
        if self.eval(&script).await != json!(true) {
            let text = self.eval("document.body ? document.body.innerText : ''").await;
            panic!("not true within {limit:?}: {condition}\npage:\n{}", text.as_str().unwrap_or_default());
        }
    }

    /// Saves what the page shows now as `NAME.png` under the test
    /// artifacts (`$HERD_TEST_ARTIFACTS`, else `target/test-artifacts`),
    /// in `group`; returns the file's path.
    pub async fn screenshot(&mut self, group: &str, name: &str) -> PathBuf {
        use base64::Engine as _;
        let answer =
            self.command("Page.captureScreenshot", json!({ "format": "png", "captureBeyondViewport": true })).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(answer["data"].as_str().expect("screenshot data"))
            .expect("screenshot in base64");
        assert!(png.starts_with(b"\x89PNG"), "the screenshot is not a PNG");
        let dir = artifacts_dir().join(group);
        std::fs::create_dir_all(&dir).expect("artifacts directory");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("screenshot written");
        eprintln!("screenshot: {}", path.display());
        path
    }

    /// Lays the page out as a desktop window of `width` x `height`.
    pub async fn window(&mut self, width: u32, height: u32) {
        let metrics = json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": false });
        self.command("Emulation.setDeviceMetricsOverride", metrics).await;
    }

    /// The browser's cookies for `url` (HttpOnly ones included).
    pub async fn cookies(&mut self, url: &str) -> Vec<Value> {
        let answer = self.command("Network.getCookies", json!({ "urls": [url] })).await;
        answer["cookies"].as_array().cloned().unwrap_or_default()
    }
}

/// Where tests leave files for people to look at after a run.
pub fn artifacts_dir() -> PathBuf {
    match std::env::var_os("HERD_TEST_ARTIFACTS") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-artifacts"),
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(pid) = self.child.id().and_then(|p| i32::try_from(p).ok()) {
            // The whole group: the browser and its helper processes.
            let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
        }
        let _ = self.child.start_kill();
    }
}
