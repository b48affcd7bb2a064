//! Health probes shared out among hub replicas.
//!
//! Replicas on one store must not each probe every host: N replicas would
//! multiply the probe traffic every agent sees by N. Each host has one row
//! in `probe_leases`: a lease (which replica may probe it, until when) and
//! the last result any replica published. A replica claims the hosts whose
//! lease ran out ([`Store::claim_probes`], one statement, so two replicas
//! never get the same host), probes them, and publishes what it found with
//! a lease that lasts as long as the result is trusted
//! ([`Store::publish_probes`]); every replica reads the results
//! ([`Store::probe_results`]). A replica that dies holding leases only
//! delays those hosts until the leases run out.
//!
//! Times are the replicas' own clocks, so they are assumed to agree within
//! a second or so (NTP); a skewed clock only moves its re-probes earlier or
//! later by the skew.

use crate::check::truncate;
use crate::open::on_db;
use crate::rows::Columns;
use crate::{ERROR_CAP, Result, Store, Timestamp};
use sqlx::QueryBuilder;
use std::time::Duration;

/// Longest replica id or target kept.
const ID_CAP: usize = 128;
/// Most hosts per claiming statement (four parameters each).
const CLAIM_CHUNK: usize = 1000;

/// What the last probe of a host found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeOutcome {
    /// The agent answered.
    Up {
        /// When the current run of answers began.
        since: Timestamp,
        /// How many tools it listed, if the probe asked.
        tool_count: Option<u64>,
        /// How long the probe took.
        latency: Option<Duration>,
    },
    /// The agent did not answer.
    Down {
        /// Consecutive failures, at least 1.
        streak: u32,
        /// Why.
        error: String,
    },
}

/// One host's last probe result, as a replica published it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeResult {
    /// The host's name.
    pub host: String,
    /// How the host was reached (a digest the caller makes); results are
    /// only shared between replicas that agree on it.
    pub target: String,
    /// When the probe finished.
    pub checked: Timestamp,
    /// What it found.
    pub outcome: ProbeOutcome,
}

impl Store {
    /// Claims for `holder` until `until` each of `hosts` (name, target)
    /// whose lease has run out at `now`, or was taken for another target;
    /// returns the names claimed. A host never seen before is claimed at
    /// once. Each host is claimed atomically: of replicas claiming it
    /// together, one gets it.
    pub async fn claim_probes(
        &self,
        holder: &str,
        hosts: &[(&str, &str)],
        now: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<String>> {
        // One order for every replica, so two claims never wait on each
        // other's rows crosswise.
        let mut hosts = hosts.to_vec();
        hosts.sort_unstable();
        hosts.dedup_by_key(|(host, _)| *host);
        let holder = truncate(holder, ID_CAP);
        self.bounded(async {
            let mut claimed = Vec::new();
            for chunk in hosts.chunks(CLAIM_CHUNK) {
                on_db!(self, pool => {
                    let mut q = QueryBuilder::new("INSERT INTO probe_leases (host, target, holder, lease_until) ");
                    q.push_values(chunk, |mut row, (host, target)| {
                        row.push_bind(*host)
                            .push_bind(truncate(target, ID_CAP).into_owned())
                            .push_bind(holder.as_ref())
                            .push_bind(until.unix_millis());
                    });
                    // A result for another target says nothing of this one.
                    q.push(
                        " ON CONFLICT (host) DO UPDATE SET \
                         checked_at = CASE WHEN probe_leases.target = excluded.target \
                         THEN probe_leases.checked_at END, \
                         target = excluded.target, holder = excluded.holder, lease_until = excluded.lease_until \
                         WHERE probe_leases.lease_until <= ",
                    );
                    q.push_bind(now.unix_millis());
                    q.push(" OR probe_leases.target <> excluded.target RETURNING host");
                    for row in q.build().fetch_all(pool).await? {
                        claimed.push(row.text("host")?);
                    }
                });
            }
            Ok(claimed)
        })
        .await
    }

    /// Publishes each result with the lease its host keeps until the given
    /// time (when the result stops being trusted), for the hosts `holder`
    /// still holds for that target; returns how many were published. A
    /// result whose lease another replica took meanwhile is dropped: that
    /// replica's probe is the newer one.
    pub async fn publish_probes(&self, holder: &str, results: &[(ProbeResult, Timestamp)]) -> Result<u64> {
        const SQL: &str = "UPDATE probe_leases SET lease_until = $1, checked_at = $2, up_since = $3, \
                           tool_count = $4, latency_us = $5, streak = $6, error = $7 \
                           WHERE host = $8 AND holder = $9 AND target = $10";
        let holder = truncate(holder, ID_CAP);
        self.bounded(async {
            on_db!(self, pool => {
                let mut tx = pool.begin().await?;
                let mut published = 0;
                for (result, until) in results {
                    let (since, tools, latency, streak, error) = match &result.outcome {
                        ProbeOutcome::Up { since, tool_count, latency } => {
                            let micros = latency.map(|l| i64::try_from(l.as_micros()).unwrap_or(i64::MAX));
                            (Some(since.unix_millis()), tool_count.map(saturating), micros, None, None)
                        }
                        ProbeOutcome::Down { streak, error } => {
                            (None, None, None, Some(i64::from(*streak)), Some(truncate(error, ERROR_CAP)))
                        }
                    };
                    published += sqlx::query(SQL)
                        .bind(until.unix_millis())
                        .bind(result.checked.unix_millis())
                        .bind(since)
                        .bind(tools)
                        .bind(latency)
                        .bind(streak)
                        .bind(error.as_deref())
                        .bind(&result.host)
                        .bind(holder.as_ref())
                        .bind(truncate(&result.target, ID_CAP).as_ref())
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                }
                tx.commit().await?;
                Ok(published)
            })
        })
        .await
    }

    /// Every published result, by host name.
    pub async fn probe_results(&self) -> Result<Vec<ProbeResult>> {
        const SQL: &str = "SELECT host, target, checked_at, up_since, tool_count, latency_us, streak, error \
                           FROM probe_leases WHERE checked_at IS NOT NULL ORDER BY host";
        self.bounded(async {
            on_db!(self, pool => sqlx::query(SQL).fetch_all(pool).await?.iter().map(result_from).collect())
        })
        .await
    }
}

fn saturating(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn result_from(row: &impl Columns) -> Result<ProbeResult> {
    let outcome = match row.opt_time("up_since")? {
        Some(since) => ProbeOutcome::Up {
            since,
            tool_count: row.opt_int("tool_count")?.map(i64::unsigned_abs),
            latency: row.opt_int("latency_us")?.map(|us| Duration::from_micros(us.unsigned_abs())),
        },
        None => ProbeOutcome::Down {
            streak: u32::try_from(row.opt_int("streak")?.unwrap_or(1).max(1)).unwrap_or(u32::MAX),
            error: row.opt_text("error")?.unwrap_or_default(),
        },
    };
    Ok(ProbeResult { host: row.text("host")?, target: row.text("target")?, checked: row.time("checked_at")?, outcome })
}
