//! Atomic file replacement, shared by `write_file` and `edit_file`.
//!
//! Readers of a file must see the old content or the new, never half of
//! each, and a crash must not leave a truncated file. So content goes to a
//! temporary file in the same directory, is flushed to disk, gets the right
//! owner and mode, and is renamed over the target; then the directory is
//! flushed so the rename itself survives a crash.
//!
//! # What is followed
//!
//! A write is resolved once, into a [`Target`]: a handle on the directory
//! that holds the file, and the file's name in it.
//!
//! - The directory part of the path is opened once (`O_DIRECTORY`);
//!   symlinks in it are followed by the kernel at that moment, as for any
//!   path. Every later step (inspecting the file, creating the temporary
//!   file, the rename, the directory flush) is relative to that handle, with
//!   `O_NOFOLLOW` on the names inside it. Someone who swaps a directory of
//!   the path for a symlink while the write runs cannot move the write: it
//!   lands in the directory the handle opened.
//! - The final component is inspected without following it. A regular file
//!   is replaced. A symlink is followed only when it leads to a regular
//!   file: its target is read from the handle and resolved relative to it
//!   (at most 40 links), and that file is replaced, so the link stays a link
//!   as with `echo > link`. A symlink to anything else, a dangling one
//!   included, is refused: a write never creates a file where a link points.
//! - Directories, FIFOs, devices and sockets are refused.
//!
//! # Mode and owner
//!
//! The permission bits are `mode` when the call gives one (setuid, setgid
//! and sticky bits included). Otherwise an existing file keeps its
//! permission bits and sticky bit but loses setuid and setgid: new content
//! is a new program and must not inherit the old one's privileges (the
//! kernel drops them too when a non-owner writes such a file). A new file
//! gets 0666 less the umask. An existing file's owner and group are kept
//! where permitted (root, or a file of our own); they are set before the
//! mode, since changing the owner clears setuid and setgid.

mod temp;

use super::shape::args::{failed, io_failed};
use crate::catalog::ToolError;
use nix::errno::Errno;
use nix::fcntl::{AT_FDCWD, AtFlags, OFlag, openat, readlinkat, renameat};
use nix::sys::stat::{FileStat, Mode, SFlag, fstatat};
use nix::unistd::fsync;
use std::ffi::OsString;
use std::fs::{File, Permissions};
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use temp::TempFile;

/// Symlinks followed at most at the final component, as the kernel does.
const MAX_LINKS: usize = 40;

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
    /// The directory was flushed after the rename (false only where the
    /// file system cannot flush directories). Callers need not care; tests
    /// check it.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(super) dir_synced: bool,
}

/// A file to replace, resolved once: the directory holding it, as a handle,
/// and its name there.
#[derive(Debug)]
pub(super) struct Target {
    tool: String,
    /// The path as the call gave it, for messages.
    asked: PathBuf,
    dir: File,
    /// The directory as a path, for messages and the result only.
    dir_path: PathBuf,
    name: OsString,
    existing: Option<Existing>,
}

/// What a write keeps of the file it replaces.
#[derive(Debug, Clone, Copy)]
struct Existing {
    uid: u32,
    gid: u32,
    /// Mode bits, file type included.
    mode: u32,
    len: u64,
}

impl From<&FileStat> for Existing {
    #[allow(clippy::useless_conversion, reason = "mode_t is u16 on some systems")]
    fn from(s: &FileStat) -> Self {
        let len = u64::try_from(s.st_size).unwrap_or(0);
        Self { uid: s.st_uid, gid: s.st_gid, mode: u32::from(s.st_mode), len }
    }
}

impl Target {
    /// Opens the directory of `path` (creating it first when `create_dirs`)
    /// and resolves the final component as the module doc says.
    pub(super) fn resolve(tool: &str, path: &Path, create_dirs: bool) -> Result<Self, ToolError> {
        let shown = path.display();
        let name = path.file_name().ok_or_else(|| failed(format!("{tool} {shown}: not a file path")))?;
        let dir_path = path.parent().unwrap_or(Path::new("")).to_path_buf();
        let opened = if dir_path.as_os_str().is_empty() { Path::new(".") } else { dir_path.as_path() };
        if create_dirs {
            std::fs::create_dir_all(opened).map_err(|e| io_failed(format_args!("{tool} {}", opened.display()), &e))?;
        }
        let dir = open_dir(AT_FDCWD, opened).map_err(|e| {
            let hint = if e == Errno::ENOENT { " (set create_dirs to create it)" } else { "" };
            failed(format!("{tool} {shown}: parent directory {}: {}{hint}", opened.display(), io::Error::from(e)))
        })?;
        let mut target = Self {
            tool: tool.to_owned(),
            asked: path.to_path_buf(),
            dir,
            dir_path,
            name: name.to_owned(),
            existing: None,
        };
        target.settle()?;
        Ok(target)
    }

    /// Follows symlinks at the name until it is a regular file or missing.
    fn settle(&mut self) -> Result<(), ToolError> {
        for links in 0..=MAX_LINKS {
            let stat = match fstatat(&self.dir, self.name.as_os_str(), AtFlags::AT_SYMLINK_NOFOLLOW) {
                Ok(stat) => stat,
                Err(Errno::ENOENT) if links > 0 => {
                    return Err(self.refuse(&format!("a symlink to {}, which does not exist", self.path().display())));
                }
                Err(Errno::ENOENT) => return Ok(()),
                Err(e) => return Err(self.os_error(e)),
            };
            match SFlag::from_bits_truncate(stat.st_mode & SFlag::S_IFMT.bits()) {
                SFlag::S_IFREG => {
                    self.existing = Some(Existing::from(&stat));
                    return Ok(());
                }
                SFlag::S_IFLNK => self.follow()?,
                SFlag::S_IFDIR => return Err(self.refuse("Is a directory")),
                _ => return Err(self.refuse("not a regular file")),
            }
        }
        Err(self.os_error(Errno::ELOOP))
    }

    /// Moves to where the symlink at the name points, read and resolved
    /// relative to the directory handle.
    fn follow(&mut self) -> Result<(), ToolError> {
        let link = PathBuf::from(readlinkat(&self.dir, self.name.as_os_str()).map_err(|e| self.os_error(e))?);
        let Some(name) = link.file_name() else {
            return Err(self.refuse(&format!("a symlink to {}, which is not a file", link.display())));
        };
        if let Some(parent) = link.parent().filter(|p| !p.as_os_str().is_empty()) {
            self.dir = open_dir(&self.dir, parent).map_err(|e| self.os_error(e))?;
            self.dir_path = self.dir_path.join(parent);
        }
        self.name = name.to_owned();
        Ok(())
    }

    /// The file this target writes (symlinks resolved), for messages.
    pub(super) fn path(&self) -> PathBuf {
        self.dir_path.join(&self.name)
    }

    /// The size of the existing file, if there is one.
    pub(super) fn existing_len(&self) -> Option<u64> {
        self.existing.map(|e| e.len)
    }

    /// The existing file's content, read through the directory handle.
    pub(super) fn read(&self) -> Result<Vec<u8>, ToolError> {
        // O_NONBLOCK: should the name have become a FIFO, opening it must
        // not wait for a writer; it is refused below as not a regular file.
        let flags = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
        let fd = openat(&self.dir, self.name.as_os_str(), flags, Mode::empty()).map_err(|e| self.os_error(e))?;
        let mut file = File::from(fd);
        let meta = file.metadata().map_err(|e| self.io_error(&e))?;
        if !meta.is_file() {
            return Err(self.refuse("not a regular file"));
        }
        let mut data = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
        file.read_to_end(&mut data).map_err(|e| self.io_error(&e))?;
        Ok(data)
    }

    /// Replaces the file with `data`, with permission bits `mode` when
    /// given (see the module doc for the rest).
    pub(super) fn replace(&self, data: &[u8], mode: Option<u32>) -> Result<Written, ToolError> {
        let keep = self.existing.map(|e| e.mode & 0o1777);
        let bits = mode.or(keep);
        let temp = TempFile::create(&self.dir, &self.name, bits.is_some()).map_err(|e| {
            let dir = self.dir_path.display();
            failed(format!("{} {}: creating a temporary file in {dir}: {}", self.tool, self.asked.display(), e))
        })?;
        let mut file = &temp.file;
        file.write_all(data).map_err(|e| self.io_error(&e))?;
        if let Some(existing) = &self.existing {
            // Kept when permitted; a plain user replacing a file they may
            // write keeps ownership of the copy.
            let _ = std::os::unix::fs::fchown(file, Some(existing.uid), Some(existing.gid));
        }
        if let Some(bits) = bits {
            file.set_permissions(Permissions::from_mode(bits)).map_err(|e| self.io_error(&e))?;
        }
        file.sync_all().map_err(|e| self.io_error(&e))?;
        let mode_now = file.metadata().map(|m| m.mode() & 0o7777).map_err(|e| self.io_error(&e))?;
        renameat(&self.dir, temp.name.as_os_str(), &self.dir, self.name.as_os_str()).map_err(|e| self.os_error(e))?;
        temp.disarm();
        let dir_synced = match fsync(&self.dir) {
            Ok(()) => true,
            // Some file systems cannot flush a directory; the rename stands.
            Err(Errno::EINVAL | Errno::ENOTSUP) => {
                tracing::debug!(dir = %self.dir_path.display(), "this file system cannot flush a directory");
                false
            }
            Err(e) => {
                let why = io::Error::from(e);
                return Err(failed(format!(
                    "{} {}: the new content is in place, but flushing {} failed: {why}",
                    self.tool,
                    self.asked.display(),
                    self.dir_path.display()
                )));
            }
        };
        let bytes = data.len() as u64;
        Ok(Written { target: self.path(), bytes, mode: mode_now, created: self.existing.is_none(), dir_synced })
    }

    fn refuse(&self, why: &str) -> ToolError {
        failed(format!("{} {}: {why}", self.tool, self.asked.display()))
    }

    fn os_error(&self, e: Errno) -> ToolError {
        self.io_error(&io::Error::from(e))
    }

    fn io_error(&self, e: &io::Error) -> ToolError {
        io_failed(format_args!("{} {}", self.tool, self.asked.display()), e)
    }
}

/// Replaces (or creates) the file at `path` with `data`: [`Target::resolve`]
/// then [`Target::replace`].
pub(super) fn write_atomic(
    tool: &str,
    path: &Path,
    data: &[u8],
    mode: Option<u32>,
    create_dirs: bool,
) -> Result<Written, ToolError> {
    Target::resolve(tool, path, create_dirs)?.replace(data, mode)
}

/// Opens the directory `path`, relative to `at`.
fn open_dir(at: impl AsFd, path: &Path) -> Result<File, Errno> {
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    openat(at, path, flags, Mode::empty()).map(File::from)
}

#[cfg(test)]
mod tests;
