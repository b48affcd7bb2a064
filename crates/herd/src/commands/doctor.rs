//! `herd doctor`: checks this machine's herd setup and says what to fix.
//!
//! The checks, in order: the token (present, private to its owner), the
//! files `herd init` wrote (`hub.env`, `agent.env`, and their certificate:
//! issued by the fleet CA, not near expiry, its key private), the config
//! files (`hosts.toml`, `agent.toml`: they parse), the hub at
//! `HERD_URL` (alive, ready, accepts the token), the clock (against the
//! hub's `Date` header), the expiry of the certificates an `https://` hub
//! and agents present, and every host of the registry by each of its
//! paths (the agent over MCP, ssh with `BatchMode`). Each network check
//! has one deadline (`--timeout`). Nothing is changed: a token file open
//! to others is reported, not narrowed.
//!
//! One table on stdout, a row per check with OK, WARN or FAIL and, for the
//! latter two, what to do; the exit status is 1 when any check FAILs.

mod cert;
mod files;
mod reach;
mod setup;

use crate::cli::DoctorArgs;
use crate::commands::client::print_table;
use anyhow::bail;
use std::time::Duration;

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Status {
    Ok,
    Warn,
    Fail,
}

/// One row of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Finding {
    pub(super) check: String,
    pub(super) status: Status,
    pub(super) detail: String,
    /// What to do about a WARN or FAIL.
    pub(super) fix: String,
}

impl Finding {
    pub(super) fn ok(check: impl Into<String>, detail: impl Into<String>) -> Self {
        Self { check: check.into(), status: Status::Ok, detail: detail.into(), fix: String::new() }
    }

    pub(super) fn warn(check: impl Into<String>, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self { check: check.into(), status: Status::Warn, detail: detail.into(), fix: fix.into() }
    }

    pub(super) fn fail(check: impl Into<String>, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self { check: check.into(), status: Status::Fail, detail: detail.into(), fix: fix.into() }
    }
}

pub(crate) async fn run(args: DoctorArgs) -> anyhow::Result<()> {
    let Ok(timeout) = Duration::try_from_secs_f64(args.timeout) else {
        bail!("--timeout must be a positive number of seconds, not {}", args.timeout);
    };
    let home = crate::home::path(args.home.clone()).ok();
    let mut findings = Vec::new();

    let token = files::token(&args.client, home.as_deref(), &mut findings);
    if let Some(home) = &home {
        findings.extend(files::secret_file("agent token", &home.join("agent.token")));
        findings.extend(setup::init_files(home, std::time::SystemTime::now()));
    }
    let registry = files::registry(args.config.as_deref(), home.as_deref(), &mut findings);
    findings.extend(files::agent_config(args.agent_config.as_deref(), home.as_deref()));

    findings.extend(reach::hub(&args.client.url, token, timeout).await);
    if let Some(registry) = registry {
        findings.extend(reach::hosts(&registry, timeout).await);
    }

    print_report(&findings);
    let failed = findings.iter().filter(|f| f.status == Status::Fail).count();
    if failed > 0 {
        bail!("{failed} check(s) failed");
    }
    Ok(())
}

fn print_report(findings: &[Finding]) {
    let mut rows = vec![["CHECK", "STATUS", "DETAIL", "FIX"].map(String::from).to_vec()];
    for f in findings {
        let status = match f.status {
            Status::Ok => "OK",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
        };
        rows.push(vec![f.check.clone(), status.into(), one_line(&f.detail), one_line(&f.fix)]);
    }
    print_table(&rows);
}

/// A multi-line error folded onto one line, so the table stays a table.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
