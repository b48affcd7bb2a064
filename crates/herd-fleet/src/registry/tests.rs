//! Both registry formats, their errors, and `token_env`.

use crate::{Format, HealthConfig, Registry, RegistryError};
use std::time::Duration;

fn env(name: &str) -> Option<String> {
    match name {
        "TESLA_TOKEN" => Some("from-env".into()),
        "EMPTY" => Some(String::new()),
        _ => None,
    }
}

fn parse(text: &str) -> Result<Registry, RegistryError> {
    Registry::parse_with(text, "hosts.conf", &env)
}

fn error(text: &str) -> (usize, String) {
    match parse(text) {
        Err(RegistryError::Invalid { origin, line, message }) => {
            assert_eq!(origin, "hosts.conf");
            (line, message)
        }
        other => panic!("expected an error, got {other:?}"),
    }
}

const SEED: &str = "\
# name ssh_host lmcp_url token
boltzmann boltzmann.fritz.box https://boltzmann.fritz.box:8080/mcp s3cr3t==

  tesla tesla http://127.0.0.1:8080/mcp -
broglie - https://broglie.fritz.box:8080/mcp -
fermi fermi.lan
";

#[test]
fn reads_the_seed_format() {
    let r = parse(SEED).unwrap();
    assert_eq!(r.len(), 4);
    let b = r.get("boltzmann").unwrap();
    assert_eq!(b.ssh.as_deref(), Some("boltzmann.fritz.box"));
    assert_eq!(b.url.as_deref(), Some("https://boltzmann.fritz.box:8080/mcp"));
    assert_eq!(b.token.as_ref().map(|t| t.expose()), Some("s3cr3t=="));
    assert!(!format!("{b:?}").contains("s3cr3t"));
    assert_eq!(r.get("tesla").unwrap().token, None);
    assert_eq!(r.get("broglie").unwrap().ssh, None);
    assert_eq!(r.get("fermi").unwrap().url, None);
    assert_eq!(r.health(), &HealthConfig::default());
    let names: Vec<&str> = r.hosts().iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["boltzmann", "tesla", "broglie", "fermi"]);
}

const TOML: &str = r#"
# the lab
[health]
up_ttl = 10
down_min = 1.5
budget = "2s"
connect_timeout = "500ms"

[[hosts]]
name = "boltzmann"
url = "http://boltzmann:8080/mcp"
insecure_http = true
token = "inline"
tags = ["lab", "gpu"]

[[hosts]]
name = "tesla"
url = "https://tesla/mcp"
token_env = "TESLA_TOKEN"
ssh = "admin@tesla"
tags = ["lab"]
"#;

#[test]
fn reads_toml_with_token_env_and_health() {
    let r = parse(TOML).unwrap();
    assert_eq!(r.get("boltzmann").unwrap().token.as_ref().map(|t| t.expose()), Some("inline"));
    let tesla = r.get("tesla").unwrap();
    assert_eq!(tesla.token.as_ref().map(|t| t.expose()), Some("from-env"));
    assert_eq!(tesla.ssh.as_deref(), Some("admin@tesla"));
    assert_eq!(r.tagged("lab").count(), 2);
    assert_eq!(r.tagged("gpu").map(|h| h.name.as_str()).collect::<Vec<_>>(), ["boltzmann"]);
    let h = r.health();
    assert_eq!((h.up_ttl, h.down_min, h.budget), (Duration::from_secs(10), Duration::from_millis(1500), 2 * SEC));
    assert_eq!(h.down_max, HealthConfig::default().down_max);
    assert_eq!(h.connect_timeout, Duration::from_millis(500));
}

const SEC: Duration = Duration::from_secs(1);

#[test]
fn detects_the_format_from_content() {
    assert_eq!(Format::detect(SEED), Format::Plain);
    assert_eq!(Format::detect(TOML), Format::Toml);
    assert_eq!(Format::detect("a b http://x/mcp tok=en=\n"), Format::Plain);
    assert_eq!(Format::detect("# only comments\n\n"), Format::Toml);
    assert!(parse("# nothing\n").unwrap().is_empty());
}

#[test]
fn missing_token_env_names_host_and_variable() {
    let (line, message) = error("[[hosts]]\nname = \"a\"\nurl = \"http://a/mcp\"\ntoken_env = \"NOPE\"\n");
    assert_eq!(line, 1);
    assert!(message.contains("\"a\"") && message.contains("NOPE"), "{message}");
    let (_, message) = error("[[hosts]]\nname = \"a\"\nurl = \"http://a/mcp\"\ntoken_env = \"EMPTY\"\n");
    assert!(message.contains("EMPTY"), "{message}");
    let (_, message) =
        error("[[hosts]]\nname = \"a\"\nurl = \"http://a/mcp\"\ntoken = \"x\"\ntoken_env = \"TESLA_TOKEN\"\n");
    assert!(message.contains("not both"), "{message}");
}

#[test]
fn errors_carry_line_numbers() {
    let (line, message) = error("# c\na a.lan\nb - -\n");
    assert_eq!(line, 3);
    assert!(message.contains("neither"), "{message}");
    let (line, message) = error("a a.lan\n\na other.lan\n");
    assert_eq!(line, 3);
    assert!(message.contains("duplicate host name \"a\" (first defined on line 1)"), "{message}");
    let (line, message) = error("ok ok.lan\nbad/name x.lan\n");
    assert_eq!(line, 2);
    assert!(message.contains("invalid host name"), "{message}");
    let (line, message) = error("[[hosts]]\nname = \"a\"\nssh = \"a\"\n\n[[hosts]]\nname = \"a\"\nssh = \"b\"\n");
    assert_eq!(line, 5);
    assert!(message.contains("duplicate"), "{message}");
    let (line, message) = error("[[hosts]]\nname = \"a\"\nssh = \"a\"\nport = 22\n");
    assert_eq!(line, 4);
    assert!(message.contains("port"), "{message}");
    let (line, _) = error("[[hosts]]\nname = \"a\"\nssh = \"a\"\nurl = \n");
    assert_eq!(line, 4);
}

#[test]
fn rejects_bad_urls_ssh_targets_tags_and_health() {
    for (text, needle) in [
        ("a - ftp://a/mcp\n", "not an http"),
        ("a - http://\n", "not an http"),
        ("a -oProxyCommand=evil\n", "starts with '-'"),
        ("[[hosts]]\nname = \"a\"\nssh = \"a\"\ntags = [\"no spaces\"]\n", "invalid tag"),
        ("[[hosts]]\nname = \"a\"\nssh = \"a\"\ntoken = \"\"\n", "token is empty"),
        (&format!("{} x.lan\n", "n".repeat(65)), "invalid host name"),
        ("[health]\ndown_min = 1000\n", "down_min"),
        ("[health]\nbudget = -1.0\n", "budget"),
        ("[health]\nbudget = 0\n", "budget"),
        ("[health]\nbudget = -1\n", "budget"),
        ("[health]\nbudget = \"3 parsecs\"\n", "like \"500ms\""),
        ("[health]\nbudget = 1e9\n", "at most"),
    ] {
        let (_, message) = error(text);
        assert!(message.contains(needle), "{text:?}: {message}");
    }
}

#[test]
fn load_reports_unreadable_files() {
    let err = Registry::load("/nonexistent/hosts.toml").unwrap_err();
    assert!(matches!(&err, RegistryError::Read { path, .. } if path == "/nonexistent/hosts.toml"), "{err}");
    assert!(err.to_string().starts_with("cannot read /nonexistent/hosts.toml: "), "{err}");
}

#[test]
fn reads_exposure_and_ssh_settings() {
    let r = parse(
        r#"
[ssh]
config = "/etc/herd/ssh_config"
connect_timeout = "2s"
call_timeout = 10

[[hosts]]
name = "gpu1"
url = "https://gpu1:7801/mcp"
expose = { tools = ["generate"], prefix = "gpu1_", prompts = false }

[[hosts]]
name = "plain"
ssh = "plain.lan"
"#,
    )
    .unwrap();
    let ssh = r.ssh();
    assert_eq!(ssh.config_file.as_deref(), Some(std::path::Path::new("/etc/herd/ssh_config")));
    assert_eq!(ssh.connect_timeout, Duration::from_secs(2));
    assert_eq!(ssh.call_timeout, Duration::from_secs(10));
    assert_eq!(ssh.keepalive, Duration::from_secs(5), "unset keys keep their default");
    let expose = r.get("gpu1").unwrap().expose.clone().unwrap();
    assert_eq!((expose.prefix.as_str(), expose.resources, expose.prompts), ("gpu1_", true, false));
    assert!(expose.exposes_tool("generate") && !expose.exposes_tool("shell"));
    assert_eq!(r.get("plain").unwrap().expose, None);
}

#[test]
fn rejects_unsafe_prefixes_and_zero_ssh_timeouts() {
    let (line, message) = error("[[hosts]]\nname = \"a\"\nurl = \"http://a/mcp\"\nexpose = { prefix = \"a.b\" }\n");
    assert_eq!(line, 1);
    assert!(message.contains("expose.prefix"), "{message}");
    let (_, message) = error("[ssh]\ncall_timeout = 0\n");
    assert!(message.contains("ssh.call_timeout must be more than 0"), "{message}");
}

#[test]
fn url_credentials_stay_out_of_errors_and_debug_output() {
    let (_, message) = error("[[hosts]]\nname = \"a\"\nurl = \"ftp://alice:pa55@a/mcp?token=t0k\"\n");
    assert!(message.contains("ftp://alice:***@a/mcp?token=***"), "{message}");
    assert!(!message.contains("pa55") && !message.contains("t0k"), "{message}");
    let r = parse("[[hosts]]\nname = \"a\"\nurl = \"https://alice:pa55@a/mcp\"\ntoken = \"s3cr3t\"\n").unwrap();
    let shown = format!("{:?}", r.get("a").unwrap());
    assert!(shown.contains("https://alice:***@a/mcp"), "{shown}");
    assert!(!shown.contains("pa55") && !shown.contains("s3cr3t"), "{shown}");
    let (_, message) = error("[[hosts]]\nname = \"a\"\nurl = \"http://alice:pa55@10.1.2.3/mcp\"\n");
    assert!(message.contains("http://alice:***@10.1.2.3/mcp") && !message.contains("pa55"), "{message}");
}

fn toml_host(url: &str, extra: &str) -> String {
    format!("[[hosts]]\nname = \"h\"\nurl = \"{url}\"\n{extra}")
}

#[test]
fn plaintext_beyond_loopback_is_refused_unless_the_host_allows_it() {
    for url in
        ["http://10.0.0.5:7801/mcp", "http://gpu1.lan/mcp", "http://[fe80::1]:7801/mcp", "http://0.0.0.0:7801/mcp"]
    {
        let (line, message) = error(&toml_host(url, ""));
        assert_eq!(line, 1);
        let https = url.replacen("http://", "https://", 1);
        for needle in ["\"h\"", "plaintext", "a shell on that host", &https, "set insecure_http = true on this host"] {
            assert!(message.contains(needle), "{url}: {needle:?} missing from {message}");
        }
        let allowed = parse(&toml_host(url, "insecure_http = true\n")).unwrap();
        assert!(allowed.get("h").unwrap().insecure_http);
    }
    let (_, message) = error("gpu1 - http://gpu1.lan:8080/mcp\n");
    assert!(message.contains("insecure_http = true"), "the seed format is refused too: {message}");
    for url in ["http://127.0.0.1:7801/mcp", "http://127.9.9.9/mcp", "http://localhost:1/mcp", "http://[::1]:7801/mcp"]
    {
        assert!(parse(&toml_host(url, "")).is_ok(), "{url} is loopback");
    }
    assert!(parse(&toml_host("https://10.0.0.5:7801/mcp", "")).is_ok());
}

/// A PEM file with one (unparsed) certificate block.
fn pem_file(dir: &std::path::Path, name: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n").unwrap();
    path.display().to_string()
}

#[test]
fn ca_files_are_read_for_the_fleet_or_per_host() {
    let dir = tempfile::tempdir().unwrap();
    let (fleet, own) = (pem_file(dir.path(), "fleet.pem"), pem_file(dir.path(), "own.pem"));
    let text = format!(
        "[tls]\nca = \"{fleet}\"\n\n{}{}{}",
        toml_host("https://a/mcp", "").replace("\"h\"", "\"a\""),
        toml_host("https://b/mcp", &format!("ca = \"{own}\"\n")).replace("\"h\"", "\"b\""),
        toml_host("http://127.0.0.1:1/mcp", "").replace("\"h\"", "\"c\""),
    );
    let r = parse(&text).unwrap();
    let ca = |name: &str| r.get(name).unwrap().ca.as_ref().map(|c| c.path().display().to_string());
    assert_eq!(ca("a").as_deref(), Some(fleet.as_str()));
    assert_eq!(ca("b").as_deref(), Some(own.as_str()));
    assert_eq!(ca("c"), None, "an http:// host has no CA");

    let (line, message) = error(&toml_host("http://127.0.0.1:1/mcp", &format!("ca = \"{own}\"\n")));
    assert_eq!(line, 1);
    assert!(message.contains("ca is set but the url is http://"), "{message}");
    let missing = dir.path().join("missing.pem").display().to_string();
    let (line, message) = error(&format!("# fleet\n[tls]\nca = \"{missing}\"\n"));
    assert_eq!(line, 2);
    assert!(message.contains("tls.ca") && message.contains(&missing), "{message}");
    let (_, message) = error(&toml_host("https://a/mcp", &format!("ca = \"{missing}\"\n")));
    assert!(message.contains("\"h\"") && message.contains(&missing), "{message}");
}

#[test]
fn durations_beyond_their_range_are_refused_naming_the_field() {
    for (text, needle) in [
        ("[ssh]\nconnect_timeout = 1e19\n", "ssh.connect_timeout must be more than 0 s and at most 3600 s"),
        ("[ssh]\nkeepalive = \"2h\"\n", "ssh.keepalive must be more than 0 s and at most 3600 s"),
        ("[ssh]\ncall_timeout = 1e300\n", "ssh.call_timeout must be more than 0 s and at most 86400 s"),
        ("[health]\nup_ttl = 1e19\n", "health.up_ttl must be from 0 s to 86400 s"),
        ("[health]\ndown_max = -1\n", "health.down_max must be from 0 s to 86400 s"),
        ("[health]\nconnect_timeout = 3601\n", "health.connect_timeout must be more than 0 s and at most 3600 s"),
    ] {
        let (_, message) = error(text);
        assert!(message.contains(needle), "{text:?}: {message}");
    }
    let r = parse("[ssh]\nconnect_timeout = \"1h\"\ncall_timeout = 86400\n[health]\nup_ttl = 0\n").unwrap();
    assert_eq!(
        (r.ssh().connect_timeout, r.ssh().call_timeout),
        (Duration::from_secs(3600), Duration::from_secs(86_400))
    );
}

#[test]
fn the_hubs_audit_table_is_left_to_its_reader() {
    let r = parse("[audit]\nretention = \"30d\"\n\n[[hosts]]\nname = \"a\"\nssh = \"a\"\n").unwrap();
    assert_eq!(r.len(), 1);
    let (_, message) = error("[audti]\nretention = \"30d\"\n");
    assert!(message.contains("audti"), "{message}");
}

struct NoTunnel;

impl herd_upstream::Tunnel for NoTunnel {
    fn send(
        &self,
        _: http::Request<http_body_util::Full<bytes::Bytes>>,
    ) -> herd_proto::BoxFuture<'static, Result<http::Response<hyper::body::Incoming>, herd_upstream::TunnelError>> {
        Box::pin(async { Err(herd_upstream::TunnelError::NotConnected("none".into())) })
    }
}

#[test]
fn hosts_that_joined_over_a_channel_keep_what_the_file_says_of_them() {
    let link = herd_upstream::TunnelLink(std::sync::Arc::new(NoTunnel));
    let file = parse("[[hosts]]\nname = \"ws1\"\nssh = \"ws1.lan\"\ntags = [\"lab\"]\n").unwrap();
    let joined = ["ws1", "ws2", "not a name"].map(|n| (n.to_owned(), link.clone()));
    let registry = file.with_channels(joined);
    let names: Vec<&str> = registry.hosts().iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["ws1", "ws2"]);
    let ws1 = registry.get("ws1").unwrap();
    assert_eq!(
        (ws1.channel.as_ref(), ws1.tags.as_slice(), ws1.ssh.as_deref()),
        (Some(&link), &["lab".to_owned()][..], Some("ws1.lan"))
    );
    let ws2 = registry.get("ws2").unwrap();
    assert!(ws2.channel.is_some() && ws2.url.is_none() && ws2.ssh.is_none() && ws2.tags.is_empty());
}

#[test]
fn a_channel_never_takes_over_a_host_reached_by_its_url() {
    let link = herd_upstream::TunnelLink(std::sync::Arc::new(NoTunnel));
    let file = parse("[[hosts]]\nname = \"db1\"\nurl = \"https://10.0.0.5:7801/mcp\"\n").unwrap();
    let registry = file.with_channels([("db1".to_owned(), link)]);
    let db1 = registry.get("db1").unwrap();
    assert!(db1.channel.is_none() && !db1.by_channel, "the channel claiming db1 was left out");
    assert_eq!(db1.url.as_deref(), Some("https://10.0.0.5:7801/mcp"));
    assert_eq!(registry.len(), 1);
}

#[test]
fn a_host_may_wait_for_its_channel_but_then_has_no_url() {
    let waiting = parse("[[hosts]]\nname = \"ws1\"\nchannel = true\nexpose = {}\n").unwrap();
    let ws1 = waiting.get("ws1").unwrap();
    assert!(ws1.by_channel && ws1.channel.is_none() && ws1.expose.is_some());
    let (line, message) = error("[[hosts]]\nname = \"ws1\"\nchannel = true\nurl = \"http://127.0.0.1:1/mcp\"\n");
    assert_eq!(line, 1);
    assert!(message.contains("channel = true and a url"), "{message}");
    let (_, nothing) = error("[[hosts]]\nname = \"ws1\"\n");
    assert!(nothing.contains("neither an agent url, a channel nor an ssh destination"), "{nothing}");
}
