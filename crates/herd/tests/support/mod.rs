//! Shared helpers for herd's integration tests, which run the real `herd`
//! binary against real peers (the conformance suite, the SDK clients).
//!
//! - [`Herd`] starts the binary on a random loopback port, waits (bounded) for
//!   the `serving MCP` log line and reads the URL from it; the process is
//!   killed when the value is dropped, and its stderr is printed if the test
//!   panicked.
//! - [`Deps`] reads the peer paths that `scripts/test-deps` wrote to
//!   `.cache/test-deps.env`, and fails loudly when they are missing: a test
//!   that cannot find its peer must never pass by skipping.
//! - [`run_bounded`] runs a peer to completion under a time limit.
//!
//! Each test crate uses a subset of these, hence the `dead_code` allowance.
#![allow(dead_code, unreachable_pub)]

pub mod summary;

use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio::time::{Instant, timeout, timeout_at};

/// How long herd may take to print its `serving MCP` line.
pub const STARTUP_LIMIT: Duration = Duration::from_secs(20);

/// Path of the herd binary under test.
pub fn herd_bin() -> &'static str {
    env!("CARGO_BIN_EXE_herd")
}

/// The repository root (two levels above this crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

/// Paths of the external test peers, from `.cache/test-deps.env`.
#[derive(Debug, Clone)]
pub struct Deps {
    /// Node 22 binary.
    pub node22: PathBuf,
    /// `dist/index.js` of the conformance suite 0.1.x.
    pub conformance_01_js: PathBuf,
    /// `dist/index.js` of the conformance suite 0.2 prerelease.
    pub conformance_02_js: PathBuf,
    /// Directory whose `node_modules` holds `@modelcontextprotocol/sdk`.
    pub ts_sdk_dir: PathBuf,
    /// Python venv with the `mcp` SDK and uv.
    pub venv: PathBuf,
    /// The sshd binary.
    pub sshd: PathBuf,
    /// Directory whose `node_modules` holds `@modelcontextprotocol/client` 2.x.
    pub ts_sdk_v2_dir: PathBuf,
    /// Python venv with the `mcp` SDK 2.x.
    pub venv_mcp2: PathBuf,
    /// Python venv with the official `openai` client.
    pub venv_openai: PathBuf,
    /// Directory whose `node_modules` holds the official `openai` npm client.
    pub openai_js_dir: PathBuf,
}

impl Deps {
    /// Loads the paths, panicking with "run scripts/test-deps first" when the
    /// file or any path in it is missing. Honours `HERD_CACHE_DIR` like the
    /// installer does.
    pub fn load() -> Deps {
        let cache = std::env::var_os("HERD_CACHE_DIR").map_or_else(|| repo_root().join(".cache"), PathBuf::from);
        let file = cache.join("test-deps.env");
        let text = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}; run scripts/test-deps first", file.display()));
        let vars = parse_env_file(&text);
        let path = |key: &str| {
            let value = vars
                .get(key)
                .unwrap_or_else(|| panic!("{key} missing from {}; run scripts/test-deps first", file.display()));
            let p = PathBuf::from(value);
            assert!(p.exists(), "{key}={} does not exist; run scripts/test-deps first", p.display());
            p
        };
        Deps {
            node22: path("HERD_NODE22"),
            conformance_01_js: path("HERD_CONFORMANCE_01_JS"),
            conformance_02_js: path("HERD_CONFORMANCE_02_JS"),
            ts_sdk_dir: path("HERD_TS_SDK_DIR"),
            venv: path("HERD_VENV"),
            sshd: path("HERD_SSHD"),
            ts_sdk_v2_dir: path("HERD_TS_SDK_V2_DIR"),
            venv_mcp2: path("HERD_VENV_MCP2"),
            venv_openai: path("HERD_VENV_OPENAI"),
            openai_js_dir: path("HERD_OPENAI_JS_DIR"),
        }
    }

    /// The venv's Python interpreter.
    pub fn python(&self) -> PathBuf {
        self.venv.join("bin/python")
    }

    /// The Python interpreter of the venv with the `openai` client.
    pub fn python_openai(&self) -> PathBuf {
        self.venv_openai.join("bin/python")
    }

    /// The Python interpreter of the venv with the `mcp` SDK 2.x.
    pub fn python_mcp2(&self) -> PathBuf {
        self.venv_mcp2.join("bin/python")
    }
}

/// Parses `export KEY=VALUE` lines as written by bash `printf %q` (plain
/// words with backslash escapes; `$'...'` quoting is not expected in paths).
fn parse_env_file(text: &str) -> HashMap<String, String> {
    let mut vars = HashMap::new();
    for line in text.lines() {
        let Some((key, raw)) = line.trim().strip_prefix("export ").and_then(|l| l.split_once('=')) else {
            continue;
        };
        assert!(!raw.starts_with("$'"), "unsupported quoting in test-deps.env: {line}");
        let mut value = String::new();
        let mut chars = raw.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => value.extend(chars.next()),
                '\'' | '"' => {}
                c => value.push(c),
            }
        }
        vars.insert(key.to_owned(), value);
    }
    vars
}

/// A running herd process, killed on drop.
pub struct Herd {
    child: Child,
    /// The MCP endpoint from the `serving MCP` log line.
    pub url: String,
    stderr: mpsc::UnboundedReceiver<String>,
    seen: Vec<String>,
    /// The process's own `HERD_HOME` (its state), unless the test gave one.
    _home: Option<tempfile::TempDir>,
}

impl Herd {
    /// Starts `herd --log-format json ARGS...` and waits for its URL.
    /// A hub whose one host, `conformance`, is a conformance server with
    /// everything exposed under its own names; returns the hub and the
    /// backend and the directory of its registry (keep all three alive).
    pub async fn hub_over_conformance_server() -> (Herd, Herd, tempfile::TempDir) {
        let backend = Herd::start(&["conformance-server", "--insecure-no-auth", "--listen", "127.0.0.1:0"]).await;
        let dir = tempfile::tempdir().expect("a temp dir");
        let config = dir.path().join("hosts.toml");
        let registry = format!("[[hosts]]\nname = \"conformance\"\nurl = \"{}\"\nexpose = {{}}\n", backend.url);
        std::fs::write(&config, registry).expect("hosts.toml written");
        let config = config.to_str().expect("a UTF-8 path");
        let hub = Herd::start(&["hub", "--config", config, "--insecure-no-auth", "--listen", "127.0.0.1:0"]).await;
        (hub, backend, dir)
    }

    pub async fn start(args: &[&str]) -> Herd {
        Herd::start_with_env(args, &[]).await
    }

    /// Like [`Herd::start`], with extra environment variables. `HERD_TOKEN`,
    /// `HERD_LOG`, `HERD_LOG_FORMAT` and the OTLP endpoints from the caller's
    /// environment are not inherited, so a developer's shell cannot change what is tested.
    /// Without `HERD_HOME` in `env` the process gets a fresh one of its own,
    /// so no test touches the developer's state or another test's.
    pub async fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Herd {
        Herd::start_via(&[], args, env).await
    }

    /// Like [`Herd::start_with_env`], with herd run by `wrapper` (for
    /// example `ip netns exec NAME`, which execs herd in place, so the
    /// process id is herd's own). Unless `env` names a `HERD_HOME`, the
    /// process gets a fresh one of its own (removed on drop), so no test
    /// shares state with another or with the developer's.
    pub async fn start_via(wrapper: &[&str], args: &[&str], env: &[(&str, &str)]) -> Herd {
        let mut cmd = match wrapper.split_first() {
            Some((program, rest)) => {
                let mut cmd = Command::new(program);
                cmd.args(rest).arg(herd_bin());
                cmd
            }
            None => Command::new(herd_bin()),
        };
        let home = (!env.iter().any(|(k, _)| *k == "HERD_HOME")).then(|| tempfile::tempdir().expect("a temp dir"));
        if let Some(home) = &home {
            cmd.env("HERD_HOME", home.path());
        }
        cmd.args(["--log-format", "json"])
            .args(args)
            .env_remove("HERD_TOKEN")
            .env_remove("HERD_LOG_FORMAT")
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            .env("HERD_LOG", "info")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {}: {e}", herd_bin()));
        let (tx, rx) = mpsc::unbounded_channel();
        let mut lines = BufReader::new(child.stderr.take().expect("piped stderr")).lines();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut herd = Herd { child, url: String::new(), stderr: rx, seen: Vec::new(), _home: home };
        herd.url = herd.wait_for_url(args).await;
        herd
    }

    async fn wait_for_url(&mut self, args: &[&str]) -> String {
        let deadline = Instant::now() + STARTUP_LIMIT;
        loop {
            match timeout_at(deadline, self.stderr.recv()).await {
                Ok(Some(line)) => {
                    let url = serving_url(&line);
                    self.seen.push(line);
                    if let Some(url) = url {
                        return url;
                    }
                }
                Ok(None) => {
                    let status = timeout(Duration::from_secs(5), self.child.wait()).await;
                    let text = self.stderr_text();
                    panic!("herd {args:?} closed stderr before serving ({status:?}); stderr:\n{text}");
                }
                Err(_) => {
                    let text = self.stderr_text();
                    panic!("herd {args:?} did not log `serving MCP` within {STARTUP_LIMIT:?}; stderr:\n{text}")
                }
            }
        }
    }

    /// Waits (bounded by `limit`) for a log line whose message is `message`
    /// and returns its fields.
    pub async fn wait_for_log(&mut self, message: &str, limit: Duration) -> Value {
        let deadline = Instant::now() + limit;
        loop {
            match timeout_at(deadline, self.stderr.recv()).await {
                Ok(Some(line)) => {
                    let fields = serde_json::from_str::<Value>(&line).ok().and_then(|v| v.get("fields").cloned());
                    self.seen.push(line);
                    if let Some(fields) = fields.filter(|f| f["message"] == message) {
                        return fields;
                    }
                }
                Ok(None) => panic!("herd exited before logging {message:?}:\n{}", self.stderr_text()),
                Err(_) => panic!("herd did not log {message:?} within {limit:?}:\n{}", self.stderr_text()),
            }
        }
    }

    /// Like [`Herd::wait_for_log`], but a line already read (while waiting
    /// for the URL, or for another message) counts too.
    pub async fn logged(&mut self, message: &str, limit: Duration) -> Value {
        let fields_of = |line: &String| serde_json::from_str::<Value>(line).ok().and_then(|v| v.get("fields").cloned());
        let seen = self.seen.iter().filter_map(fields_of).find(|f| f["message"] == message);
        match seen {
            Some(fields) => fields,
            None => self.wait_for_log(message, limit).await,
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id().expect("herd is running")
    }

    /// Ends the process now (SIGKILL) and waits for it.
    pub async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }

    /// Asks the process to stop (SIGTERM) and waits, bounded, for it to exit.
    pub async fn terminate(&mut self, limit: Duration) -> ExitStatus {
        let pid = self.pid().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().await.expect("run kill");
        assert!(sent.success(), "kill -TERM {pid} failed");
        timeout(limit, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("herd did not exit within {limit:?} of SIGTERM:\n{}", self.stderr_text()))
            .expect("wait for herd")
    }

    /// Everything herd wrote on stderr so far.
    pub fn stderr_text(&mut self) -> String {
        while let Ok(line) = self.stderr.try_recv() {
            self.seen.push(line);
        }
        self.seen.join("\n")
    }
}

impl Drop for Herd {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        if std::thread::panicking() {
            let text = self.stderr_text();
            eprintln!("--- herd stderr ({}) ---\n{text}", self.url);
        }
    }
}

/// The `url` field of a JSON `serving MCP` log line.
fn serving_url(line: &str) -> Option<String> {
    let v: Value = serde_json::from_str(line).ok()?;
    let fields = v.get("fields")?;
    (fields.get("message")?.as_str()? == "serving MCP").then(|| fields.get("url")?.as_str().map(str::to_owned))?
}

/// `GET path` on the server behind `url` (an MCP endpoint URL) with an
/// optional bearer token; returns the status code and the body.
pub async fn http_get(url: &str, path: &str, token: Option<&str>) -> (u16, String) {
    use tokio::io::AsyncWriteExt;
    let authority = url.trim_start_matches("http://").split('/').next().unwrap_or_default().to_owned();
    let mut stream = tokio::net::TcpStream::connect(&authority).await.expect("connect to the server");
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\n{auth}Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("send the request");
    let mut raw = Vec::new();
    let read = timeout(Duration::from_secs(10), stream.read_to_end(&mut raw)).await;
    read.expect("the answer within 10 s").expect("read the answer");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

/// A finished peer process.
#[derive(Debug)]
pub struct Finished {
    /// Its exit status.
    pub status: ExitStatus,
    /// Its stdout.
    pub stdout: String,
    /// Its stderr.
    pub stderr: String,
}

/// Runs `cmd` to completion (stdin closed, output captured); kills it and
/// panics with its output if it is still running after `limit`.
pub async fn run_bounded(mut cmd: Command, limit: Duration) -> Finished {
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    let what = format!("{:?}", cmd.as_std());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let stdout = tokio::spawn(read_all(child.stdout.take()));
    let stderr = tokio::spawn(read_all(child.stderr.take()));
    let status = timeout(limit, child.wait()).await;
    if status.is_err() {
        let _ = child.kill().await;
    }
    // The pipes close when the process is gone; a grandchild that kept them
    // open must not hang the test either.
    let collect = |h: tokio::task::JoinHandle<String>| async move {
        timeout(Duration::from_secs(10), h).await.map_or("(output still open)".to_owned(), |r| r.unwrap_or_default())
    };
    let (stdout, stderr) = (collect(stdout).await, collect(stderr).await);
    match status {
        Ok(status) => Finished { status: status.expect("wait for child"), stdout, stderr },
        Err(_) => panic!("{what} still running after {limit:?}, killed\nstdout:\n{stdout}\nstderr:\n{stderr}"),
    }
}

async fn read_all(pipe: Option<impl AsyncRead + Unpin>) -> String {
    let mut buf = Vec::new();
    if let Some(mut pipe) = pipe {
        let _ = pipe.read_to_end(&mut buf).await;
    }
    String::from_utf8_lossy(&buf).into_owned()
}
