//! Tests of `list_dir`: kinds, sizes, order, the cap, errors.

#![allow(clippy::unwrap_used)]

use crate::host::shape::list_dir::{Entry, Kind};
use crate::host::testutil::{call, config, host, is_error, text};
use crate::host::{HostConfig, catalog};
use serde_json::json;
use std::fs;

#[tokio::test]
async fn entries_are_sorted_with_kind_and_size() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("b.txt"), "12345").unwrap();
    fs::create_dir(dir.path().join("a")).unwrap();
    std::os::unix::fs::symlink("b.txt", dir.path().join("c")).unwrap();
    let r = call(&host(), "list_dir", json!({"path": dir.path()})).await;
    assert!(!is_error(&r), "{r}");
    let entries = &r["structuredContent"]["entries"];
    let names: Vec<&str> = entries.as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["a", "b.txt", "c"]);
    assert_eq!(entries[0]["kind"], "dir");
    assert_eq!((entries[1]["kind"].clone(), entries[1]["size"].clone()), (json!("file"), json!(5)));
    assert_eq!((entries[2]["kind"].clone(), entries[2]["target"].clone()), (json!("symlink"), json!("b.txt")));
    assert!(text(&r).contains("a/") && text(&r).contains("c -> b.txt"), "{r}");
    assert_eq!(r["structuredContent"]["truncated"], false);
}

#[tokio::test]
async fn long_listings_are_capped() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["c", "a", "b"] {
        fs::write(dir.path().join(name), "").unwrap();
    }
    let r =
        call(&catalog(HostConfig { max_list_entries: 2, ..config() }), "list_dir", json!({"path": dir.path()})).await;
    assert_eq!(r["structuredContent"]["entries"].as_array().unwrap().len(), 2);
    assert_eq!(r["structuredContent"]["truncated"], true);
}

#[tokio::test]
async fn missing_paths_and_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let c = host();
    let r = call(&c, "list_dir", json!({"path": dir.path().join("nope")})).await;
    assert!(is_error(&r) && text(&r).contains("nope: No such file or directory"), "{r}");
    fs::write(dir.path().join("f"), "").unwrap();
    let r = call(&c, "list_dir", json!({"path": dir.path().join("f")})).await;
    assert!(is_error(&r) && text(&r).contains("Not a directory"), "{r}");
}

#[test]
fn reading_stops_one_entry_past_the_cap() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let pulled = AtomicUsize::new(0);
    // A directory of a million entries, as far as the listing can tell.
    let listing = (0..1_000_000).map(|i| {
        pulled.fetch_add(1, Ordering::SeqCst);
        Ok(i)
    });
    let describe = |i: u32| Entry { name: i.to_string(), kind: Kind::File, size: 0, target: None };
    let token = tokio_util::sync::CancellationToken::new();
    let entries = super::collect(listing, 100, &token, describe).unwrap().unwrap();
    assert_eq!(entries.len(), 101);
    assert_eq!(pulled.load(Ordering::SeqCst), 101, "entries past the cap were read");
}

#[tokio::test]
async fn a_directory_larger_than_the_cap_is_listed_only_that_far() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..300 {
        fs::write(dir.path().join(format!("f{i:04}")), "").unwrap();
    }
    let c = catalog(HostConfig { max_list_entries: 50, ..config() });
    let r = call(&c, "list_dir", json!({"path": dir.path()})).await;
    assert!(!is_error(&r), "{r}");
    assert_eq!(r["structuredContent"]["entries"].as_array().unwrap().len(), 50);
    assert_eq!(r["structuredContent"]["truncated"], true);
    assert!(text(&r).ends_with("[only the first 50 entries are shown]"), "{r}");
}
