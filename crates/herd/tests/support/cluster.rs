//! Several `herd hub` replicas on one real PostgreSQL, behind a real
//! haproxy doing round robin with no stickiness, for the replica tests.
//!
//! - [`Cluster::start`]: a fresh database (see `pg.rs`) with users `root`
//!   (admin) and `alice` (operator), two HTTP agents (`alpha`, `beta`) and
//!   `herd conformance-server` (`conformance`) in the shared registry, `n` hubs with `--database-url`, and haproxy in
//!   front of them, its own config in a temp dir, on a loopback port.
//! - [`Haproxy`]: the binary from `HERD_HAPROXY` (environment, then
//!   `.cache/test-deps.env`, then `/usr/sbin/haproxy`); a test without it
//!   fails and names `scripts/test-deps`. Killed on drop.
//! - [`Cluster::metric`]: a counter read from one replica's `/metrics`.
#![allow(dead_code, unreachable_pub)]

use crate::pg;
use crate::support::{Herd, http_get, repo_root};
use herd_auth::Role;
use herd_store::{NewUser, Store};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};

/// Longest any awaited step may take on a busy machine.
pub const LIMIT: Duration = Duration::from_secs(30);

/// The token the agents accept from every hub.
pub const AGENT_TOKEN: &str = "replica-agent-token";

/// The hubs' shared registry: two HTTP agents, the conformance fixtures
/// with their tools exposed under their own names, quick channel and LLM
/// timings.
fn registry(alpha: &str, beta: &str, conformance: &str) -> String {
    format!(
        "[channels]\nheartbeat = 0.3\ntimeout = 0.5\n[llm]\nrefresh = 0.5\n\
         [[hosts]]\nname = \"alpha\"\nurl = \"{alpha}\"\ntoken = \"{AGENT_TOKEN}\"\n\
         [[hosts]]\nname = \"beta\"\nurl = \"{beta}\"\ntoken = \"{AGENT_TOKEN}\"\n\
         [[hosts]]\nname = \"conformance\"\nurl = \"{conformance}\"\nexpose = {{}}\n"
    )
}

/// haproxy, running; killed on drop.
pub struct Haproxy {
    child: Child,
    /// The MCP endpoint through it.
    pub url: String,
    _dir: tempfile::TempDir,
}

/// The haproxy binary (see the module docs).
pub fn haproxy_bin() -> PathBuf {
    let from_env = std::env::var_os("HERD_HAPROXY").map(PathBuf::from);
    let from_cache = || {
        let cache = std::env::var_os("HERD_CACHE_DIR").map_or_else(|| repo_root().join(".cache"), PathBuf::from);
        let text = std::fs::read_to_string(cache.join("test-deps.env")).ok()?;
        text.lines().find_map(|l| l.strip_prefix("export HERD_HAPROXY=")).map(|v| PathBuf::from(v.trim_matches('\'')))
    };
    let bin = from_env.or_else(from_cache).unwrap_or_else(|| PathBuf::from("/usr/sbin/haproxy"));
    assert!(bin.exists(), "haproxy not found at {}: run scripts/test-deps", bin.display());
    bin
}

/// A loopback port free now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Haproxy {
    /// haproxy on a loopback port, round robin over `backends` (MCP URLs
    /// of the hubs), checking each on `/readyz`; returns once it answers.
    pub async fn start(backends: &[&str]) -> Haproxy {
        Haproxy::start_balancing(backends, "roundrobin").await
    }

    /// [`Haproxy::start`] with another `balance` algorithm (`first`: the
    /// first backend that is up, in the order given).
    pub async fn start_balancing(backends: &[&str], balance: &str) -> Haproxy {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let servers: String = backends
            .iter()
            .enumerate()
            .map(|(i, url)| {
                let authority = url.trim_start_matches("http://").split('/').next().unwrap();
                format!("    server r{i} {authority} check\n")
            })
            .collect();
        let config = format!(
            "global\n    maxconn 2000\n\
             defaults\n    mode http\n    option http-server-close\n    timeout connect 2s\n    timeout client 60s\n    timeout server 60s\n\
             \x20   timeout http-request 10s\n\
             frontend herd\n    bind 127.0.0.1:{port}\n    default_backend hubs\n\
             backend hubs\n    balance {balance}\n    option httpchk\n    http-check send meth GET uri /readyz\n\
             \x20   http-check expect status 200\n    default-server inter 300ms fall 2 rise 1\n\
             \x20   retries 3\n    option redispatch 1\n    retry-on conn-failure empty-response\n{servers}"
        );
        let path = dir.path().join("haproxy.cfg");
        std::fs::write(&path, config).unwrap();
        let child = Command::new(haproxy_bin())
            .arg("-db")
            .arg("-f")
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start haproxy");
        let url = format!("http://127.0.0.1:{port}/mcp");
        let deadline = tokio::time::Instant::now() + LIMIT;
        loop {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok()
                && http_get(&url, "/readyz", None).await.0 == 200
            {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "haproxy did not answer within {LIMIT:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Haproxy { child, url, _dir: dir }
    }

    /// The OpenAI-compatible API through it.
    pub fn api(&self) -> String {
        self.url.replace("/mcp", "/v1")
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// Replicas, their database, the agents and the balancer.
pub struct Cluster {
    /// The shared database.
    pub database: String,
    /// The replicas, by index; `None` once killed.
    pub hubs: Vec<Option<Herd>>,
    /// The registry every replica reads.
    pub config: PathBuf,
    pub proxy: Haproxy,
    /// The admin's and alice's tokens.
    pub root: String,
    pub alice: String,
    pub agents: Vec<Herd>,
    pub dir: tempfile::TempDir,
}

impl Cluster {
    /// `n` replicas behind haproxy (see the module docs).
    pub async fn start(n: usize) -> Cluster {
        let server = tokio::task::spawn_blocking(pg::server).await.unwrap();
        let database = server.create_database().await;
        let store = Store::open(&database).await.unwrap();
        let mut tokens = Vec::new();
        for (name, role) in [("root", Role::Admin), ("alice", Role::Operator)] {
            store.add_user(&NewUser::new(name, role)).await.unwrap();
            let (_, secret) = store.create_token(name, None, None).await.unwrap();
            tokens.push(secret.expose_secret().to_owned());
        }
        store.close().await;
        let agent = || Herd::start(&["agent", "--listen", "127.0.0.1:0", "--token", AGENT_TOKEN]);
        let conformance = Herd::start(&["conformance-server", "--insecure-no-auth", "--listen", "127.0.0.1:0"]);
        let agents = vec![agent().await, agent().await, conformance.await];
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("hosts.toml");
        std::fs::write(&config, registry(&agents[0].url, &agents[1].url, &agents[2].url)).unwrap();
        let hubs = futures_util::future::join_all((0..n).map(|_| hub(&config, &database))).await;
        let root = &tokens[0];
        futures_util::future::join_all(hubs.iter().map(|h| wait_up(&h.url, root, &["alpha", "beta", "conformance"])))
            .await;
        let urls: Vec<&str> = hubs.iter().map(|h| h.url.as_str()).collect();
        let proxy = Haproxy::start(&urls).await;
        let [root, alice] = <[String; 2]>::try_from(tokens).unwrap();
        Cluster { database, hubs: hubs.into_iter().map(Some).collect(), config, proxy, root, alice, agents, dir }
    }

    /// Replica `i`, which must be running.
    pub fn hub(&self, i: usize) -> &Herd {
        self.hubs[i].as_ref().expect("replica running")
    }

    /// The value of counter `name` (with `labels`, as Prometheus prints
    /// them) on replica `i`; 0 when it was never counted.
    pub async fn metric(&self, i: usize, name: &str, labels: &str) -> u64 {
        let (status, body) = http_get(&self.hub(i).url, "/metrics", Some(&self.root)).await;
        assert_eq!(status, 200, "{body}");
        let series = if labels.is_empty() { name.to_owned() } else { format!("{name}{{{labels}}}") };
        body.lines().find_map(|l| l.strip_prefix(&series)?.trim().parse::<f64>().ok()).map_or(0, |v| v as u64)
    }
}

impl Cluster {
    /// A `herd agent` that listens on no port and joins as `name` over a
    /// channel to `hub` (a base URL: a replica's or the balancer's) with
    /// alice's token, publishing `llms` (name, provider base URL) as her
    /// private models.
    pub async fn channel_agent(&self, name: &str, hub: &str, llms: &[(&str, String)]) -> Herd {
        let mut config = format!(
            "name = \"{name}\"\nhub = \"{hub}\"\nhub_token_env = \"HERD_HUB_TOKEN\"\n\
             [channel]\nheartbeat = 0.3\ntimeout = 0.5\nreconnect_min = 0.1\nreconnect_max = 0.5\n"
        );
        for (llm, url) in llms {
            config.push_str(&format!("[[llm]]\nname = \"{llm}\"\nurl = \"{url}\"\n"));
        }
        let path = self.dir.path().join(format!("{name}.toml"));
        std::fs::write(&path, config).unwrap();
        let home = self.dir.path().join(name);
        std::fs::create_dir_all(&home).unwrap();
        let env = [("HERD_HUB_TOKEN", self.alice.as_str()), ("HERD_HOME", home.to_str().unwrap())];
        Herd::start_with_env(&["agent", "--config", path.to_str().unwrap()], &env).await
    }

    /// Waits until replica `i` lists `host` up, as `remote_list_hosts`
    /// (through a session of its own) shows it.
    pub async fn wait_up(&self, i: usize, host: &str) {
        wait_up(&self.hub(i).url, &self.root, &[host]).await;
    }

    /// Waits until replica `i`'s `/v1/models` (as alice) lists `model` active.
    pub async fn wait_model(&self, i: usize, model: &str) {
        let deadline = tokio::time::Instant::now() + LIMIT;
        loop {
            let (status, body) = http_get(&self.hub(i).url, "/v1/models", Some(&self.alice)).await;
            let models: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
            let listed = models["data"].as_array().cloned().unwrap_or_default();
            if status == 200 && listed.iter().any(|m| m["id"] == model && m["herd"]["state"] == "active") {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "replica {i} never listed {model} active: {body}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Waits until the hub at `url` lists every one of `wanted` up, as
/// `remote_list_hosts` (through a session of its own, as the holder of
/// `token`) shows them. Replicas share the probing out, so a replica may
/// know a host's state only once another has probed it.
async fn wait_up(url: &str, token: &str, wanted: &[&str]) {
    let client = crate::client::Client::connect(url, Some(token)).await;
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        let listed = client.call("remote_list_hosts", serde_json::json!({ "force": true })).await;
        let hosts = listed["structuredContent"]["hosts"].as_array().cloned().unwrap_or_default();
        let up = |name: &&str| hosts.iter().any(|h| h["name"] == *name && h["state"] == "up");
        if wanted.iter().all(up) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "{url} never listed {wanted:?} up: {listed}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One replica on `database`, on a loopback port of its own.
async fn hub(config: &std::path::Path, database: &str) -> Herd {
    let config = config.to_str().unwrap();
    Herd::start(&["hub", "--config", config, "--database-url", database, "--listen", "127.0.0.1:0"]).await
}
