//! Atomic file replacement, shared by `write_file` and `edit_file`.
//!
//! Readers of a file must see the old content or the new, never half of
//! each, and a crash must not leave a truncated file. So content goes to a
//! temporary file in the same directory, is flushed to disk, gets the right
//! mode (and owner, where permitted), and is renamed over the target.
//! A symlink at the path is followed, so the link stays a link and its target
//! gets the new content, as `echo > link` would do.

use super::shape::args::{failed, io_failed};
use crate::catalog::ToolError;
use std::fs::{self, File, Metadata, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// What an atomic write did.
#[derive(Debug)]
pub(super) struct Written {
    /// The file that was replaced or created (symlinks resolved).
    pub(super) target: PathBuf,
    /// Bytes written.
    pub(super) bytes: u64,
    /// The file's permission bits now.
    pub(super) mode: u32,
    /// The file did not exist before.
    pub(super) created: bool,
}

/// Follows symlinks at `path` to the file a write should replace, and that
/// file's metadata if it exists.
pub(super) fn resolve_target(tool: &str, path: &Path) -> Result<(PathBuf, Option<Metadata>), ToolError> {
    let mut current = path.to_path_buf();
    for _ in 0..40 {
        match fs::symlink_metadata(&current) {
            Ok(m) if m.file_type().is_symlink() => {
                let link =
                    fs::read_link(&current).map_err(|e| io_failed(format_args!("{tool} {}", current.display()), &e))?;
                current = match current.parent() {
                    Some(parent) if link.is_relative() => parent.join(link),
                    _ => link,
                };
            }
            Ok(m) if m.is_dir() => return Err(failed(format!("{tool} {}: Is a directory", path.display()))),
            Ok(m) if !m.is_file() => {
                return Err(failed(format!("{tool} {}: not a regular file", path.display())));
            }
            Ok(m) => return Ok((current, Some(m))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((current, None)),
            Err(e) => return Err(io_failed(format_args!("{tool} {}", path.display()), &e)),
        }
    }
    Err(failed(format!("{tool} {}: Too many levels of symbolic links", path.display())))
}

/// Replaces (or creates) the file at `path` with `data`.
///
/// The permission bits are `mode` when given, else those of the existing
/// file, else the default for new files (0666 less the umask).
pub(super) fn write_atomic(
    tool: &str,
    path: &Path,
    data: &[u8],
    mode: Option<u32>,
    create_dirs: bool,
) -> Result<Written, ToolError> {
    let (target, existing) = resolve_target(tool, path)?;
    let name = target.file_name().ok_or_else(|| failed(format!("{tool} {}: not a file path", path.display())))?;
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if create_dirs {
        fs::create_dir_all(&parent).map_err(|e| io_failed(format_args!("{tool} {}", parent.display()), &e))?;
    } else if let Err(e) = fs::metadata(&parent) {
        let hint = if e.kind() == io::ErrorKind::NotFound { " (set create_dirs to create it)" } else { "" };
        return Err(failed(format!("{tool} {}: parent directory {}: {e}{hint}", path.display(), parent.display())));
    }

    let keep = existing.as_ref().map(|m| m.mode() & 0o7777);
    let (mut file, temp) = create_temp(&parent, name, mode.or(keep).is_some()).map_err(|e| {
        io_failed(format_args!("{tool} {}: creating a temporary file in {}", path.display(), parent.display()), &e)
    })?;
    let fail = |e: io::Error| io_failed(format_args!("{tool} {}", path.display()), &e);
    file.write_all(data).map_err(fail)?;
    if let Some(m) = mode.or(keep) {
        file.set_permissions(fs::Permissions::from_mode(m)).map_err(fail)?;
    }
    if let Some(m) = &existing {
        // Keeps the owner when permitted (root, or our own file); a plain
        // user replacing a file they may write keeps ownership of the copy.
        let _ = std::os::unix::fs::fchown(&file, Some(m.uid()), Some(m.gid()));
    }
    file.sync_all().map_err(fail)?;
    let final_mode = file.metadata().map(|m| m.mode() & 0o7777).map_err(fail)?;
    drop(file);
    fs::rename(&temp.path, &target).map_err(fail)?;
    temp.disarm();
    if let Ok(dir) = File::open(&parent) {
        let _ = dir.sync_all();
    }
    Ok(Written { target, bytes: data.len() as u64, mode: final_mode, created: existing.is_none() })
}

/// Removes the temporary file unless it was renamed into place.
struct TempFile {
    path: PathBuf,
    armed: bool,
}

impl TempFile {
    fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.armed {
            let _ = fs::remove_file(&self.path);
        }
    }
}

fn create_temp(dir: &Path, name: &std::ffi::OsStr, private: bool) -> io::Result<(File, TempFile)> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let pid = std::process::id();
    let mut attempts = 0;
    loop {
        attempts += 1;
        let seq = SEQ.fetch_add(1, Ordering::Relaxed);
        let mut temp_name = std::ffi::OsString::from(".");
        temp_name.push(name);
        temp_name.push(format!(".herd-{pid}-{seq}.tmp"));
        let path = dir.join(temp_name);
        // When the final mode is known the copy starts private and is
        // chmod-ed before the rename; otherwise the umask decides, as for
        // any new file.
        let create_mode = if private { 0o600 } else { 0o666 };
        match OpenOptions::new().write(true).create_new(true).mode(create_mode).open(&path) {
            Ok(file) => return Ok((file, TempFile { path, armed: true })),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempts < 100 => continue,
            Err(e) => return Err(e),
        }
    }
}
