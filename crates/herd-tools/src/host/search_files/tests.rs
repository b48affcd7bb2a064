//! Tests of `search_files`: symlinked roots, cycles, the result cap, unreadable
//! directories.

#![allow(clippy::unwrap_used)]

use crate::host::testutil::{call, config, host, is_error, text};
use crate::host::{HostConfig, catalog};
use serde_json::{Value, json};
use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::time::Duration;

fn matches(r: &Value) -> Vec<String> {
    let m = r["structuredContent"]["matches"].as_array().unwrap_or_else(|| panic!("{r}"));
    m.iter().map(|v| v.as_str().unwrap().to_owned()).collect()
}

/// `root/{a.rs, b.txt, sub/c.rs, sub/deep/d.rs}`.
fn tree(root: &Path) {
    fs::create_dir_all(root.join("sub/deep")).unwrap();
    for f in ["a.rs", "b.txt", "sub/c.rs", "sub/deep/d.rs"] {
        fs::write(root.join(f), "").unwrap();
    }
}

#[tokio::test]
async fn finds_by_name_shallowest_first() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    let r = call(&host(), "search_files", json!({"pattern": "*.rs", "path": dir.path()})).await;
    assert!(!is_error(&r), "{r}");
    let root = dir.path().display();
    assert_eq!(matches(&r), [format!("{root}/a.rs"), format!("{root}/sub/c.rs"), format!("{root}/sub/deep/d.rs")]);
    assert_eq!(r["structuredContent"]["truncated"], false);

    let r = call(&host(), "search_files", json!({"pattern": "sub/*.rs", "path": dir.path()})).await;
    assert_eq!(matches(&r), [format!("{root}/sub/c.rs")]);
}

#[tokio::test]
async fn a_symlinked_root_is_followed() {
    let dir = tempfile::tempdir().unwrap();
    tree(&dir.path().join("real"));
    let link = dir.path().join("link");
    symlink(dir.path().join("real"), &link).unwrap();
    let r = call(&host(), "search_files", json!({"pattern": "*.rs", "path": link})).await;
    assert_eq!(matches(&r).len(), 3, "{r}");
    assert!(matches(&r)[0].starts_with(&link.display().to_string()));
}

#[tokio::test]
async fn symlink_cycles_terminate() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    symlink("..", dir.path().join("sub/up")).unwrap();
    symlink(dir.path(), dir.path().join("sub/deep/root")).unwrap();
    let r = call(&host(), "search_files", json!({"pattern": "*.rs", "path": dir.path()})).await;
    assert_eq!(matches(&r).len(), 3, "{r}");
    let r = call(&host(), "search_files", json!({"pattern": "up", "path": dir.path()})).await;
    assert_eq!(matches(&r), [format!("{}/sub/up", dir.path().display())]);
}

#[tokio::test]
async fn stops_at_max_results_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    let r = call(&host(), "search_files", json!({"pattern": "*", "path": dir.path(), "max_results": 2})).await;
    assert_eq!(matches(&r).len(), 2);
    assert_eq!(r["structuredContent"]["truncated"], true);
    assert!(text(&r).contains("stopped after 2 matches"), "{r}");
    let r = call(&host(), "search_files", json!({"pattern": "*.rs", "path": dir.path(), "max_results": 3})).await;
    assert_eq!(r["structuredContent"]["truncated"], false, "exactly max_results matches is not truncation");
}

#[tokio::test]
async fn unreadable_directories_are_skipped() {
    use std::os::unix::fs::PermissionsExt;
    if nix::unistd::geteuid().is_root() {
        return; // root reads every directory
    }
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    fs::set_permissions(dir.path().join("sub"), fs::Permissions::from_mode(0o000)).unwrap();
    let r = call(&host(), "search_files", json!({"pattern": "*.rs", "path": dir.path()})).await;
    fs::set_permissions(dir.path().join("sub"), fs::Permissions::from_mode(0o755)).unwrap();
    assert!(!is_error(&r), "{r}");
    assert_eq!(matches(&r).len(), 1);
    assert_eq!(r["structuredContent"]["skipped_dirs"], 1);
    assert!(text(&r).contains("Permission denied"), "{r}");
}

#[tokio::test]
async fn bad_roots_and_patterns_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let c = host();
    let r = call(&c, "search_files", json!({"pattern": "*", "path": dir.path().join("nope")})).await;
    assert!(is_error(&r) && text(&r).contains("nope: No such file or directory"), "{r}");
    let r = call(&c, "search_files", json!({"pattern": "[", "path": dir.path()})).await;
    assert!(is_error(&r) && text(&r).contains("invalid arguments"), "{r}");
    let r = call(&c, "search_files", json!({"pattern": "*", "max_results": 0})).await;
    assert!(is_error(&r) && text(&r).contains("max_results"), "{r}");
}

/// `root/d0 .. d9`, each with `files` files named `f<n>.rs`.
fn wide_tree(root: &Path, files: usize) {
    for d in 0..10 {
        let dir = root.join(format!("d{d}"));
        fs::create_dir(&dir).unwrap();
        for f in 0..files {
            fs::write(dir.join(format!("f{f}.rs")), "").unwrap();
        }
    }
}

#[tokio::test]
async fn a_walk_stops_after_its_budget_of_entries() {
    let dir = tempfile::tempdir().unwrap();
    wide_tree(dir.path(), 10);
    let c = catalog(HostConfig { max_search_entries: 35, ..config() });
    let r = call(&c, "search_files", json!({"pattern": "*.rs", "path": dir.path()})).await;
    assert!(!is_error(&r), "{r}");
    let found = matches(&r).len();
    assert!(found > 0 && found < 100, "{found} matches: the walk did not stop at its budget");
    assert_eq!(r["structuredContent"]["truncated"], true);
    assert_eq!(r["structuredContent"]["stopped"], "read 35 directory entries");
    assert!(text(&r).contains("[stopped early: read 35 directory entries; search a narrower path]"), "{r}");
    let r = call(&host(), "search_files", json!({"pattern": "*.rs", "path": dir.path()})).await;
    assert_eq!((matches(&r).len(), r["structuredContent"]["stopped"].clone()), (100, Value::Null));
}

#[tokio::test]
async fn a_walk_stops_after_its_time_limit() {
    let dir = tempfile::tempdir().unwrap();
    wide_tree(dir.path(), 30);
    // With no time at all the walk stops at its first look at the clock.
    let c = catalog(HostConfig { search_time_limit: Duration::ZERO, ..config() });
    let r = call(&c, "search_files", json!({"pattern": "*.rs", "path": dir.path(), "max_results": 1000})).await;
    assert!(!is_error(&r), "{r}");
    assert!(matches(&r).len() < 300, "the walk did not stop at its time limit");
    assert_eq!(r["structuredContent"]["stopped"], "searched for 0s");
    assert_eq!(r["structuredContent"]["truncated"], true);
}
