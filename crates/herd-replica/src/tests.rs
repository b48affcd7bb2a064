#![allow(clippy::unwrap_used)]

use crate::forward::{check_address, strip_hop_by_hop};
use crate::sessions::owner_of;

#[test]
fn a_session_id_names_its_replica() {
    assert_eq!(owner_of("0a1b2c3d.00ff"), Some("0a1b2c3d"));
    // Ids of a hub alone, and anything odd, name no replica: served here.
    for id in ["00ff00ff00ff", ".00ff", "0a1b.", "0a-1.00ff", ""] {
        assert_eq!(owner_of(id), None, "{id}");
    }
}

#[test]
fn the_advertised_address_is_a_bare_http_origin() {
    for good in ["http://10.0.0.2:7420", "http://hub-2.internal", "http://[::1]:7800"] {
        assert!(check_address(good).is_ok(), "{good}");
    }
    for bad in ["10.0.0.2:7420", "https://hub:7420", "http://hub:7420/mcp", "http://hub/", "http://", "ftp://x"] {
        let err = check_address(bad).unwrap_err().to_string();
        assert!(err.contains("http://host[:port]"), "{bad}: {err}");
    }
}

#[test]
fn headers_of_one_connection_are_not_passed_on() {
    let mut headers = http::HeaderMap::new();
    for (name, value) in [
        ("connection", "keep-alive, x-private"),
        ("keep-alive", "timeout=5"),
        ("x-private", "1"),
        ("transfer-encoding", "chunked"),
        ("authorization", "Bearer t"),
        ("mcp-session-id", "a.b"),
        ("last-event-id", "7"),
    ] {
        headers.insert(name, value.parse().unwrap());
    }
    strip_hop_by_hop(&mut headers);
    let mut left: Vec<&str> = headers.keys().map(|k| k.as_str()).collect();
    left.sort_unstable();
    assert_eq!(left, ["authorization", "last-event-id", "mcp-session-id"]);
}
