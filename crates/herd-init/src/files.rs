//! Writing a setup's files so that a second run can tell what it would
//! change: each file is compared with what is wanted before anything is
//! written, and written atomically (temp file, sync, rename) with its mode
//! from the first byte.

use crate::InitError;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

/// Mode of files holding a secret (keys, tokens).
pub(crate) const SECRET: u32 = 0o600;
/// Mode of files anyone on the machine may read (certificates, units).
pub(crate) const PUBLIC: u32 = 0o644;

/// How a file on disk compares with what is wanted.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Found {
    /// No such file.
    Missing,
    /// The same bytes.
    Same,
    /// Other bytes.
    Differs,
}

/// Compares the file at `path` with `wanted`.
pub(crate) fn compare(path: &Path, wanted: &[u8]) -> Result<Found, InitError> {
    match std::fs::read(path) {
        Ok(bytes) if bytes == wanted => Ok(Found::Same),
        Ok(_) => Ok(Found::Differs),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Found::Missing),
        Err(e) => Err(InitError::io(path, e)),
    }
}

/// The text of the file at `path`, `None` when there is none.
pub(crate) fn read(path: &Path) -> Result<Option<String>, InitError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(InitError::io(path, e)),
    }
}

/// Creates `dir` (and its parents) with `mode` when missing.
pub(crate) fn make_dir(dir: &Path, mode: u32) -> Result<(), InitError> {
    std::fs::DirBuilder::new().recursive(true).mode(mode).create(dir).map_err(|e| InitError::io(dir, e))
}

/// Puts `contents` at `path` with `mode`, atomically.
pub(crate) fn write(path: &Path, contents: &[u8], mode: u32) -> Result<(), InitError> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let temp = path.with_file_name(format!(".{name}.{:016x}.tmp", rand::random::<u64>()));
    let placed = (|| {
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(mode).open(&temp)?;
        // The umask may have narrowed it; a certificate stays readable.
        file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        file.write_all(contents)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if placed.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    placed.map_err(|e| InitError::io(path, e))
}

/// What a run did, file by file, for the report.
#[derive(Debug, Default)]
pub struct Changes {
    /// Files written, in order.
    pub written: Vec<PathBuf>,
}

impl Changes {
    /// Writes `contents` to `path` and notes it.
    pub(crate) fn write(&mut self, path: &Path, contents: &[u8], mode: u32) -> Result<(), InitError> {
        write(path, contents, mode)?;
        self.written.push(path.to_owned());
        Ok(())
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.written.is_empty()
    }
}

/// Checks a file whose whole text follows from the arguments: missing, it
/// is to be written; the same, nothing to do; different, refused unless
/// `force`, naming the file. Returns whether to write it.
pub(crate) fn needs(path: &Path, wanted: &[u8], force: bool, hint: &str) -> Result<bool, InitError> {
    match compare(path, wanted)? {
        Found::Missing => Ok(true),
        Found::Same => Ok(false),
        Found::Differs if force => Ok(true),
        Found::Differs => {
            let what = first_difference(path, wanted).unwrap_or_else(|| hint.to_owned());
            Err(InitError::Differs { path: path.to_owned(), what })
        }
    }
}

/// The first line where the text file at `path` and `wanted` differ, as
/// "`there` there, `wanted` here"; `None` for files that are not text or
/// lines that hold a secret.
fn first_difference(path: &Path, wanted: &[u8]) -> Option<String> {
    let there = std::fs::read_to_string(path).ok()?;
    let wanted = std::str::from_utf8(wanted).ok()?;
    let mut there_lines = there.lines();
    let mut wanted_lines = wanted.lines();
    loop {
        match (there_lines.next(), wanted_lines.next()) {
            (Some(a), Some(b)) if a == b => continue,
            (a, b) => {
                let (a, b) = (a.unwrap_or("(no line)"), b.unwrap_or("(no line)"));
                if [a, b].iter().any(|l| l.contains("TOKEN") || l.contains("token")) {
                    return None;
                }
                return Some(format!("`{a}` there, `{b}` with these arguments"));
            }
        }
    }
}
