//! The certificate an `https://` hub or agent presents: when it expires.
//! A certificate that does not verify already fails the reachability
//! check with the reason; this one warns ahead of the date.
//!
//! Only the validity's `notAfter` is read, by walking the DER structure
//! (RFC 5280 §4.1): the certificate was verified by the TLS handshake that
//! delivered it, so nothing here judges its contents.

use super::Finding;
use std::time::{Duration, SystemTime};

/// Left before expiry below which a certificate is reported.
const EXPIRY_WARN: Duration = Duration::from_secs(14 * 86_400);

const SEQUENCE: u8 = 0x30;
const VERSION: u8 = 0xa0;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;

/// The finding for `der`, the certificate `subject` presented, at `now`.
pub(super) fn finding(check: &str, subject: &str, der: &[u8], now: SystemTime) -> Finding {
    expiry(check, subject, not_after(der), now)
}

/// The finding for a certificate of `subject` valid until `not_after`
/// (`None`: unreadable), at `now`.
pub(super) fn expiry(check: &str, subject: &str, not_after: Option<SystemTime>, now: SystemTime) -> Finding {
    let renew = "renew the certificate before it expires";
    let Some(not_after) = not_after else {
        return Finding::warn(check, format!("{subject}: the certificate's expiry cannot be read"), "");
    };
    let until = httpdate::fmt_http_date(not_after);
    match not_after.duration_since(now) {
        Err(_) => Finding::fail(check, format!("{subject}: the certificate expired {until}"), renew),
        Ok(left) if left < EXPIRY_WARN => {
            let days = left.as_secs() / 86_400;
            Finding::warn(check, format!("{subject}: the certificate expires in {days} day(s), {until}"), renew)
        }
        Ok(_) => Finding::ok(check, format!("{subject}: valid until {until}")),
    }
}

/// A certificate's `notAfter`: Certificate → tbsCertificate → (version),
/// serialNumber, signature, issuer, validity → notBefore, notAfter.
fn not_after(der: &[u8]) -> Option<SystemTime> {
    let (SEQUENCE, certificate, _) = element(der)? else { return None };
    let (SEQUENCE, tbs, _) = element(certificate)? else { return None };
    let mut fields = tbs;
    if let (VERSION, _, after) = element(fields)? {
        fields = after;
    }
    for _ in ["serialNumber", "signature", "issuer"] {
        fields = element(fields)?.2;
    }
    let (SEQUENCE, validity, _) = element(fields)? else { return None };
    let (_, _, after_not_before) = element(validity)?;
    let (tag, time, _) = element(after_not_before)?;
    parse_time(tag, std::str::from_utf8(time).ok()?)
}

/// The DER element at the start of `input`: its tag, its contents and what
/// follows it.
fn element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let octets = usize::from(first & 0x7f);
        if octets == 0 || octets > 4 || rest.len() < octets {
            return None;
        }
        let (len, rest) = rest.split_at(octets);
        (len.iter().fold(0, |acc, b| acc << 8 | usize::from(*b)), rest)
    };
    (rest.len() >= len).then(|| {
        let (contents, rest) = rest.split_at(len);
        (tag, contents, rest)
    })
}

/// `YYMMDDHHMMSSZ` (UTCTime, years 1950 to 2049) or `YYYYMMDDHHMMSSZ`
/// (GeneralizedTime), the two forms RFC 5280 allows.
fn parse_time(tag: u8, text: &str) -> Option<SystemTime> {
    let digits = text.strip_suffix('Z')?;
    let (year, rest) = match tag {
        UTC_TIME if digits.len() == 12 => {
            let yy: u64 = digits.get(..2)?.parse().ok()?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &digits[2..])
        }
        GENERALIZED_TIME if digits.len() == 14 => (digits.get(..4)?.parse().ok()?, &digits[4..]),
        _ => return None,
    };
    let field = |at: usize| -> Option<u64> { rest.get(at..at + 2)?.parse().ok() };
    let (month, day, hour, minute, second) = (field(0)?, field(2)?, field(4)?, field(6)?, field(8)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let days = days_since_epoch(year, month, day)?;
    let seconds = days.checked_mul(86_400)? + hour * 3600 + minute * 60 + second;
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(seconds))
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar
/// (none before 1970: no certificate in use expires then).
fn days_since_epoch(year: u64, month: u64, day: u64) -> Option<u64> {
    // Counted from 0000-03-01, so the leap day ends a year.
    let year = if month <= 2 { year.checked_sub(1)? } else { year };
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let days = year * 365 + year / 4 - year / 100 + year / 400 + day_of_year;
    days.checked_sub(719_468)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::doctor::Status;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    /// A DER element with a short-form length.
    fn der(tag: u8, contents: &[u8]) -> Vec<u8> {
        let mut out = vec![tag, u8::try_from(contents.len()).unwrap()];
        out.extend_from_slice(contents);
        out
    }

    /// The skeleton of a certificate whose validity ends at `not_after`
    /// (tag and text); the fields before it are stand-ins of the right kind.
    fn certificate(with_version: bool, not_after: (u8, &str)) -> Vec<u8> {
        let mut tbs = Vec::new();
        if with_version {
            tbs.extend(der(VERSION, &der(0x02, &[2])));
        }
        tbs.extend(der(0x02, &[0x01, 0x23]));
        tbs.extend(der(SEQUENCE, &der(0x06, &[0x2a, 0x86])));
        tbs.extend(der(SEQUENCE, &der(0x31, b"issuer")));
        let validity = [der(UTC_TIME, b"250101000000Z"), der(not_after.0, not_after.1.as_bytes())].concat();
        tbs.extend(der(SEQUENCE, &validity));
        tbs.extend(der(SEQUENCE, b"subject"));
        der(SEQUENCE, &[der(SEQUENCE, &tbs), der(SEQUENCE, b"sig")].concat())
    }

    #[test]
    fn both_time_forms_give_the_same_instant() {
        // 2030-02-28 12:00:00 and 2000-03-01 (after a leap day of a year
        // divisible by 400).
        assert_eq!(parse_time(UTC_TIME, "300228120000Z"), Some(at(1_898_510_400)));
        assert_eq!(parse_time(GENERALIZED_TIME, "20300228120000Z"), Some(at(1_898_510_400)));
        assert_eq!(parse_time(GENERALIZED_TIME, "20000301000000Z"), Some(at(951_868_800)));
        assert_eq!(parse_time(UTC_TIME, "700101000000Z"), Some(at(0)));
        for bad in ["301328120000Z", "3002281200Z", "300228120000", "3002x8120000Z"] {
            assert_eq!(parse_time(UTC_TIME, bad), None, "{bad}");
        }
    }

    #[test]
    fn not_after_is_found_with_or_without_the_version_field() {
        let expected = parse_time(GENERALIZED_TIME, "20300228120000Z");
        assert_eq!(not_after(&certificate(true, (GENERALIZED_TIME, "20300228120000Z"))), expected);
        assert_eq!(not_after(&certificate(false, (UTC_TIME, "300228120000Z"))), expected);
    }

    #[test]
    fn truncated_or_foreign_bytes_are_unreadable_not_a_panic() {
        let whole = certificate(true, (UTC_TIME, "300228120000Z"));
        for cut in 0..whole.len() {
            assert_eq!(not_after(&whole[..cut]), None, "cut at {cut}");
        }
        assert_eq!(not_after(b"-----BEGIN CERTIFICATE-----"), None);
        assert_eq!(not_after(&[SEQUENCE, 0x84, 0xff, 0xff, 0xff, 0xff]), None);
    }

    #[test]
    fn expiry_is_ok_then_a_warning_then_a_failure() {
        let cert = certificate(true, (GENERALIZED_TIME, "20300228120000Z"));
        let expiry = 1_898_510_400;
        let found = |now: u64| finding("hub certificate", "https://hub", &cert, at(now));
        let ok = found(expiry - 30 * 86_400);
        assert_eq!(ok.status, Status::Ok);
        assert!(ok.detail.contains("valid until Thu, 28 Feb 2030 12:00:00 GMT"), "{}", ok.detail);
        let soon = found(expiry - 3 * 86_400 - 60);
        assert_eq!((soon.status, soon.detail.contains("expires in 3 day(s)")), (Status::Warn, true), "{}", soon.detail);
        assert_eq!(found(expiry + 1).status, Status::Fail);
        assert_eq!(finding("c", "s", b"junk", at(0)).status, Status::Warn);
    }
}
