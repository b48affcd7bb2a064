//! Credentials in an upstream's URL (`user:password@`, `?token=`) and its
//! bearer token never appear in what the session says about the upstream:
//! its errors (the ones clients and logs see), its description, its
//! `Debug` output. Checked against real sockets for both clients under the
//! session: herd's own pool (`http://`) and reqwest (`https://`), whose
//! errors name the URL they were given.

#![allow(clippy::unwrap_used)]

use herd_upstream::{HttpUpstream, HttpUpstreamConfig, Upstream};
use std::time::Duration;

const SECRETS: [&str; 3] = ["pa55word", "qu3ry-secret", "bearer-secret"];

/// A loopback port nothing listens on.
fn refused_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn assert_clean(what: &str, text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "{what} shows {secret}: {text}");
    }
}

async fn failed_connect(scheme: &str) -> (String, String, String) {
    let url = format!("{scheme}://alice:pa55word@127.0.0.1:{}/mcp?access_token=qu3ry-secret", refused_port());
    let config = HttpUpstreamConfig {
        token: Some("bearer-secret".into()),
        connect_timeout: Duration::from_secs(5),
        ..HttpUpstreamConfig::new(url)
    };
    let debug = format!("{config:?}");
    let upstream = HttpUpstream::new(config).unwrap();
    let error = upstream.connect().await.unwrap_err();
    let rpc = serde_json::to_string(&error.to_rpc_error()).unwrap();
    (format!("{error} {rpc}"), upstream.describe().to_owned(), debug)
}

#[tokio::test]
async fn a_plain_http_upstream_names_itself_without_credentials() {
    let (error, described, debug) = failed_connect("http").await;
    assert!(error.contains("cannot connect to http://alice:***@127.0.0.1:"), "{error}");
    assert!(error.contains("access_token=***"), "{error}");
    assert_clean("the error", &error);
    assert_clean("describe()", &described);
    assert_clean("Debug", &debug);
}

#[tokio::test]
async fn an_https_upstream_names_itself_without_credentials() {
    let (error, described, debug) = failed_connect("https").await;
    assert!(error.contains("cannot connect to https://alice:***@127.0.0.1:"), "{error}");
    assert_clean("the error", &error);
    assert_clean("describe()", &described);
    assert_clean("Debug", &debug);
}
