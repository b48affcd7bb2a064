//! What is known about one host's agent, and for how long it is believed.
//!
//! The cache rule lives here: an UP result is fresh for `up_ttl`; a DOWN
//! result is fresh for a backoff that grows with the number of consecutive
//! failures, so a sleeping fleet does not eat every round's budget.

use crate::{HealthConfig, ProbeOk};
use std::time::Duration;
use tokio::time::Instant;

/// The last known state of a host's agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostState {
    /// Never probed.
    Unknown,
    /// The agent answered.
    Up {
        /// When the current run of UP results began.
        since: Instant,
        /// When it last answered.
        checked: Instant,
        /// How many tools it listed, if the probe asked.
        tool_count: Option<usize>,
        /// How long the last probe took to be answered; kept from an
        /// earlier probe when a real call reported the host up.
        latency: Option<Duration>,
    },
    /// The agent did not answer.
    Down {
        /// When the last probe failed.
        checked: Instant,
        /// Consecutive failures, at least 1.
        streak: u32,
        /// Why the last probe failed.
        error: String,
    },
}

impl HostState {
    /// Whether the agent answered the last probe.
    pub fn is_up(&self) -> bool {
        matches!(self, HostState::Up { .. })
    }

    /// When the host was last probed.
    pub fn checked(&self) -> Option<Instant> {
        match self {
            HostState::Unknown => None,
            HostState::Up { checked, .. } | HostState::Down { checked, .. } => Some(*checked),
        }
    }

    /// Why the last probe failed, when it did.
    pub fn error(&self) -> Option<&str> {
        match self {
            HostState::Down { error, .. } => Some(error),
            _ => None,
        }
    }

    /// Whether this result may still be served at `now` without probing.
    pub fn is_fresh(&self, now: Instant, config: &HealthConfig) -> bool {
        let (checked, ttl) = match self {
            HostState::Unknown => return false,
            HostState::Up { checked, .. } => (*checked, config.up_ttl),
            HostState::Down { checked, streak, .. } => (*checked, config.down_ttl(*streak)),
        };
        checked.checked_add(ttl).is_none_or(|until| now < until)
    }

    /// The state after a probe that finished at `at` with `outcome`.
    pub(crate) fn after(&self, outcome: Result<ProbeOk, String>, at: Instant) -> HostState {
        match (self, outcome) {
            (HostState::Up { since, latency, .. }, Ok(ok)) => HostState::Up {
                since: *since,
                checked: at,
                tool_count: ok.tool_count,
                latency: ok.latency.or(*latency),
            },
            (_, Ok(ok)) => HostState::Up { since: at, checked: at, tool_count: ok.tool_count, latency: ok.latency },
            (HostState::Down { streak, .. }, Err(error)) => {
                HostState::Down { checked: at, streak: streak.saturating_add(1), error }
            }
            (_, Err(error)) => HostState::Down { checked: at, streak: 1, error },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::HostState;
    use crate::{HealthConfig, ProbeOk};
    use std::time::Duration;
    use tokio::time::Instant;

    #[test]
    fn up_keeps_since_and_down_counts_its_streak() {
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_secs(5);
        let up = HostState::Unknown.after(Ok(ProbeOk { tool_count: Some(3), latency: None }), t0);
        let again = up.after(Ok(ProbeOk::default()), t1);
        assert_eq!(again, HostState::Up { since: t0, checked: t1, tool_count: None, latency: None });
        let timed = ProbeOk { latency: Some(Duration::from_millis(4)), ..ProbeOk::default() };
        let measured = again.after(Ok(timed), t1).after(Ok(ProbeOk::default()), t1);
        assert_eq!(
            measured,
            HostState::Up { since: t0, checked: t1, tool_count: None, latency: Some(Duration::from_millis(4)) }
        );
        let down = again.after(Err("x".into()), t1).after(Err("y".into()), t1);
        assert_eq!(down, HostState::Down { checked: t1, streak: 2, error: "y".into() });
        assert_eq!(down.error(), Some("y"));
        assert!(matches!(down.after(Ok(ProbeOk::default()), t1), HostState::Up { since, .. } if since == t1));
    }

    #[test]
    fn freshness_follows_the_ttls() {
        let c = HealthConfig::default();
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        assert!(!HostState::Unknown.is_fresh(t0, &c));
        let up = HostState::Up { since: t0, checked: t0, tool_count: None, latency: None };
        assert!(up.is_fresh(at(29), &c) && !up.is_fresh(at(30), &c));
        let down = HostState::Down { checked: t0, streak: 3, error: String::new() };
        assert!(down.is_fresh(at(239), &c) && !down.is_fresh(at(240), &c));
    }
}
