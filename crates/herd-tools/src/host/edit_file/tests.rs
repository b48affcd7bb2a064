//! Tests of `edit_file`: zero, one and several matches, and refused edits.

#![allow(clippy::unwrap_used)]

use crate::host::testutil::{call, host, is_error, text};
use serde_json::json;
use std::fs;
use std::os::unix::fs::PermissionsExt;

fn file(content: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.rs");
    fs::write(&path, content).unwrap();
    (dir, path)
}

#[tokio::test]
async fn missing_old_string_is_an_error() {
    let (_dir, path) = file("fn main() {}\n");
    let r = call(&host(), "edit_file", json!({"path": path, "old_string": "fn mian", "new_string": "x"})).await;
    assert!(is_error(&r), "{r}");
    assert!(text(&r).contains("f.rs: old_string not found"), "{r}");
    assert_eq!(fs::read_to_string(&path).unwrap(), "fn main() {}\n");
}

#[tokio::test]
async fn a_unique_match_is_replaced_keeping_the_mode() {
    let (_dir, path) = file("a\nlet x = 1;\nb\n");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
    let r = call(&host(), "edit_file", json!({"path": path, "old_string": "x = 1", "new_string": "x = 2"})).await;
    assert!(!is_error(&r), "{r}");
    assert_eq!(fs::read_to_string(&path).unwrap(), "a\nlet x = 2;\nb\n");
    let s = &r["structuredContent"];
    assert_eq!((s["replacements"].clone(), s["first_line"].clone()), (json!(1), json!(2)));
    assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o7777, 0o640);
}

#[tokio::test]
async fn several_matches_need_replace_all() {
    let (_dir, path) = file("foo bar foo\n");
    let c = host();
    let r = call(&c, "edit_file", json!({"path": path, "old_string": "foo", "new_string": "baz"})).await;
    assert!(is_error(&r), "{r}");
    assert!(text(&r).contains("not unique: it occurs 2 times"), "{r}");
    assert_eq!(fs::read_to_string(&path).unwrap(), "foo bar foo\n");

    let args = json!({"path": path, "old_string": "foo", "new_string": "baz", "replace_all": true});
    let r = call(&c, "edit_file", args).await;
    assert_eq!(r["structuredContent"]["replacements"], 2, "{r}");
    assert!(text(&r).starts_with("replaced 2 occurrences"), "{r}");
    assert_eq!(fs::read_to_string(&path).unwrap(), "baz bar baz\n");
}

#[tokio::test]
async fn bad_edits_are_refused() {
    let (dir, path) = file("abc");
    let c = host();
    let r = call(&c, "edit_file", json!({"path": path, "old_string": "", "new_string": "x"})).await;
    assert!(is_error(&r) && text(&r).contains("must not be empty"), "{r}");
    let r = call(&c, "edit_file", json!({"path": path, "old_string": "a", "new_string": "a"})).await;
    assert!(is_error(&r) && text(&r).contains("the same"), "{r}");
    let missing = dir.path().join("nope");
    let r = call(&c, "edit_file", json!({"path": missing, "old_string": "a", "new_string": "b"})).await;
    assert!(is_error(&r) && text(&r).contains("nope: No such file or directory"), "{r}");
    fs::write(&path, b"a\0\xff").unwrap();
    let r = call(&c, "edit_file", json!({"path": path, "old_string": "a", "new_string": "b"})).await;
    assert!(is_error(&r) && text(&r).contains("binary content"), "{r}");
}
