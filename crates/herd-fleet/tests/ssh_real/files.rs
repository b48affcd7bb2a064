//! The file tools over SSH: `read_file`, `write_file`, `edit_file`,
//! `list_dir`, `search_files`, each in success and failure, with results
//! shaped like the agent's; hostile file names handled as plain data.

use super::sshd::Sshd;
use super::{call, is_error, pool, text};
use base64::Engine;
use serde_json::{Value, json};
use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    v.sort();
    v
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().unwrap_or_else(|| panic!("{v}")).iter().map(|s| s.as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn read_file_by_lines_bytes_and_errors() {
    let server = Sshd::start();
    let (pool, host) = (pool(&server), server.alias());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.txt");
    fs::write(&path, "one\ntwo\nthree\nfour\nfive").unwrap();

    let r = call(&pool, host, "read_file", json!({"path": path})).await;
    assert_eq!(text(&r), "one\ntwo\nthree\nfour\nfive", "{r}");
    let s = &r["structuredContent"];
    assert_eq!((s["lines"].clone(), s["truncated"].clone(), s["size"].clone()), (json!(5), json!(false), json!(23)));
    let r = call(&pool, host, "read_file", json!({"path": path, "offset": 2, "limit": 2})).await;
    let s = &r["structuredContent"];
    assert_eq!((s["content"].clone(), s["next_offset"].clone()), (json!("two\nthree\n"), json!(4)));
    assert!(text(&r).ends_with("[more follows: continue with offset 4]"), "{r}");
    let r = call(&pool, host, "read_file", json!({"path": path, "offset": 9})).await;
    assert!(!is_error(&r) && text(&r).contains("has 5 lines; nothing from line 9 on"), "{r}");

    let bytes: Vec<u8> = (0..=255u8).chain(0..=255u8).collect();
    let bin = dir.path().join("bin");
    fs::write(&bin, &bytes).unwrap();
    let r = call(&pool, host, "read_file", json!({"path": bin, "encoding": "base64"})).await;
    assert_eq!(r["structuredContent"]["content"], b64(&bytes), "{r}");
    let r =
        call(&pool, host, "read_file", json!({"path": bin, "encoding": "base64", "offset": 250, "limit": 10})).await;
    let s = &r["structuredContent"];
    assert_eq!((s["content"].clone(), s["next_offset"].clone()), (json!(b64(&bytes[250..260])), json!(260)));

    let r = call(&pool, host, "read_file", json!({"path": bin})).await;
    assert!(is_error(&r) && text(&r).contains("bin: binary content") && text(&r).contains("base64"), "{r}");
    let missing = dir.path().join("nope");
    let r = call(&pool, host, "read_file", json!({"path": missing})).await;
    let want = format!("read_file {}: No such file or directory (os error 2)", missing.display());
    assert!(is_error(&r) && text(&r) == want, "{r}");
    let r = call(&pool, host, "read_file", json!({"path": dir.path()})).await;
    assert!(is_error(&r) && text(&r).contains("Is a directory"), "{r}");
    let r = call(&pool, host, "read_file", json!({"path": path, "encoding": "latin1"})).await;
    assert!(is_error(&r) && text(&r).contains("invalid arguments"), "{r}");
}

#[tokio::test]
async fn write_file_is_atomic_keeps_modes_and_creates_dirs() {
    let server = Sshd::start();
    let (pool, host) = (pool(&server), server.alias());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.txt");
    let r = call(&pool, host, "write_file", json!({"path": path, "content": "héllo\n"})).await;
    assert!(!is_error(&r) && text(&r).starts_with("created "), "{r}");
    let s = &r["structuredContent"];
    assert_eq!((s["bytes_written"].clone(), s["created"].clone()), (json!(7), json!(true)));
    assert_eq!(fs::read_to_string(&path).unwrap(), "héllo\n");

    fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
    let r = call(&pool, host, "write_file", json!({"path": path, "content": "x"})).await;
    assert_eq!(
        (r["structuredContent"]["created"].clone(), r["structuredContent"]["mode"].clone()),
        (json!(false), json!("0640"))
    );
    assert_eq!((fs::read_to_string(&path).unwrap(), mode(&path)), ("x".to_owned(), 0o640));
    let r = call(&pool, host, "write_file", json!({"path": path, "content": "y", "mode": "0750"})).await;
    assert_eq!((r["structuredContent"]["mode"].clone(), mode(&path)), (json!("0750"), 0o750));
    assert_eq!(names(dir.path()), ["a.txt"], "temporary files left behind");

    let deep = dir.path().join("new/sub/f");
    let r = call(&pool, host, "write_file", json!({"path": deep, "content": "z"})).await;
    assert!(is_error(&r) && text(&r).contains("No such file or directory") && text(&r).contains("create_dirs"), "{r}");
    let r = call(&pool, host, "write_file", json!({"path": deep, "content": "z", "create_dirs": true})).await;
    assert!(!is_error(&r), "{r}");
    assert_eq!(fs::read_to_string(&deep).unwrap(), "z");

    let (real, link) = (dir.path().join("real"), dir.path().join("link"));
    fs::write(&real, "old").unwrap();
    symlink(&real, &link).unwrap();
    let r = call(&pool, host, "write_file", json!({"path": link, "content": b64(b"new"), "encoding": "base64"})).await;
    assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert_eq!(fs::read_to_string(&real).unwrap(), "new");
    assert_eq!(r["structuredContent"]["path"], real.to_str().unwrap(), "{r}");
    let r = call(&pool, host, "write_file", json!({"path": dir.path(), "content": ""})).await;
    assert!(is_error(&r) && text(&r).contains("Is a directory"), "{r}");
}

#[tokio::test]
async fn edit_file_needs_exactly_one_match_unless_replace_all() {
    let server = Sshd::start();
    let (pool, host) = (pool(&server), server.alias());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.rs");
    fs::write(&path, "a\nlet x = 1;\nb\n").unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();

    let r = call(&pool, host, "edit_file", json!({"path": path, "old_string": "nope", "new_string": "x"})).await;
    assert!(is_error(&r) && text(&r).contains("f.rs: old_string not found"), "{r}");
    let r = call(&pool, host, "edit_file", json!({"path": path, "old_string": "x = 1", "new_string": "x = 2"})).await;
    assert!(!is_error(&r), "{r}");
    let s = &r["structuredContent"];
    assert_eq!(
        (s["replacements"].clone(), s["first_line"].clone(), s["bytes_written"].clone()),
        (json!(1), json!(2), json!(15))
    );
    assert_eq!((fs::read_to_string(&path).unwrap(), mode(&path)), ("a\nlet x = 2;\nb\n".to_owned(), 0o640));

    fs::write(&path, "foo bar foo\n").unwrap();
    let r = call(&pool, host, "edit_file", json!({"path": path, "old_string": "foo", "new_string": "baz"})).await;
    assert!(is_error(&r) && text(&r).contains("not unique: it occurs 2 times"), "{r}");
    assert_eq!(fs::read_to_string(&path).unwrap(), "foo bar foo\n");
    let args = json!({"path": path, "old_string": "foo", "new_string": "baz", "replace_all": true});
    let r = call(&pool, host, "edit_file", args).await;
    assert!(text(&r).starts_with("replaced 2 occurrences"), "{r}");
    assert_eq!(fs::read_to_string(&path).unwrap(), "baz bar baz\n");
    assert_eq!(names(dir.path()), ["f.rs"], "temporary files left behind");

    let r =
        call(&pool, host, "edit_file", json!({"path": dir.path().join("nope"), "old_string": "a", "new_string": "b"}))
            .await;
    assert!(is_error(&r) && text(&r).contains("nope: No such file or directory"), "{r}");
    fs::write(dir.path().join("bin"), b"\xff\xfe").unwrap();
    let r =
        call(&pool, host, "edit_file", json!({"path": dir.path().join("bin"), "old_string": "a", "new_string": "b"}))
            .await;
    assert!(is_error(&r) && text(&r).contains("binary content"), "{r}");
}

#[tokio::test]
async fn list_dir_and_search_files_match_the_agent() {
    let server = Sshd::start();
    let (pool, host) = (pool(&server), server.alias());
    check_listing_tools(&pool, host).await;
}

#[tokio::test]
async fn the_portable_listings_give_the_same_results() {
    let server = Sshd::start_with("SetEnv HERD_SSH_PORTABLE=1");
    let (pool, host) = (pool(&server), server.alias());
    check_listing_tools(&pool, host).await;
}

async fn check_listing_tools(pool: &herd_fleet::SshPool, host: &str) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("real");
    fs::create_dir_all(root.join("sub/deep")).unwrap();
    for f in ["a.rs", "b.txt", "sub/c.rs", "sub/deep/d.rs"] {
        fs::write(root.join(f), "12345").unwrap();
    }
    fs::write(root.join("new\nline"), "").unwrap();
    symlink("b.txt", root.join("c")).unwrap();
    symlink("..", root.join("sub/up")).unwrap();
    symlink(&root, root.join("sub/deep/root")).unwrap();
    let link = dir.path().join("link");
    symlink(&root, &link).unwrap();

    let r = call(pool, host, "list_dir", json!({"path": root})).await;
    let entries = r["structuredContent"]["entries"].as_array().unwrap_or_else(|| panic!("{r}")).clone();
    let got: Vec<(String, String)> =
        entries.iter().map(|e| (e["name"].as_str().unwrap().into(), e["kind"].as_str().unwrap().into())).collect();
    let want = [("a.rs", "file"), ("b.txt", "file"), ("c", "symlink"), ("new\nline", "file"), ("sub", "dir")];
    assert_eq!(got, want.map(|(a, b)| (a.to_owned(), b.to_owned())), "{r}");
    assert_eq!((entries[0]["size"].clone(), entries[2]["target"].clone()), (json!(5), json!("b.txt")));
    assert!(text(&r).contains("sub/") && text(&r).contains("c -> b.txt"), "{r}");
    let r = call(pool, host, "list_dir", json!({"path": dir.path().join("nope")})).await;
    assert!(is_error(&r) && text(&r).contains("nope: No such file or directory"), "{r}");
    let r = call(pool, host, "list_dir", json!({"path": root.join("a.rs")})).await;
    assert!(is_error(&r) && text(&r).contains("Not a directory"), "{r}");

    // A symlinked root is followed; the cycles (`up`, `root`) end the walk.
    let r = call(pool, host, "search_files", json!({"pattern": "*.rs", "path": link})).await;
    let l = link.display();
    assert_eq!(
        strings(&r["structuredContent"]["matches"]),
        [format!("{l}/a.rs"), format!("{l}/sub/c.rs"), format!("{l}/sub/deep/d.rs")]
    );
    let r = call(pool, host, "search_files", json!({"pattern": "up", "path": root})).await;
    assert_eq!(strings(&r["structuredContent"]["matches"]), [format!("{}/sub/up", root.display())], "{r}");
    let r = call(pool, host, "search_files", json!({"pattern": "sub/*.rs", "path": root})).await;
    assert_eq!(strings(&r["structuredContent"]["matches"]), [format!("{}/sub/c.rs", root.display())], "{r}");
    let r = call(pool, host, "search_files", json!({"pattern": "*", "path": root, "max_results": 2})).await;
    assert_eq!(r["structuredContent"]["truncated"], true, "{r}");
    assert_eq!(strings(&r["structuredContent"]["matches"]).len(), 2);
    let r = call(pool, host, "search_files", json!({"pattern": "*.zz", "path": root})).await;
    assert!(!is_error(&r) && text(&r).starts_with("[nothing under"), "{r}");
    let r = call(pool, host, "search_files", json!({"pattern": "*", "path": root.join("a.rs")})).await;
    assert!(is_error(&r) && text(&r).contains("Not a directory"), "{r}");
}

#[tokio::test]
async fn hostile_file_names_are_plain_data() {
    let server = Sshd::start();
    let (pool, host) = (pool(&server), server.alias());
    let dir = tempfile::tempdir().unwrap();
    for name in ["$(touch pwned)", "'; touch pwned; '", "-rf", "a\nb", "`touch pwned`", "x\"; touch pwned"] {
        let path = dir.path().join(name);
        let r = call(&pool, host, "write_file", json!({"path": path, "content": "v1 $(touch pwned)\n"})).await;
        assert!(!is_error(&r), "{name:?}: {r}");
        let args = json!({"path": path, "old_string": "v1", "new_string": "v2"});
        assert!(!is_error(&call(&pool, host, "edit_file", args).await), "{name:?}");
        let r = call(&pool, host, "read_file", json!({"path": path})).await;
        assert_eq!(r["structuredContent"]["content"], "v2 $(touch pwned)\n", "{name:?}: {r}");
    }
    // A relative path starting with '-' is a file, not an option.
    let r = call(&pool, host, "write_file", json!({"path": "-herd-test-dash", "content": "d"})).await;
    assert!(!is_error(&r), "{r}");
    let r = call(&pool, host, "read_file", json!({"path": "-herd-test-dash"})).await;
    assert_eq!(r["structuredContent"]["content"], "d", "{r}");
    let _ = call(&pool, host, "shell", json!({"command": "rm -f ./-herd-test-dash"})).await;

    let r = call(&pool, host, "list_dir", json!({"path": dir.path()})).await;
    assert_eq!(r["structuredContent"]["entries"].as_array().unwrap().len(), 6, "{r}");
    let r = call(&pool, host, "search_files", json!({"pattern": "*touch*", "path": dir.path()})).await;
    assert_eq!(r["structuredContent"]["matches"].as_array().unwrap().len(), 4, "{r}");
    assert!(!dir.path().join("pwned").exists());
    let home = call(&pool, host, "shell", json!({"command": "echo \"$HOME\""})).await;
    let home = home["structuredContent"]["stdout"].as_str().unwrap().trim().to_owned();
    assert!(!Path::new(&home).join("pwned").exists(), "something ran `touch pwned` in {home}");
}
