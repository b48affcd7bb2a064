//! The `herd-test-provider` binary: says where it listens on its first
//! line, and serves its script there.

#![allow(clippy::unwrap_used)]

use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt as _, BufReader};

#[tokio::test]
async fn the_binary_prints_its_url_then_serves_asleep_until_woken() {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_herd-test-provider"))
        .args(["--listen", "127.0.0.1:0", "--tokens", "3", "--asleep"])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(Duration::from_secs(20), lines.next_line()).await.unwrap().unwrap().unwrap();
    let base = first.strip_prefix("listening on ").unwrap().to_owned();
    assert!(base.starts_with("http://127.0.0.1:") && base.ends_with("/v1"), "{first}");
    assert_eq!(reqwest::get(format!("{base}/models")).await.unwrap().status(), 503);
    let root = base.trim_end_matches("/v1");
    assert_eq!(reqwest::Client::new().post(format!("{root}/wake")).send().await.unwrap().status(), 200);
    let body = r#"{"model":"m","messages":[]}"#;
    let answer = reqwest::Client::new()
        .post(format!("{base}/chat/completions"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let answer: serde_json::Value = serde_json::from_slice(&answer.bytes().await.unwrap()).unwrap();
    assert_eq!(answer["choices"][0]["message"]["content"], "t0 t1 t2");
    child.kill().await.unwrap();
}

#[tokio::test]
async fn a_bad_argument_is_refused_with_the_usage() {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_herd-test-provider"))
        .args(["--tokens", "many"])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--tokens"));
}
