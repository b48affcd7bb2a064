//! Tests of `write_file`: atomic replacement, modes, parents, symlinks.

#![allow(clippy::unwrap_used)]

use crate::host::testutil::{call, host, is_error, text};
use serde_json::json;
use std::fs;
use std::os::unix::fs::PermissionsExt;

fn mode(path: &std::path::Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn leftovers(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> =
        fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

#[tokio::test]
async fn creates_then_replaces_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.txt");
    let c = host();
    let r = call(&c, "write_file", json!({"path": path, "content": "héllo\n"})).await;
    assert!(!is_error(&r), "{r}");
    assert_eq!(fs::read_to_string(&path).unwrap(), "héllo\n");
    let s = &r["structuredContent"];
    assert_eq!((s["bytes_written"].clone(), s["created"].clone()), (json!(7), json!(true)));
    assert!(text(&r).starts_with("created "), "{r}");

    let r = call(&c, "write_file", json!({"path": path, "content": "x"})).await;
    assert_eq!(r["structuredContent"]["created"], false);
    assert_eq!(fs::read_to_string(&path).unwrap(), "x");
    assert_eq!(leftovers(dir.path()), ["a.txt"], "temporary files left behind");
}

#[tokio::test]
async fn keeps_the_mode_of_an_existing_file_unless_told() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.sh");
    fs::write(&path, "old").unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o750)).unwrap();
    let c = host();
    let r = call(&c, "write_file", json!({"path": path, "content": "new"})).await;
    assert_eq!(mode(&path), 0o750);
    assert_eq!(r["structuredContent"]["mode"], "0750");

    call(&c, "write_file", json!({"path": path, "content": "n", "mode": "0600"})).await;
    assert_eq!(mode(&path), 0o600);
    call(&c, "write_file", json!({"path": path, "content": "n", "mode": 644})).await;
    assert_eq!(mode(&path), 0o644);
    let r = call(&c, "write_file", json!({"path": path, "content": "n", "mode": "rwx"})).await;
    assert!(is_error(&r) && text(&r).contains("invalid arguments"), "{r}");
}

#[tokio::test]
async fn parents_are_created_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x/y/z.txt");
    let c = host();
    let r = call(&c, "write_file", json!({"path": path, "content": "z"})).await;
    assert!(is_error(&r), "{r}");
    assert!(text(&r).contains("No such file or directory") && text(&r).contains("create_dirs"), "{r}");
    let r = call(&c, "write_file", json!({"path": path, "content": "z", "create_dirs": true})).await;
    assert!(!is_error(&r), "{r}");
    assert_eq!(fs::read_to_string(&path).unwrap(), "z");
}

#[tokio::test]
async fn writes_through_a_symlink_and_keeps_the_link() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real.txt");
    let link = dir.path().join("link.txt");
    fs::write(&real, "old").unwrap();
    std::os::unix::fs::symlink("real.txt", &link).unwrap();
    let r = call(&host(), "write_file", json!({"path": link, "content": "new"})).await;
    assert!(!is_error(&r), "{r}");
    assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert_eq!(fs::read_to_string(&real).unwrap(), "new");
    assert_eq!(r["structuredContent"]["path"], real.to_string_lossy().as_ref());
}

#[tokio::test]
async fn bad_content_and_directories_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let c = host();
    let r = call(&c, "write_file", json!({"path": dir.path().join("b"), "content": "%%%", "encoding": "base64"})).await;
    assert!(is_error(&r) && text(&r).contains("not valid base64"), "{r}");
    let r = call(&c, "write_file", json!({"path": dir.path(), "content": "x"})).await;
    assert!(is_error(&r) && text(&r).contains("Is a directory"), "{r}");
}
