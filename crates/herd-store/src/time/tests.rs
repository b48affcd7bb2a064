use super::*;

#[test]
fn prints_rfc3339_in_utc_with_milliseconds() {
    assert_eq!(Timestamp::from_unix_millis(0).to_string(), "1970-01-01T00:00:00.000Z");
    assert_eq!(Timestamp::from_unix_millis(1_779_280_496_789).to_string(), "2026-05-20T12:34:56.789Z");
    assert_eq!(Timestamp::from_unix_millis(951_782_400_000).to_string(), "2000-02-29T00:00:00.000Z");
    assert_eq!(Timestamp::from_unix_millis(-1).to_string(), "1969-12-31T23:59:59.999Z");
}

#[test]
fn parses_what_it_prints_and_offsets() {
    for ms in [0, 1, 999, 951_782_400_000, 1_779_280_496_789, -1, 253_402_300_799_999] {
        let t = Timestamp::from_unix_millis(ms);
        assert_eq!(t.to_string().parse::<Timestamp>().unwrap(), t, "{t}");
    }
    let utc: Timestamp = "2026-05-20T12:34:56Z".parse().unwrap();
    assert_eq!("2026-05-20T14:34:56+02:00".parse::<Timestamp>().unwrap(), utc);
    assert_eq!("2026-05-20T07:04:56-05:30".parse::<Timestamp>().unwrap(), utc);
    assert_eq!("2026-05-20T12:34:56.5Z".parse::<Timestamp>().unwrap().unix_millis(), utc.unix_millis() + 500);
    assert_eq!("2026-05-20T12:34:56.123456789Z".parse::<Timestamp>().unwrap().unix_millis(), utc.unix_millis() + 123);
}

#[test]
fn refuses_what_is_not_a_time() {
    for bad in [
        "",
        "2026-05-20",
        "2026-05-20T12:34:56",
        "2026-13-01T00:00:00Z",
        "2026-02-30T00:00:00Z",
        "2025-02-29T00:00:00Z",
        "2026-05-20T24:00:00Z",
        "2026-05-20T12:34:56.Z",
        "2026-05-20T12:34:56+2:00",
        "2026-05-20T12:34:56Zjunk",
        "２026-05-20T12:34:56Z",
    ] {
        assert!(bad.parse::<Timestamp>().is_err(), "{bad:?} parsed");
    }
}

#[test]
fn serializes_as_a_string() {
    let t = Timestamp::from_unix_millis(1_779_280_496_789);
    let json = serde_json::to_string(&t).unwrap();
    assert_eq!(json, "\"2026-05-20T12:34:56.789Z\"");
    assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), t);
}

#[test]
fn arithmetic_saturates() {
    let t = Timestamp::from_unix_millis(1000);
    assert_eq!(t.saturating_add(Duration::from_secs(1)).unix_millis(), 2000);
    assert_eq!(t.saturating_sub(Duration::from_secs(2)).unix_millis(), -1000);
    assert_eq!(t.saturating_add(Duration::MAX).unix_millis(), i64::MAX);
}
