//! Durations and times as operators type them: `30d`, `12h`, `5m`, `90s`,
//! `2w` for a span; a span (meaning that long ago) or an RFC 3339 time for
//! a point in time (`--since 1h`, `--until 2026-05-20T12:00:00Z`).
//!
//! One parser for the command line, the admin API and the config file, so
//! `--expires 30d` and `retention = "90d"` mean the same everywhere.

use herd_store::Timestamp;
use std::time::Duration;

/// The longest span accepted (100 years): anything longer is a typo.
const MAX_SECS: u64 = 100 * 365 * 86_400;

/// A text that is neither a span nor a time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not {expected}")]
pub struct BadDuration {
    text: String,
    expected: &'static str,
}

impl BadDuration {
    fn new(text: &str, expected: &'static str) -> Self {
        Self { text: text.chars().take(40).collect(), expected }
    }
}

const SPAN: &str = "a duration: a whole number and s, m, h, d or w (30d, 12h, 5m)";
const TIME: &str = "a duration ago (1h, 7d) or an RFC 3339 time (2026-05-20T12:00:00Z)";

/// Parses `30d`, `12h`, `5m`, `90s`, `2w`: a positive whole number and one
/// unit, up to 100 years.
pub fn parse_duration(text: &str) -> Result<Duration, BadDuration> {
    let bad = || BadDuration::new(text, SPAN);
    let trimmed = text.trim();
    let split = trimmed.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (digits, unit) = trimmed.split_at(split);
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let unit_secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(bad()),
    };
    match n.checked_mul(unit_secs) {
        Some(secs) if secs > 0 && secs <= MAX_SECS => Ok(Duration::from_secs(secs)),
        _ => Err(bad()),
    }
}

/// Parses a point in time: a duration meaning that long before `now`, or
/// an RFC 3339 time.
pub fn parse_time(text: &str, now: Timestamp) -> Result<Timestamp, BadDuration> {
    if let Ok(span) = parse_duration(text) {
        return Ok(now.saturating_sub(span));
    }
    text.trim().parse().map_err(|_| BadDuration::new(text, TIME))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_in_every_unit() {
        let secs = |t| parse_duration(t).map(|d| d.as_secs());
        assert_eq!(secs("90s"), Ok(90));
        assert_eq!(secs("5m"), Ok(300));
        assert_eq!(secs("12h"), Ok(43_200));
        assert_eq!(secs("30d"), Ok(2_592_000));
        assert_eq!(secs(" 2w "), Ok(1_209_600));
    }

    #[test]
    fn bad_spans_are_refused_with_the_expected_form() {
        for bad in ["", "d", "30", "0d", "-1d", "1.5h", "30 d", "30D", "3y", "99999999999999999999d", "40000w"] {
            let err = parse_duration(bad).unwrap_err();
            assert!(err.to_string().contains("a whole number and s, m, h, d or w"), "{bad}: {err}");
        }
    }

    #[test]
    fn times_are_spans_ago_or_rfc3339() {
        let now = Timestamp::from_unix_millis(10_000_000);
        assert_eq!(parse_time("1h", now), Ok(Timestamp::from_unix_millis(10_000_000 - 3_600_000)));
        let at = parse_time("2026-05-20T12:00:00Z", now).unwrap();
        assert_eq!(at.to_string(), "2026-05-20T12:00:00.000Z");
        let err = parse_time("yesterday", now).unwrap_err();
        assert!(err.to_string().contains("RFC 3339"), "{err}");
    }
}
