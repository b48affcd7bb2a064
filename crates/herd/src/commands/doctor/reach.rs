//! The checks that go over the network: the hub, the clock, and every
//! host by each of its paths. Each is bounded by the one `--timeout`.

use super::{Finding, cert};
use futures_util::StreamExt as _;
use herd_fleet::{Host, McpProber, Prober as _, Registry};
use herd_upstream::{HttpUpstream, HttpUpstreamConfig};
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime};

/// Hosts checked at once (each may start an ssh process).
const HOSTS_AT_ONCE: usize = 16;

/// The hub at `url`: alive (`/healthz`, whose `Date` header also gives the
/// clock check), ready (`/readyz`), and accepting `token` for a session.
pub(super) async fn hub(url: &str, token: Option<String>, timeout: Duration) -> Vec<Finding> {
    let shown = herd_proto::redact_url(url);
    let start_hub = "start the hub (`herd up` or `herd hub`), or point HERD_URL at it";
    let Ok(base) = reqwest::Url::parse(url) else {
        return vec![Finding::fail(
            "hub",
            format!("HERD_URL is not a URL: {shown}"),
            "set HERD_URL to the hub's MCP URL",
        )];
    };
    let client = match http_client(timeout) {
        Ok(client) => client,
        Err(err) => return vec![Finding::fail("hub", format!("no HTTP client: {err}"), "")],
    };
    let get = |path: &str| {
        let mut target = base.clone();
        target.set_path(path);
        target.set_query(None);
        client.get(target).send()
    };
    let alive = match get("/healthz").await {
        Ok(response) if response.status().is_success() => response,
        Ok(response) => {
            let detail = format!("{shown}: /healthz answered {}", response.status());
            return vec![Finding::fail("hub", detail, "is HERD_URL a herd hub?")];
        }
        Err(err) => {
            let detail = format!("cannot reach {shown}: {}", herd_upstream::with_causes(&err));
            return vec![Finding::fail("hub", detail, start_hub)];
        }
    };
    let mut findings = vec![clock(alive.headers().get(reqwest::header::DATE).and_then(|d| d.to_str().ok()))];
    findings.extend(certificate("hub certificate", &shown, &alive));
    findings.push(match get("/readyz").await {
        Ok(r) if r.status().is_success() => Finding::ok("hub ready", format!("{shown}: ready")),
        Ok(r) => Finding::warn(
            "hub ready",
            format!("{shown}: /readyz answered {}", r.status()),
            "see the hub's log for the check that fails",
        ),
        Err(err) => {
            Finding::warn("hub ready", format!("/readyz: {}", herd_upstream::with_causes(&err)), "see the hub's log")
        }
    });
    findings.insert(0, session(url, &shown, token, timeout).await);
    findings
}

/// A client for the plain HTTP checks that keeps the server's certificate.
fn http_client(timeout: Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder().timeout(timeout).tls_info(true).build()
}

/// The expiry of the certificate `response` came over, if it came over TLS.
fn certificate(check: &str, shown: &str, response: &reqwest::Response) -> Option<Finding> {
    let info = response.extensions().get::<reqwest::tls::TlsInfo>()?;
    Some(cert::finding(check, shown, info.peer_certificate()?, SystemTime::now()))
}

/// An MCP session with the hub, opened with `token`.
async fn session(url: &str, shown: &str, token: Option<String>, timeout: Duration) -> Finding {
    let config = HttpUpstreamConfig {
        token,
        connect_timeout: timeout,
        exchange_timeout: timeout,
        ..HttpUpstreamConfig::new(url)
    };
    let started = Instant::now();
    let opened = match HttpUpstream::new(config) {
        Ok(upstream) => tokio::time::timeout(timeout, upstream.connect()).await.map(|r| r.map_err(|e| e.to_string())),
        Err(err) => Ok(Err(err.to_string())),
    };
    match opened {
        Ok(Ok(_)) => Finding::ok("hub", format!("{shown}: session opened in {} ms", started.elapsed().as_millis())),
        Ok(Err(err)) => {
            Finding::fail("hub", format!("{shown}: {err}"), "check HERD_TOKEN (or the token file) and HERD_URL")
        }
        Err(_) => {
            Finding::fail("hub", format!("{shown}: no session within {}s", timeout.as_secs_f64()), "see the hub's log")
        }
    }
}

/// Largest clock difference that is only the `Date` header's rounding.
const SKEW_OK: Duration = Duration::from_secs(2);
/// Largest difference tolerated with a warning; beyond it token expiries
/// and signed request states are judged wrongly.
const SKEW_WARN: Duration = Duration::from_secs(60);

/// The local clock against the hub's `Date` header.
fn clock(date: Option<&str>) -> Finding {
    let Some(hub_time) = date.and_then(|d| httpdate::parse_http_date(d).ok()) else {
        return Finding::warn("clock", "the hub sent no Date header", "");
    };
    skew_finding(SystemTime::now(), hub_time)
}

pub(super) fn skew_finding(local: SystemTime, hub: SystemTime) -> Finding {
    let (skew, side) = match local.duration_since(hub) {
        Ok(ahead) => (ahead, "ahead of"),
        Err(behind) => (behind.duration(), "behind"),
    };
    let detail = format!("this machine is {}s {side} the hub", skew.as_secs());
    let fix = "synchronise the clocks (NTP: timedatectl set-ntp true, or chrony)";
    if skew <= SKEW_OK {
        Finding::ok("clock", "within 2s of the hub")
    } else if skew <= SKEW_WARN {
        Finding::warn("clock", detail, fix)
    } else {
        Finding::fail("clock", detail, fix)
    }
}

/// Every host of `registry` by each path it has (the registry refuses a
/// host with none), a few hosts at once.
pub(super) async fn hosts(registry: &Registry, timeout: Duration) -> Vec<Finding> {
    let health = herd_fleet::HealthConfig {
        budget: timeout,
        connect_timeout: registry.health().connect_timeout.min(timeout),
        ..registry.health().clone()
    };
    let prober = McpProber::new(&health).count_tools(false);
    let client = http_client(timeout).ok();
    let ssh = registry.ssh();
    let checks = registry.hosts().iter().map(|host| {
        let (prober, client) = (&prober, client.as_ref());
        async move {
            let mut found = Vec::new();
            if let Some(url) = &host.url {
                found.push(agent_path(prober, host, timeout).await);
                found.extend(host_certificate(client, &host.name, url).await);
            }
            if let Some(dest) = &host.ssh {
                found.push(ssh_path(&host.name, dest, ssh.config_file.as_deref(), timeout).await);
            }
            found
        }
    });
    futures_util::stream::iter(checks).buffered(HOSTS_AT_ONCE).collect::<Vec<_>>().await.concat()
}

/// The agent path: an MCP session opened and pinged, as the hub's probes do.
async fn agent_path(prober: &McpProber, host: &Host, timeout: Duration) -> Finding {
    let check = format!("host {} via agent", host.name);
    let url = host.url.as_deref().map(herd_proto::redact_url).unwrap_or_default();
    let started = Instant::now();
    match tokio::time::timeout(timeout, prober.probe(host)).await {
        Ok(Ok(_)) => Finding::ok(check, format!("{url}: answered in {} ms", started.elapsed().as_millis())),
        Ok(Err(err)) => Finding::fail(
            check,
            format!("{url}: {err}"),
            format!("is `herd agent` running on {} at that address, with the token hosts.toml gives?", host.name),
        ),
        Err(_) => Finding::fail(
            check,
            format!("{url}: no answer within {}s", timeout.as_secs_f64()),
            "is the host up and the port open?",
        ),
    }
}

/// The expiry of the certificate an `https://` agent presents (its
/// `/healthz`, no token needed). Nothing when the agent is not reached:
/// the agent path's check says why.
async fn host_certificate(client: Option<&reqwest::Client>, name: &str, url: &str) -> Option<Finding> {
    let mut target = reqwest::Url::parse(url).ok().filter(|u| u.scheme() == "https")?;
    target.set_path("/healthz");
    target.set_query(None);
    let response = client?.get(target).send().await.ok()?;
    certificate(&format!("host {name} certificate"), &herd_proto::redact_url(url), &response)
}

/// The ssh path: `ssh DEST true` with the options the fallback connects
/// with (no password prompt, the host key already in `known_hosts`, the
/// registry's ssh config file). herd's own variables (tokens) are not
/// passed to ssh.
async fn ssh_path(name: &str, dest: &str, config_file: Option<&std::path::Path>, timeout: Duration) -> Finding {
    let check = format!("host {name} via ssh");
    let mut cmd = tokio::process::Command::new("ssh");
    if let Some(file) = config_file {
        cmd.arg("-F").arg(file);
    }
    let connect_secs = timeout.as_secs().max(1).to_string();
    cmd.args(["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes"])
        .args(["-o", &format!("ConnectTimeout={connect_secs}"), "--", dest, "true"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("HERD_") {
            cmd.env_remove(key);
        }
    }
    let fix = format!(
        "make `ssh -o BatchMode=yes -o StrictHostKeyChecking=yes {dest} true` work from here: key in the agent or ~/.ssh, host in known_hosts"
    );
    let child = match cmd.spawn() {
        Ok(child) => child,
        Err(err) => return Finding::fail(check, format!("cannot run ssh: {err}"), "install the OpenSSH client"),
    };
    match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(out)) if out.status.success() => Finding::ok(check, format!("{dest}: connected")),
        Ok(Ok(out)) => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let why = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("ssh failed").trim();
            Finding::fail(check, format!("{dest}: {why}"), fix)
        }
        Ok(Err(err)) => Finding::fail(check, format!("{dest}: {err}"), fix),
        Err(_) => Finding::fail(check, format!("{dest}: no answer within {}s", timeout.as_secs_f64()), fix),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::doctor::Status;

    #[test]
    fn clock_skew_is_judged_by_size_either_way() {
        let hub = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let at = |secs: i64| {
            if secs >= 0 { hub + Duration::from_secs(secs as u64) } else { hub - Duration::from_secs((-secs) as u64) }
        };
        assert_eq!(skew_finding(at(1), hub).status, Status::Ok);
        assert_eq!(skew_finding(at(-2), hub).status, Status::Ok);
        let warn = skew_finding(at(-30), hub);
        assert_eq!((warn.status, warn.detail.as_str()), (Status::Warn, "this machine is 30s behind the hub"));
        let fail = skew_finding(at(600), hub);
        assert_eq!((fail.status, fail.detail.as_str()), (Status::Fail, "this machine is 600s ahead of the hub"));
    }

    #[test]
    fn a_missing_or_garbled_date_is_a_warning() {
        assert_eq!(clock(None).status, Status::Warn);
        assert_eq!(clock(Some("yesterday")).status, Status::Warn);
    }
}
