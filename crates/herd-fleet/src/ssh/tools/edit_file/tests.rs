//! Tests of `edit_file`'s write-back script, run by a local `sh` (no stdin
//! watcher, so closing stdin is harmless): the rename is refused when the
//! file changed after it was read. The replacement rules are the agent's
//! and tested there.

#![allow(clippy::unwrap_used)]

use crate::ssh::records::Splitter;
use crate::ssh::script::Script;
use crate::ssh::tools::cksum::cksum;
use crate::ssh::tools::fs_script::{RESOLVE, atomic_write};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

/// Runs the write-back script for `path` as if `old` had been read.
fn write_back(path: &std::path::Path, old: &[u8], new: &[u8]) -> Vec<(String, Vec<String>)> {
    let mut script = Script::new("beef", false);
    script.var("p", path.as_os_str().as_encoded_bytes()).var("m", "").var("cd", "0").var("ck", cksum(old));
    script.code(RESOLVE);
    atomic_write(&mut script, new);
    let mut child = Command::new("sh")
        .arg("-s")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&script.finish()).unwrap();
    let out = child.wait_with_output().unwrap();
    let mut splitter = Splitter::new("beef");
    splitter.push(&out.stderr, &mut |_: &[u8]| {});
    let records = splitter.finish(&mut |_: &[u8]| {});
    records.into_iter().filter(|r| r.kind != "start" && r.kind != "done").map(|r| (r.kind, r.fields)).collect()
}

#[test]
fn write_back_replaces_an_unchanged_file_keeping_its_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    std::fs::write(&path, "old\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let records = write_back(&path, b"old\n", b"new\n");
    assert_eq!(records.first().map(|r| r.0.as_str()), Some("ok"), "{records:?}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777, 0o640);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file left");
}

#[test]
fn write_back_refuses_a_file_that_changed_after_it_was_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    std::fs::write(&path, "changed by someone else\n").unwrap();
    let records = write_back(&path, b"what the edit read\n", b"edited\n");
    assert_eq!(records.first(), Some(&("err".to_owned(), vec!["changed".to_owned()])), "{records:?}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "changed by someone else\n");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file left");
}
