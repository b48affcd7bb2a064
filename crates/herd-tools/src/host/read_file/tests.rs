//! Tests of `read_file`: line windows, the byte cap, base64, binary refusal.

#![allow(clippy::unwrap_used)]

use crate::host::shape::args::to_base64;
use crate::host::testutil::{call, config, host, is_error, text};
use crate::host::{HostConfig, catalog};
use serde_json::json;

#[tokio::test]
async fn text_is_read_by_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.txt");
    std::fs::write(&path, "one\ntwo\nthree\nfour\nfive").unwrap();
    let c = host();

    let r = call(&c, "read_file", json!({"path": path})).await;
    assert!(!is_error(&r), "{r}");
    assert_eq!(text(&r), "one\ntwo\nthree\nfour\nfive");
    let s = &r["structuredContent"];
    assert_eq!((s["lines"].clone(), s["truncated"].clone(), s["size"].clone()), (json!(5), json!(false), json!(23)));

    let r = call(&c, "read_file", json!({"path": path, "offset": 2, "limit": 2})).await;
    let s = &r["structuredContent"];
    assert_eq!(s["content"], "two\nthree\n");
    assert_eq!(
        (s["offset"].clone(), s["next_offset"].clone(), s["truncated"].clone()),
        (json!(2), json!(4), json!(true))
    );
    assert!(text(&r).ends_with("[more follows: continue with offset 4]"), "{r}");

    let r = call(&c, "read_file", json!({"path": path, "offset": 9})).await;
    assert!(!is_error(&r) && text(&r).contains("has 5 lines"), "{r}");
}

#[tokio::test]
async fn one_call_returns_at_most_max_read_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.txt");
    std::fs::write(&path, "0123456789\n".repeat(100)).unwrap();
    let c = catalog(HostConfig { max_read_bytes: 25, ..config() });
    let r = call(&c, "read_file", json!({"path": path})).await;
    let s = &r["structuredContent"];
    assert_eq!(s["content"], "0123456789\n0123456789\n");
    assert_eq!((s["next_offset"].clone(), s["truncated"].clone()), (json!(3), json!(true)));
    let r = call(&c, "read_file", json!({"path": path, "encoding": "base64", "offset": 1080})).await;
    assert_eq!(r["structuredContent"]["bytes"], 20);
    assert_eq!(r["structuredContent"]["truncated"], false);
}

#[tokio::test]
async fn binary_round_trips_through_base64() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bin");
    let bytes: Vec<u8> = (0..=255u8).chain(0..=255u8).collect();
    let c = host();
    let w = call(&c, "write_file", json!({"path": path, "content": to_base64(&bytes), "encoding": "base64"})).await;
    assert_eq!(w["structuredContent"]["bytes_written"], 512, "{w}");
    assert_eq!(std::fs::read(&path).unwrap(), bytes);

    let r = call(&c, "read_file", json!({"path": path, "encoding": "base64"})).await;
    assert_eq!(r["structuredContent"]["content"], to_base64(&bytes), "{r}");
    let r = call(&c, "read_file", json!({"path": path, "encoding": "base64", "offset": 250, "limit": 10})).await;
    let s = &r["structuredContent"];
    assert_eq!(s["content"], to_base64(&bytes[250..260]));
    assert_eq!((s["next_offset"].clone(), s["truncated"].clone()), (json!(260), json!(true)));
}

#[tokio::test]
async fn binary_read_as_text_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("image.png");
    std::fs::write(&path, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").unwrap();
    let r = call(&host(), "read_file", json!({"path": path})).await;
    assert!(is_error(&r), "{r}");
    assert!(text(&r).contains("image.png: binary content") && text(&r).contains("base64"), "{r}");
}

#[tokio::test]
async fn missing_files_and_directories_are_errors_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let c = host();
    let missing = dir.path().join("nope");
    let r = call(&c, "read_file", json!({"path": missing})).await;
    assert!(is_error(&r), "{r}");
    assert!(text(&r).contains(&format!("{}: No such file or directory", missing.display())), "{r}");
    let r = call(&c, "read_file", json!({"path": dir.path()})).await;
    assert!(is_error(&r) && text(&r).contains("Is a directory"), "{r}");
    let r = call(&c, "read_file", json!({"path": missing, "encoding": "latin1"})).await;
    assert!(is_error(&r) && text(&r).contains("invalid arguments"), "{r}");
}
