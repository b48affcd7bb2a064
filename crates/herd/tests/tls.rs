//! Transport security end to end, with certificates from a CA the test
//! makes: hub and agent both serve HTTPS and the hub reaches the agent over
//! HTTP/2 with the registry's `ca`; a wrong CA is a clear error naming the
//! host; a plaintext agent beyond loopback is refused at load; a renewed
//! certificate is served to new connections without a restart; and
//! `herd up` serves HTTPS that the client verbs check against `--ca`; and an
//! agent joins an HTTPS hub over its channel, checking it against its CA.

#![allow(clippy::unwrap_used)]

mod support;

#[path = "support/client.rs"]
mod client;

use client::{Client, text};
use herd_upstream::{HttpUpstreamConfig, TrustedCa};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use support::{Herd, herd_bin, run_bounded};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::Command;

const HUB_TOKEN: &str = "hub-test-token";
const AGENT_TOKEN: &str = "agent-test-token";
/// Long enough for a debug build on a busy machine.
const LOG_LIMIT: Duration = Duration::from_secs(20);
/// Calls in flight at once from the hub to one agent.
const CONCURRENT_CALLS: usize = 32;

/// A test CA writing its certificate and the certificates it issues (for
/// 127.0.0.1 and localhost) as PEM files.
struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pem: PathBuf,
}

impl Ca {
    fn new(dir: &Path, name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().unwrap();
        let pem = dir.join(format!("{name}.pem"));
        std::fs::write(&pem, params.self_signed(&key).unwrap().pem()).unwrap();
        Ca { issuer: Issuer::new(params, key), pem }
    }

    /// Writes a fresh certificate and key as `<stem>.crt` and `<stem>.key`
    /// in `dir`; returns their paths and the certificate.
    fn issue(&self, dir: &Path, stem: &str) -> (String, String, CertificateDer<'static>) {
        let key = KeyPair::generate().unwrap();
        let params = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let (cert_path, key_path) = (dir.join(format!("{stem}.crt")), dir.join(format!("{stem}.key")));
        std::fs::write(&cert_path, cert.pem()).unwrap();
        std::fs::write(&key_path, key.serialize_pem()).unwrap();
        (cert_path.display().to_string(), key_path.display().to_string(), cert.der().clone())
    }
}

/// An agent serving HTTPS with `cert` and `key`, logging its TLS
/// connections.
async fn tls_agent(cert: &str, key: &str) -> Herd {
    let args = ["agent", "--listen", "127.0.0.1:0", "--token", AGENT_TOKEN, "--tls-cert", cert, "--tls-key", key];
    Herd::start_with_env(&args, &[("HERD_LOG", "info,herd_transport=debug")]).await
}

fn write_registry(dir: &Path, text: &str) -> String {
    let path = dir.join("hosts.toml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn structured(result: &Value) -> &Value {
    &result["structuredContent"]
}

#[tokio::test(flavor = "multi_thread")]
async fn the_hub_reaches_an_https_agent_over_http2_and_serves_https_itself() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "fleet-ca");
    let (agent_cert, agent_key, _) = ca.issue(dir.path(), "agent");
    let (hub_cert, hub_key, _) = ca.issue(dir.path(), "hub");
    let mut agent = tls_agent(&agent_cert, &agent_key).await;
    assert!(agent.url.starts_with("https://127.0.0.1:"), "{}", agent.url);
    let registry = format!(
        "[tls]\nca = \"{}\"\n\n[[hosts]]\nname = \"secure\"\nurl = \"{}\"\ntoken = \"{AGENT_TOKEN}\"\n",
        ca.pem.display(),
        agent.url
    );
    let config = write_registry(dir.path(), &registry);
    let hub_args =
        ["hub", "--config", &config, "--listen", "127.0.0.1:0", "--token", HUB_TOKEN, "--tls-cert", &hub_cert];
    let hub = Herd::start(&[&hub_args[..], &["--tls-key", &hub_key]].concat()).await;
    assert!(hub.url.starts_with("https://127.0.0.1:"), "{}", hub.url);

    // Over TLS, the status page's cookie is Secure too.
    let roots = TrustedCa::load(&ca.pem).unwrap().roots().unwrap();
    let browser =
        reqwest::Client::builder().tls_certs_only(roots).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let login = browser.post(hub.url.replace("/mcp", "/ui/login"));
    let signed_in = login
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={HUB_TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status().as_u16(), 303);
    let cookie = signed_in.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("; HttpOnly; SameSite=Strict; Secure"), "{cookie}");

    let client = Client::connect_with(HttpUpstreamConfig {
        token: Some(HUB_TOKEN.into()),
        ca: Some(TrustedCa::load(&ca.pem).unwrap()),
        exchange_timeout: Duration::from_secs(30),
        ..HttpUpstreamConfig::new(&hub.url)
    })
    .await;
    let file = dir.path().join("note.txt");
    std::fs::write(&file, "carried over TLS twice").unwrap();
    let read = client.call("remote_read_file", json!({ "host": "secure", "path": file })).await;
    assert!(text(&read).contains("carried over TLS twice"), "{read}");
    assert_eq!(structured(&read)["via"], "agent", "{read}");
    let shell = client.call("remote_shell", json!({ "host": "secure", "command": "echo $((6*7))" })).await;
    assert_eq!(structured(&shell)["stdout"], "42\n", "{shell}");

    // Many concurrent calls, then a connection of the test's own: every
    // connection the agent logged before that one is the hub's.
    let client = Arc::new(client);
    let mut calls = tokio::task::JoinSet::new();
    for n in 0..CONCURRENT_CALLS {
        let client = client.clone();
        calls.spawn(async move {
            let called = client.call("remote_shell", json!({ "host": "secure", "command": format!("echo {n}") })).await;
            (n, called)
        });
    }
    while let Some(done) = calls.join_next().await {
        let (n, called) = done.unwrap();
        assert_eq!(structured(&called)["stdout"], format!("{n}\n"), "{called}");
    }
    let (sentinel, _) = tls_connect(&ca.pem, agent_addr(&agent)).await;
    let mut hub_connections = Vec::new();
    loop {
        let connection = agent.wait_for_log("TLS connection", LOG_LIMIT).await;
        if connection["peer"] == sentinel.to_string() {
            break;
        }
        hub_connections.push(connection);
    }
    // The hub chose HTTP/2 by ALPN, and one connection carried the probes
    // and every call.
    assert_eq!(hub_connections.len(), 1, "{hub_connections:?}");
    assert_eq!(hub_connections[0]["alpn"], "h2", "{hub_connections:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_ca_is_a_clear_error_naming_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, other) = (Ca::new(dir.path(), "agent-ca"), Ca::new(dir.path(), "other-ca"));
    let (cert, key, _) = ca.issue(dir.path(), "agent");
    let agent = tls_agent(&cert, &key).await;
    let registry = format!(
        "[health]\nbudget = 2\n\n[[hosts]]\nname = \"mistrusted\"\nurl = \"{}\"\ntoken = \"{AGENT_TOKEN}\"\nca = \"{}\"\n",
        agent.url,
        other.pem.display()
    );
    let config = write_registry(dir.path(), &registry);
    let hub = Herd::start(&["hub", "--config", &config, "--listen", "127.0.0.1:0", "--token", HUB_TOKEN]).await;
    let client = Client::connect(&hub.url, Some(HUB_TOKEN)).await;

    let listed = client.call("remote_list_hosts", json!({})).await;
    let host = &structured(&listed)["hosts"][0];
    assert_eq!((host["name"].as_str(), host["state"].as_str()), (Some("mistrusted"), Some("down")), "{listed}");
    let error = host["error"].as_str().unwrap_or_default();
    assert!(error.contains("certificate verify failed") && error.contains("UnknownIssuer"), "{error}");

    let failed = client.call("remote_shell", json!({ "host": "mistrusted", "command": "true" })).await;
    assert_eq!(failed["isError"], true, "{failed}");
    let message = text(&failed);
    assert!(message.starts_with("mistrusted: agent: ") && message.contains("certificate verify failed"), "{message}");
}

#[tokio::test]
async fn the_hub_refuses_a_plaintext_agent_beyond_loopback() {
    let dir = tempfile::tempdir().unwrap();
    // TEST-NET-1: never dialled, the registry is refused first.
    let config = write_registry(dir.path(), "[[hosts]]\nname = \"lan\"\nurl = \"http://192.0.2.7:7801/mcp\"\n");
    let mut cmd = Command::new(herd_bin());
    cmd.args(["hub", "--config", &config, "--listen", "127.0.0.1:0", "--insecure-no-auth"]).env_remove("HERD_TOKEN");
    let refused = run_bounded(cmd, Duration::from_secs(30)).await;
    assert!(!refused.status.success(), "{refused:?}");
    for needle in ["\"lan\"", "plaintext", "https://192.0.2.7:7801/mcp", "insecure_http = true"] {
        assert!(refused.stderr.contains(needle), "{needle:?} missing: {}", refused.stderr);
    }
}

/// The `host:port` an agent serves on.
fn agent_addr(agent: &Herd) -> &str {
    agent.url.trim_start_matches("https://").trim_end_matches("/mcp")
}

/// A new TLS connection to `addr`, verified against `ca`: its local
/// address and the certificate the server presented.
async fn tls_connect(ca: &Path, addr: &str) -> (SocketAddr, CertificateDer<'static>) {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_file(ca).unwrap()).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let local = tcp.local_addr().unwrap();
    let name = ServerName::try_from("127.0.0.1").unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, tcp).await.unwrap();
    (local, tls.get_ref().1.peer_certificates().unwrap()[0].clone().into_owned())
}

/// The certificate `addr` presents to a new connection.
async fn served_certificate(ca: &Path, addr: &str) -> CertificateDer<'static> {
    tls_connect(ca, addr).await.1
}

#[tokio::test(flavor = "multi_thread")]
async fn a_renewed_certificate_is_served_to_new_connections() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "ca");
    let (cert, key, first) = ca.issue(dir.path(), "agent");
    let mut agent = tls_agent(&cert, &key).await;
    let addr = agent_addr(&agent).to_owned();
    assert_eq!(served_certificate(&ca.pem, &addr).await, first);

    let (_, _, second) = ca.issue(dir.path(), "agent");
    agent.wait_for_log("TLS certificate reloaded", LOG_LIMIT).await;
    assert_eq!(served_certificate(&ca.pem, &addr).await, second);

    std::fs::write(&cert, "not a certificate\n").unwrap();
    agent.wait_for_log("cannot reload the TLS certificate; the previous one stays in use", LOG_LIMIT).await;
    assert_eq!(served_certificate(&ca.pem, &addr).await, second, "a broken file keeps the certificate in use");
}

#[tokio::test(flavor = "multi_thread")]
async fn herd_up_serves_https_that_client_verbs_check_against_their_ca() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let ca = Ca::new(dir.path(), "up-ca");
    let (cert, key, _) = ca.issue(dir.path(), "hub");
    let up_args = ["up", "--listen", "127.0.0.1:0", "--agent-listen", "127.0.0.1:0", "--tls-cert", &cert];
    let mut up = Command::new(herd_bin())
        .args(up_args)
        .args(["--tls-key", &key])
        .env("HERD_HOME", &home)
        .env_remove("HERD_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(up.stdout.take().unwrap()).lines();
    // claude mcp add --transport http herd URL --header "Authorization: Bearer TOKEN"
    let printed = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.trim_start().starts_with("claude mcp add") {
                return line;
            }
        }
        panic!("herd up ended without printing its configuration");
    })
    .await
    .expect("herd up printed its configuration in time");
    let url = printed.split_whitespace().nth(6).unwrap().to_owned();
    assert!(url.starts_with("https://127.0.0.1:"), "{printed}");

    let herd_verb = |args: &[&str], ca: Option<&Path>| {
        let mut cmd = Command::new(herd_bin());
        cmd.args(args).env("HERD_URL", &url).env("HERD_HOME", &home).env_remove("HERD_TOKEN");
        match ca {
            Some(ca) => cmd.env("HERD_CA", ca),
            None => cmd.env_remove("HERD_CA"),
        };
        run_bounded(cmd, Duration::from_secs(60))
    };
    let verb = |ca: Option<&Path>| herd_verb(&["hosts", "--json"], ca);
    let hosts = verb(Some(&ca.pem)).await;
    assert!(hosts.status.success(), "{hosts:?}");
    let hosts: Value = serde_json::from_str(&hosts.stdout).unwrap();
    assert_eq!((hosts[0]["name"].as_str(), hosts[0]["state"].as_str()), (Some("local"), Some("up")), "{hosts}");

    // The system's roots do not know the test's CA.
    let refused = verb(None).await;
    assert!(!refused.status.success(), "{refused:?}");
    assert!(refused.stderr.contains("certificate verify failed"), "{}", refused.stderr);

    // The admin verbs reach the admin API beside /mcp the same way.
    let users = herd_verb(&["user", "list", "--json"], Some(&ca.pem)).await;
    assert!(users.status.success(), "{users:?}");
    assert!(users.stdout.contains("\"name\": \"admin\""), "herd up's token is the first admin's: {users:?}");
    let refused = herd_verb(&["user", "list"], None).await;
    assert!(refused.stderr.contains("certificate verify failed"), "{}", refused.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_agent_joins_an_https_hub_over_its_channel_checking_the_hub_against_its_ca() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "fleet-ca");
    let other_ca = Ca::new(dir.path(), "other-ca");
    let (hub_cert, hub_key, _) = ca.issue(dir.path(), "hub");
    let config = write_registry(dir.path(), "[[hosts]]\nname = \"ws1\"\nchannel = true\n");
    let hub_args = ["hub", "--config", &config, "--listen", "127.0.0.1:0", "--token", HUB_TOKEN];
    let mut hub = Herd::start(&[&hub_args[..], &["--tls-cert", &hub_cert, "--tls-key", &hub_key]].concat()).await;
    let base = hub.url.trim_end_matches("/mcp").to_owned();
    assert!(base.starts_with("https://127.0.0.1:"), "{base}");

    let agent_with = |name: &str, trusted: &Path| {
        let config = dir.path().join(format!("{name}.toml"));
        let text = format!(
            "name = \"{name}\"\nhub = \"{base}\"\nhub_token_env = \"HERD_HUB_TOKEN\"\nhub_ca = \"{}\"\n",
            trusted.display()
        );
        std::fs::write(&config, text).unwrap();
        config.display().to_string()
    };
    // An agent that trusts another CA refuses the hub and says why.
    let wrong = agent_with("ws2", &other_ca.pem);
    let mut refused = Herd::start_with_env(&["agent", "--config", &wrong], &[("HERD_HUB_TOKEN", HUB_TOKEN)]).await;
    let why = refused.wait_for_log("channel not open", LOG_LIMIT).await;
    assert!(why["err"].as_str().unwrap().contains("certificate"), "{why}");

    let right = agent_with("ws1", &ca.pem);
    let _agent = Herd::start_with_env(&["agent", "--config", &right], &[("HERD_HUB_TOKEN", HUB_TOKEN)]).await;
    let joined = hub.wait_for_log("host joined over its channel", LOG_LIMIT).await;
    assert_eq!((joined["host"].as_str(), joined["up"].as_bool()), (Some("ws1"), Some(true)), "{joined}");
    let client = Client::connect_with(HttpUpstreamConfig {
        token: Some(HUB_TOKEN.into()),
        ca: Some(TrustedCa::load(&ca.pem).unwrap()),
        ..HttpUpstreamConfig::new(&hub.url)
    })
    .await;
    let shell = client.call("remote_shell", json!({ "host": "ws1", "command": "echo $((6*7))" })).await;
    assert_eq!(
        (structured(&shell)["stdout"].as_str(), structured(&shell)["via"].as_str()),
        (Some("42\n"), Some("channel"))
    );
}
