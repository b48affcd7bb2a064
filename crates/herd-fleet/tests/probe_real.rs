//! Probe rounds over real loopback sockets: a healthy herd server, a port
//! that refuses, and a listener that accepts but never answers. The round
//! must report each for what it is and still end within its budget.

#![allow(clippy::unwrap_used)]

use herd_fleet::{Health, HealthConfig, Host, HostState, McpProber, Secret};
use herd_router::{Router, RouterConfig};
use herd_transport::http::{Authenticator, BearerAuth, HttpConfig, app, serve};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::time::Instant;
use tokio_util::sync::{CancellationToken, DropGuard};

const BUDGET: Duration = Duration::from_secs(2);

/// A herd HTTP server serving the conformance catalog; stops when dropped.
async fn healthy(auth: Option<&str>) -> (String, DropGuard) {
    let config = HttpConfig {
        auth: auth
            .map_or_else(Authenticator::anonymous, |t| Authenticator::static_tokens(BearerAuth::new([t.to_owned()]))),
        ..HttpConfig::default()
    };
    serving(config).await
}

async fn serving(config: HttpConfig) -> (String, DropGuard) {
    let router = Router::new(RouterConfig::default(), vec![Arc::new(herd_tools::conformance::catalog())]);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let stop = CancellationToken::new();
    let (app, token) = (app(router, config.clone()), stop.clone());
    tokio::spawn(async move { serve(listener, app, &config, token).await });
    (url, stop.drop_guard())
}

/// A loopback URL nothing listens on.
async fn refusing() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    format!("http://{}/mcp", listener.local_addr().unwrap())
}

/// A listener that accepts connections and holds them without a byte.
async fn half_open() -> (String, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    (url, task)
}

fn host(name: &str, url: &str, token: Option<&str>) -> Host {
    Host {
        name: name.into(),
        url: Some(url.into()),
        token: token.map(Secret::new),
        ssh: None,
        tags: vec![],
        ..Host::default()
    }
}

fn config() -> HealthConfig {
    HealthConfig { budget: BUDGET, ..HealthConfig::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthy_refused_and_half_open_hosts_in_one_budget() {
    let (up_url, _server) = healthy(None).await;
    let (silent_url, silent) = half_open().await;
    let hosts =
        [host("up", &up_url, None), host("refused", &refusing().await, None), host("silent", &silent_url, None)];
    let health = Health::new(config(), hosts, Arc::new(McpProber::new(&config())));

    let start = Instant::now();
    let snap = health.probe_all(false).await;
    let elapsed = start.elapsed();
    assert!(elapsed >= BUDGET && elapsed < BUDGET + Duration::from_secs(1), "round took {elapsed:?}");

    let HostState::Up { tool_count: Some(tools), .. } = snap["up"] else { panic!("{:?}", snap["up"]) };
    assert!(tools > 5, "{tools}");
    let refused = snap["refused"].error().unwrap();
    assert!(refused.to_lowercase().contains("refused"), "{refused}");
    let silent_error = snap["silent"].error().unwrap();
    assert!(silent_error.contains("no answer"), "{silent_error}");

    // The cached round costs nothing; a forced one reuses the warm session.
    let start = Instant::now();
    assert_eq!(health.probe_all(false).await, snap);
    assert!(start.elapsed() < Duration::from_millis(100));
    health.set_hosts([host("up", &up_url, None)]);
    let again = health.probe_all(true).await;
    assert!(matches!(again["up"], HostState::Up { tool_count: Some(n), .. } if n == tools), "{again:?}");
    silent.abort();
}

#[tokio::test]
async fn tokens_are_presented_and_warm_sessions_are_pinged() {
    let (url, _server) = healthy(Some("right")).await;
    let hosts = [host("good", &url, Some("right")), host("bad", &url, Some("wrong")), host("none", &url, None)];
    let prober = McpProber::new(&config()).count_tools(false);
    let health = Health::new(config(), hosts, Arc::new(prober));
    for _ in 0..2 {
        let snap = health.probe_all(true).await;
        assert!(matches!(snap["good"], HostState::Up { tool_count: None, .. }), "{snap:?}");
        for name in ["bad", "none"] {
            let error = snap[name].error().unwrap();
            assert!(error.contains("refused the credentials (HTTP 401)"), "{name}: {error}");
        }
    }
}

/// The agent closes a keep-alive connection once it has been idle for its
/// header read timeout. A probe sent on such a connection just as the agent
/// closes it must not make a healthy agent DOWN. Here the agent's timeout
/// is shortened to 100 ms, far below the client's idle limit, so probes
/// keep meeting connections the agent is closing: many hosts (each its own
/// session and connection) are probed again and again after waits swept
/// across that timeout, where the close and the request race.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_racing_the_agents_keep_alive_close_never_report_it_down() {
    const KEEP_ALIVE: Duration = Duration::from_millis(100);
    let (url, _server) = serving(HttpConfig { header_read_timeout: KEEP_ALIVE, ..HttpConfig::default() }).await;
    let hosts: Vec<Host> = (0..16).map(|i| host(&format!("h{i}"), &url, None)).collect();
    let health = Health::new(config(), hosts, Arc::new(McpProber::new(&config())));
    assert!(health.probe_all(true).await.values().all(HostState::is_up));
    let mut downs = Vec::new();
    let mut probes = 0;
    // Waits from 20 ms short of the agent's timeout (a round's own work
    // adds to the idle time of the connections that finished first) to
    // 1 ms past it.
    for step in -100..=5 {
        let wait = KEEP_ALIVE.as_micros() as i64 + step * 200;
        tokio::time::sleep(Duration::from_micros(wait as u64)).await;
        let snap = health.probe_all(true).await;
        probes += snap.len();
        downs.extend(snap.into_iter().filter_map(|(name, state)| Some((name, state.error()?.to_owned()))));
    }
    assert!(downs.is_empty(), "{} of {probes} probes found the healthy agent DOWN: {downs:?}", downs.len());
}
