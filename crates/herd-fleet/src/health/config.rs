//! The knobs of the health cache and of a probe round, with the fleet's
//! defaults: UP trusted 30 s, DOWN re-probed after 60 s doubling up to
//! 900 s, a round never longer than 3 s.

use std::time::Duration;

/// The longest budget or connect timeout accepted: a round that waits
/// longer than this is a configuration mistake.
const MAX_WAIT: Duration = Duration::from_secs(3600);

/// Settings of a [`crate::Health`] tracker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthConfig {
    /// How long an UP result is trusted.
    pub up_ttl: Duration,
    /// How long the first DOWN result is trusted; each further consecutive
    /// failure doubles it.
    pub down_min: Duration,
    /// The longest a DOWN result is trusted.
    pub down_max: Duration,
    /// Wall-clock limit of a whole probe round; a host that has not
    /// answered by then is DOWN.
    pub budget: Duration,
    /// TCP connect limit of one probe.
    pub connect_timeout: Duration,
    /// Most probes running at once.
    pub max_in_flight: usize,
}

impl Default for HealthConfig {
    fn default() -> Self {
        Self {
            up_ttl: Duration::from_secs(30),
            down_min: Duration::from_secs(60),
            down_max: Duration::from_secs(900),
            budget: Duration::from_secs(3),
            connect_timeout: Duration::from_secs(1),
            max_in_flight: 1024,
        }
    }
}

impl HealthConfig {
    /// How long a DOWN result is trusted after `streak` consecutive
    /// failures: `min(down_max, down_min * 2^(streak-1))`.
    pub fn down_ttl(&self, streak: u32) -> Duration {
        let doublings = streak.saturating_sub(1);
        2u32.checked_pow(doublings)
            .and_then(|factor| self.down_min.checked_mul(factor))
            .map_or(self.down_max, |ttl| ttl.min(self.down_max))
    }

    /// Checks that the settings make sense together.
    pub fn validate(&self) -> Result<(), String> {
        if self.budget.is_zero() {
            return Err("health.budget must be more than 0 s".into());
        }
        if self.budget > MAX_WAIT || self.connect_timeout > MAX_WAIT {
            return Err(format!("health.budget and health.connect_timeout must be at most {}s", MAX_WAIT.as_secs()));
        }
        if self.connect_timeout.is_zero() {
            return Err("health.connect_timeout must be more than 0 s".into());
        }
        if self.down_min > self.down_max {
            return Err(format!(
                "health.down_min ({:?}) must not exceed health.down_max ({:?})",
                self.down_min, self.down_max
            ));
        }
        if self.max_in_flight == 0 {
            return Err("health.max_in_flight must be at least 1".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::HealthConfig;
    use std::time::Duration;

    #[test]
    fn down_backoff_doubles_from_min_to_max() {
        let c = HealthConfig::default();
        let ttls: Vec<u64> = (1..=7).map(|s| c.down_ttl(s).as_secs()).collect();
        assert_eq!(ttls, [60, 120, 240, 480, 900, 900, 900]);
        assert_eq!(c.down_ttl(0).as_secs(), 60);
        assert_eq!(c.down_ttl(u32::MAX), Duration::from_secs(900));
    }

    #[test]
    fn validate_rejects_nonsense() {
        assert!(HealthConfig::default().validate().is_ok());
        let bad = HealthConfig { down_min: Duration::from_secs(901), ..HealthConfig::default() };
        assert!(bad.validate().unwrap_err().contains("down_min"));
        let bad = HealthConfig { budget: Duration::ZERO, ..HealthConfig::default() };
        assert!(bad.validate().unwrap_err().contains("budget"));
        let bad = HealthConfig { max_in_flight: 0, ..HealthConfig::default() };
        assert!(bad.validate().is_err());
    }
}
