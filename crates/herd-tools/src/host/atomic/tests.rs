//! Tests of atomic replacement: a directory swapped for a symlink between
//! resolving and writing, the directory flush, setuid and setgid bits,
//! dangling and non-file symlinks.

#![allow(clippy::unwrap_used)]

use super::{Target, write_atomic};
use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// `d/f` holding `content`, and an empty `elsewhere`; also the path `d`
/// is moved to by [`swap`].
struct Dirs {
    _root: tempfile::TempDir,
    dir: PathBuf,
    moved: PathBuf,
    elsewhere: PathBuf,
}

fn dirs(content: &str) -> Dirs {
    let root = tempfile::tempdir().unwrap();
    let (dir, moved, elsewhere) = (root.path().join("d"), root.path().join("d.orig"), root.path().join("elsewhere"));
    fs::create_dir(&dir).unwrap();
    fs::create_dir(&elsewhere).unwrap();
    fs::write(dir.join("f"), content).unwrap();
    Dirs { _root: root, dir, moved, elsewhere }
}

/// What someone who may write the parent of `d` can do at any moment:
/// move `d` away and put a symlink to `elsewhere` in its place.
fn swap(d: &Dirs) {
    fs::rename(&d.dir, &d.moved).unwrap();
    symlink(&d.elsewhere, &d.dir).unwrap();
}

#[test]
fn a_parent_swapped_for_a_symlink_mid_write_cannot_redirect_it() {
    let d = dirs("old");
    let target = Target::resolve("write_file", &d.dir.join("f"), false).unwrap();
    swap(&d);
    let written = target.replace(b"new", None).unwrap();

    assert_eq!(fs::read_to_string(d.moved.join("f")).unwrap(), "new", "the write left the directory it resolved");
    assert!(!d.elsewhere.join("f").exists(), "the write followed the swapped-in symlink");
    assert_eq!(fs::read_dir(&d.elsewhere).unwrap().count(), 0, "something was created behind the symlink");
    assert_eq!(fs::read_dir(&d.moved).unwrap().count(), 1, "a temporary file was left behind");
    assert!(written.dir_synced, "the directory was not flushed after the rename");
}

#[test]
fn edits_read_and_write_the_same_directory() {
    let d = dirs("mine");
    fs::write(d.elsewhere.join("f"), "theirs").unwrap();
    let target = Target::resolve("edit_file", &d.dir.join("f"), false).unwrap();
    swap(&d);
    assert_eq!(target.read().unwrap(), b"mine");
    target.replace(b"edited", None).unwrap();
    assert_eq!(fs::read_to_string(d.moved.join("f")).unwrap(), "edited");
    assert_eq!(fs::read_to_string(d.elsewhere.join("f")).unwrap(), "theirs");
}

#[test]
fn setuid_and_setgid_are_dropped_unless_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tool");
    for (before, after) in [(0o4755, 0o755), (0o2644, 0o644), (0o6750, 0o750), (0o1755, 0o1755)] {
        fs::write(&path, "old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(before)).unwrap();
        let written = write_atomic("write_file", &path, b"new", None, false).unwrap();
        assert_eq!((mode(&path), written.mode), (after, after), "{before:o}");
    }
    // Asked for by mode, they are set, also over a file that had none.
    for asked in [0o4755, 0o2755] {
        let written = write_atomic("write_file", &path, b"new", Some(asked), false).unwrap();
        assert_eq!((mode(&path), written.mode), (asked, asked), "{asked:o}");
    }
}

#[test]
fn only_symlinks_to_regular_files_are_followed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir(d.join("sub")).unwrap();
    fs::write(d.join("sub/real"), "old").unwrap();
    symlink("sub/real", d.join("one")).unwrap();
    symlink("one", d.join("two")).unwrap();
    let written = write_atomic("write_file", &d.join("two"), b"new", None, false).unwrap();
    assert_eq!(written.target, d.join("sub/real"));
    assert_eq!(fs::read_to_string(d.join("sub/real")).unwrap(), "new");
    assert!(fs::symlink_metadata(d.join("two")).unwrap().file_type().is_symlink());

    symlink("nowhere", d.join("dangling")).unwrap();
    let err = write_atomic("write_file", &d.join("dangling"), b"x", None, false).unwrap_err().to_string();
    assert!(err.contains("which does not exist"), "{err}");
    assert!(!d.join("nowhere").exists(), "a dangling link created its target");

    symlink("sub", d.join("to_dir")).unwrap();
    let err = write_atomic("write_file", &d.join("to_dir"), b"x", None, false).unwrap_err().to_string();
    assert!(err.contains("Is a directory"), "{err}");

    symlink("loop", d.join("loop")).unwrap();
    let err = write_atomic("write_file", &d.join("loop"), b"x", None, false).unwrap_err().to_string();
    assert!(err.contains("symbolic links"), "{err}");
}

#[test]
fn fifos_are_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let err = Target::resolve("edit_file", &fifo, false).unwrap_err().to_string();
    assert!(err.contains("not a regular file"), "{err}");
}
