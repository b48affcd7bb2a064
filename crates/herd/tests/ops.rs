//! Operating herd: `/readyz` on every server role, shell completions, and
//! `herd doctor` against a healthy `herd up` and against a fleet with a
//! dead host beside one reachable by both paths (a real agent and sshd).

#![allow(clippy::unwrap_used)]

mod support;

#[path = "../../herd-fleet/tests/support/sshd.rs"]
mod sshd;

use std::path::Path;
use std::time::Duration;
use support::{Finished, Herd, herd_bin, http_get, run_bounded};
use tokio::process::Command;

const HUB_TOKEN: &str = "ops-hub-token";
const AGENT_TOKEN: &str = "ops-agent-token";

async fn agent() -> Herd {
    Herd::start(&["agent", "--listen", "127.0.0.1:0", "--token", AGENT_TOKEN]).await
}

async fn hub(config: &Path) -> Herd {
    let config = config.to_str().unwrap();
    Herd::start(&["hub", "--config", config, "--listen", "127.0.0.1:0", "--token", HUB_TOKEN]).await
}

/// `herd up` on `home`; the process and the hub's URL (the first URL
/// logged is the local agent's).
async fn up(home: &Path) -> (Herd, String) {
    let home = home.to_str().unwrap();
    let env = [("HERD_HOME", home)];
    let mut up = Herd::start_with_env(&["up", "--listen", "127.0.0.1:0", "--agent-listen", "127.0.0.1:0"], &env).await;
    let hub = up.wait_for_log("serving MCP", Duration::from_secs(30)).await;
    assert_eq!(hub["role"], "hub", "{hub}");
    let url = hub["url"].as_str().unwrap().to_owned();
    (up, url)
}

/// A loopback port nothing listens on.
fn refused_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn herd(args: &[&str], env: &[(&str, &str)]) -> Finished {
    let mut cmd = Command::new(herd_bin());
    cmd.args(args).env_remove("HERD_TOKEN").env_remove("HERD_HOME").env_remove("HERD_CONFIG");
    cmd.env_remove("HERD_AGENT_CONFIG").envs(env.iter().copied());
    run_bounded(cmd, Duration::from_secs(60)).await
}

// === /readyz ===

#[tokio::test(flavor = "multi_thread")]
async fn every_server_role_answers_readyz_without_a_token() {
    let agent = agent().await;
    assert_eq!(http_get(&agent.url, "/readyz", None).await, (200, "ready".into()));
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hosts.toml");
    let registry = format!("[[hosts]]\nname = \"a\"\nurl = \"{}\"\ntoken = \"{AGENT_TOKEN}\"\n", agent.url);
    std::fs::write(&config, registry).unwrap();
    let hub = hub(&config).await;
    assert_eq!(http_get(&hub.url, "/readyz", None).await, (200, "ready".into()));
    assert_eq!(http_get(&hub.url, "/healthz", None).await, (200, "ok".into()));

    let home = tempfile::tempdir().unwrap();
    let (mut up, hub_url) = up(home.path()).await;
    assert_eq!(http_get(&hub_url, "/readyz", None).await, (200, "ready".into()));
    assert_eq!(http_get(&up.url, "/readyz", None).await, (200, "ready".into()), "the local agent of herd up");
    assert!(up.terminate(Duration::from_secs(10)).await.success());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hub_whose_registry_is_broken_at_start_never_serves() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hosts.toml");
    std::fs::write(&config, "[[hosts]]\nname = \"a\"\nurl = \n").unwrap();
    let args = ["hub", "--config", config.to_str().unwrap(), "--listen", "127.0.0.1:0", "--token", HUB_TOKEN];
    let out = herd(&args, &[]).await;
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(out.stderr.contains("hosts.toml:"), "{out:?}");
}

// === completions ===

#[tokio::test]
async fn bash_sources_the_completion_script() {
    let script = format!("source <({} completions bash) && complete -p herd", herd_bin());
    let mut cmd = Command::new("bash");
    cmd.args(["-c", &script]);
    let out = run_bounded(cmd, Duration::from_secs(30)).await;
    assert!(out.status.success() && out.stderr.is_empty(), "{out:?}");
    assert!(out.stdout.contains("herd"), "{out:?}");
}

#[tokio::test]
async fn zsh_fish_elvish_and_powershell_scripts_name_the_subcommands() {
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let out = herd(&["completions", shell], &[]).await;
        assert!(out.status.success(), "{shell}: {out:?}");
        for subcommand in ["doctor", "hosts", "servers", "completions"] {
            assert!(out.stdout.contains(subcommand), "{shell} script lacks {subcommand}");
        }
    }
    let bad = herd(&["completions", "tcsh"], &[]).await;
    assert_eq!(bad.status.code(), Some(2), "{bad:?}");
}

// === doctor ===

#[tokio::test(flavor = "multi_thread")]
async fn doctor_passes_on_a_healthy_herd_up() {
    let home = tempfile::tempdir().unwrap();
    let (mut up, hub_url) = up(home.path()).await;
    let home_str = home.path().to_str().unwrap();
    let out = herd(&["doctor"], &[("HERD_HOME", home_str), ("HERD_URL", &hub_url)]).await;
    assert!(out.status.success(), "{out:?}");
    for check in ["token", "agent token", "hosts.toml", "hub", "hub ready", "clock"] {
        let row = out.stdout.lines().find(|l| l.starts_with(&format!("{check} "))).unwrap_or_default();
        assert!(row.contains(" OK "), "{check}: {row:?} in\n{}", out.stdout);
    }
    assert!(!out.stdout.contains(hub_token(home.path()).as_str()), "the token is never shown");
    assert!(up.terminate(Duration::from_secs(10)).await.success());
}

fn hub_token(home: &Path) -> String {
    std::fs::read_to_string(home.join("token")).unwrap().trim().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_names_the_dead_host_and_its_failing_paths() {
    let agent = agent().await;
    let sshd = sshd::Sshd::start();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hosts.toml");
    let dead_port = refused_port();
    let registry = format!(
        "[health]\nconnect_timeout = 1\n\n[ssh]\nconfig = \"{}\"\n\n\
         [[hosts]]\nname = \"good\"\nurl = \"{}\"\ntoken = \"{AGENT_TOKEN}\"\nssh = \"{}\"\n\n\
         [[hosts]]\nname = \"dead\"\nurl = \"http://127.0.0.1:{dead_port}/mcp\"\ntoken = \"{AGENT_TOKEN}\"\n\
         ssh = \"ssh://doctor@127.0.0.1:{dead_port}\"\n",
        sshd.config_file().display(),
        agent.url,
        sshd.alias(),
    );
    std::fs::write(&config, registry).unwrap();
    let hub = hub(&config).await;
    let home = tempfile::tempdir().unwrap();
    let env = [
        ("HERD_URL", hub.url.as_str()),
        ("HERD_TOKEN", HUB_TOKEN),
        ("HERD_HOME", home.path().to_str().unwrap()),
        ("HERD_CONFIG", config.to_str().unwrap()),
    ];
    let out = herd(&["doctor", "--timeout", "5"], &env).await;
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(out.stderr.contains("2 check(s) failed"), "{out:?}");
    let row = |check: &str| out.stdout.lines().find(|l| l.starts_with(check)).unwrap_or_default().to_owned();
    assert!(row("host good via agent").contains(" OK "), "{}", out.stdout);
    assert!(row("host good via ssh").contains(" OK "), "{}\n{}", out.stdout, sshd.log());
    let agent_row = row("host dead via agent");
    assert!(agent_row.contains(" FAIL ") && agent_row.contains(&dead_port.to_string()), "{}", out.stdout);
    assert!(row("host dead via ssh").contains(" FAIL "), "{}", out.stdout);
    assert!(row("hub ").contains(" OK "), "{}", out.stdout);
    assert!(!out.stdout.contains(AGENT_TOKEN) && !out.stdout.contains(HUB_TOKEN), "tokens are never shown");
}

#[tokio::test]
async fn doctor_fails_on_an_unreachable_hub_and_an_open_token_file() {
    use std::os::unix::fs::PermissionsExt as _;
    let home = tempfile::tempdir().unwrap();
    let token = home.path().join("token");
    std::fs::write(&token, "abc\n").unwrap();
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o644)).unwrap();
    let url = format!("http://127.0.0.1:{}/mcp", refused_port());
    let out = herd(&["doctor"], &[("HERD_HOME", home.path().to_str().unwrap()), ("HERD_URL", &url)]).await;
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let token_row = out.stdout.lines().find(|l| l.starts_with("token ")).unwrap_or_default();
    assert!(token_row.contains(" FAIL ") && token_row.contains("chmod 600"), "{}", out.stdout);
    let mode = std::fs::metadata(&token).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644, "doctor reports; it does not change the file");
    let hub_row = out.stdout.lines().find(|l| l.starts_with("hub ")).unwrap_or_default();
    assert!(hub_row.contains(" FAIL ") && hub_row.contains("cannot reach"), "{}", out.stdout);
}

// === certificates ===

/// Runs `openssl ARGS` in `dir`.
async fn openssl(dir: &Path, args: &[&str]) {
    let mut cmd = Command::new("openssl");
    cmd.args(args).current_dir(dir);
    let out = run_bounded(cmd, Duration::from_secs(30)).await;
    assert!(out.status.success(), "openssl {args:?}: {out:?}");
}

/// A test CA (`ca.pem`) and a certificate for 127.0.0.1 it signed, valid
/// for `days` (`server.pem`, `server.key`), in `dir`.
async fn certificate_for_loopback(dir: &Path, days: &str) {
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    let ca = ["-days", "30", "-subj", "/CN=herd doctor test CA", "-keyout", "ca.key", "-out", "ca.pem"];
    openssl(dir, &[&["req", "-x509"][..], &ec, &ca].concat()).await;
    openssl(
        dir,
        &[&["req"][..], &ec, &["-subj", "/CN=127.0.0.1", "-keyout", "server.key", "-out", "server.csr"]].concat(),
    )
    .await;
    let ext = "basicConstraints = CA:FALSE\nsubjectAltName = IP:127.0.0.1\nextendedKeyUsage = serverAuth\n";
    std::fs::write(dir.join("server.ext"), ext).unwrap();
    let sign = ["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", "2"];
    openssl(dir, &[&sign[..], &["-days", days, "-extfile", "server.ext", "-out", "server.pem"]].concat()).await;
}

/// `openssl s_server -www` (a 200 page for any GET) on a loopback port
/// with `dir`'s server certificate, once it accepts connections.
async fn tls_server(dir: &Path) -> (tokio::process::Child, u16) {
    use tokio::io::AsyncBufReadExt as _;
    let port = refused_port();
    let mut cmd = Command::new("openssl");
    cmd.args(["s_server", "-www", "-accept", &format!("127.0.0.1:{port}")])
        .args(["-cert", "server.pem", "-key", "server.key"])
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true);
    let mut server = cmd.spawn().unwrap();
    let mut lines = tokio::io::BufReader::new(server.stdout.take().unwrap()).lines();
    let accepting = async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.starts_with("ACCEPT") {
                return;
            }
        }
        panic!("openssl s_server ended before it accepted connections");
    };
    tokio::time::timeout(Duration::from_secs(30), accepting).await.unwrap();
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (server, port)
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_warns_of_a_hub_certificate_about_to_expire() {
    let dir = tempfile::tempdir().unwrap();
    certificate_for_loopback(dir.path(), "3").await;
    let (mut server, port) = tls_server(dir.path()).await;
    let home = tempfile::tempdir().unwrap();
    let url = format!("https://127.0.0.1:{port}/mcp");
    let ca = dir.path().join("ca.pem");
    let env = [
        ("HERD_URL", url.as_str()),
        ("HERD_TOKEN", HUB_TOKEN),
        ("HERD_HOME", home.path().to_str().unwrap()),
        ("SSL_CERT_FILE", ca.to_str().unwrap()),
    ];
    // s_server answers one connection at a time: the checks after the
    // first wait for it, within the timeout.
    let out = herd(&["doctor", "--timeout", "2"], &env).await;
    let row = out.stdout.lines().find(|l| l.starts_with("hub certificate ")).unwrap_or_default();
    assert!(row.contains(" WARN ") && row.contains("expires in 2 day(s)"), "{out:?}");
    assert!(row.contains("renew the certificate"), "{row}");
    server.kill().await.unwrap();
}
