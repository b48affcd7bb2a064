//! `herd audit`: the audit log, filtered, as a table or one JSON object per
//! line (the store's NDJSON form, for a SIEM); `--follow` keeps polling
//! with the id cursor and prints each new record once, until interrupted.

use super::admin::Access;
use super::client::print_table;
use super::user::short_time;
use crate::cli::AuditArgs;
use anyhow::Context as _;
use herd_admin::AuditQuery;
use herd_store::{AUDIT_MAX_LIMIT, AuditRecord, Outcome, Timestamp};
use std::io::Write as _;
use std::time::Duration;

/// How often `--follow` asks for new records.
const POLL: Duration = Duration::from_secs(1);

pub(crate) async fn run(args: AuditArgs) -> anyhow::Result<()> {
    let now = Timestamp::now();
    let time = |text: &Option<String>, flag: &str| -> anyhow::Result<Option<String>> {
        let Some(text) = text else { return Ok(None) };
        let at = herd_admin::parse_time(text, now).with_context(|| flag.to_owned())?;
        Ok(Some(at.to_string()))
    };
    if let Some(outcome) = &args.outcome {
        outcome.parse::<Outcome>().context("--outcome")?;
    }
    let mut query = AuditQuery {
        user: args.user,
        host: args.host,
        tool: args.tool,
        outcome: args.outcome,
        since: time(&args.since, "--since")?,
        until: time(&args.until, "--until")?,
        limit: args.limit,
        after_id: None,
    };
    let access = Access::open(&args.target, false).await?;
    let records = access.query_audit(&query).await?;
    if !print(&records, args.json, true) || !args.follow {
        return Ok(());
    }
    // With nothing matching yet, every later match is new: start at the beginning.
    query.after_id = Some(records.last().and_then(|r| r.id).unwrap_or(0));
    query.limit = Some(AUDIT_MAX_LIMIT);
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    loop {
        tokio::select! {
            _ = &mut interrupted => return Ok(()),
            () = tokio::time::sleep(POLL) => {}
        }
        loop {
            let batch = access.query_audit(&query).await?;
            if !print(&batch, args.json, false) {
                return Ok(());
            }
            query.after_id = batch.last().and_then(|r| r.id).or(query.after_id);
            if batch.len() < AUDIT_MAX_LIMIT as usize {
                break;
            }
        }
    }
}

/// Prints `records`; `false` once stdout is gone (a closed pipe ends the
/// command quietly).
fn print(records: &[AuditRecord], json: bool, header: bool) -> bool {
    let mut out = std::io::stdout().lock();
    if json {
        return records.iter().all(|r| writeln!(out, "{}", r.to_json_line()).is_ok()) && out.flush().is_ok();
    }
    if records.is_empty() && !header {
        return true;
    }
    let mut rows = Vec::with_capacity(records.len() + 1);
    if header {
        rows.push(
            ["TIME", "USER", "METHOD", "TARGET", "HOSTS", "PATH", "OUTCOME", "MS", "ERROR"].map(String::from).to_vec(),
        );
    }
    for r in records {
        let text = |s: &Option<String>| s.clone().unwrap_or_else(|| "-".into());
        let who = r.user.clone().or_else(|| r.oauth_subject.clone()).unwrap_or_else(|| "-".into());
        let error: String = r.error.as_deref().unwrap_or("").chars().take(60).collect();
        rows.push(vec![
            short_time(r.time),
            who,
            r.method.clone(),
            text(&r.target),
            if r.hosts.is_empty() { "-".into() } else { r.hosts.join(",") },
            r.path.map_or("-".into(), |p| p.to_string()),
            r.outcome.to_string(),
            r.duration_ms.to_string(),
            error.replace('\n', " "),
        ]);
    }
    drop(out);
    print_table(&rows);
    true
}
