//! The temporary file of an atomic write: created beside the target
//! through the directory handle, never following a link, and removed
//! unless it was renamed into place.

use nix::errno::Errno;
use nix::fcntl::{OFlag, openat};
use nix::sys::stat::Mode;
use nix::unistd::{UnlinkatFlags, unlinkat};
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};

/// The temporary file, removed unless it was renamed into place.
pub(super) struct TempFile<'a> {
    dir: &'a File,
    pub(super) name: OsString,
    pub(super) file: File,
    armed: bool,
}

impl<'a> TempFile<'a> {
    /// Creates `.<name>.herd-<pid>-<n>.tmp` in `dir`, never following a
    /// link there. When the final mode is known (`private`) the copy starts
    /// as 0600 and is chmod-ed before the rename; otherwise the umask
    /// decides, as for any new file.
    pub(super) fn create(dir: &'a File, name: &OsStr, private: bool) -> io::Result<Self> {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let pid = std::process::id();
        let flags = OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let mode = Mode::from_bits_truncate(if private { 0o600 } else { 0o666 });
        let mut attempts = 0;
        loop {
            attempts += 1;
            let seq = SEQ.fetch_add(1, Ordering::Relaxed);
            let mut temp = OsString::from(".");
            temp.push(name);
            temp.push(format!(".herd-{pid}-{seq}.tmp"));
            match openat(dir, temp.as_os_str(), flags, mode) {
                Ok(fd) => return Ok(Self { dir, name: temp, file: File::from(fd), armed: true }),
                Err(Errno::EEXIST) if attempts < 100 => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    pub(super) fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for TempFile<'_> {
    fn drop(&mut self) {
        if self.armed {
            let _ = unlinkat(self.dir, self.name.as_os_str(), UnlinkatFlags::NoRemoveDir);
        }
    }
}
