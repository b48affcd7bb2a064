//! `$HERD_HOME`: where herd keeps state on this machine (tokens, the
//! hosts file of `herd up`). Default: `$XDG_DATA_HOME/herd`, else
//! `~/.local/share/herd`.

use anyhow::{Context as _, bail};
use std::io::{Read as _, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

/// Where the state directory is (not created).
pub(crate) fn path(explicit: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    Ok(match explicit.or_else(|| std::env::var_os("HERD_HOME").map(PathBuf::from)) {
        Some(dir) => dir,
        None => match (std::env::var_os("XDG_DATA_HOME"), std::env::var_os("HOME")) {
            (Some(data), _) if !data.is_empty() => PathBuf::from(data).join("herd"),
            (_, Some(home)) if !home.is_empty() => PathBuf::from(home).join(".local/share/herd"),
            _ => bail!("cannot tell where to keep state: set HERD_HOME"),
        },
    })
}

/// The state directory, created (mode 0700) if missing.
pub(crate) fn dir(explicit: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    let dir = path(explicit)?;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

/// The token stored at `path`, generated (256 random bits, hex) the first
/// time. The file stays private to its owner (0600): see [`read_private`]
/// and [`write_private`].
pub(crate) fn token(path: &Path) -> anyhow::Result<String> {
    let blank = match read_private(path)? {
        Some(text) if !text.trim().is_empty() => return Ok(text.trim().to_owned()),
        Some(_) => true,
        None => false,
    };
    let bytes: [u8; 32] = rand::random();
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    if write_private(path, format!("{token}\n").as_bytes(), blank)? {
        return Ok(token);
    }
    // Another process made the file first: its token is the one.
    match read_private(path)? {
        Some(text) if !text.trim().is_empty() => Ok(text.trim().to_owned()),
        _ => bail!("{} appeared empty while being created; start again", path.display()),
    }
}

/// Writes `contents` to `path` unless the file exists; the file is private
/// (0600) from the first byte.
pub(crate) fn create_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    write_private(path, contents, false).map(|_| ())
}

/// The text of the private file at `path`, `None` if there is none. A file
/// that others may read or write is first narrowed to 0600, with a warning:
/// it holds a secret.
fn read_private(path: &Path) -> anyhow::Result<Option<String>> {
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let mode = file.metadata().with_context(|| format!("cannot read {}", path.display()))?.permissions().mode();
    if mode & 0o077 != 0 {
        if let Err(e) = file.set_permissions(std::fs::Permissions::from_mode(0o600)) {
            bail!(
                "{} is open to other users (mode {:o}) and cannot be made private ({e}); run chmod 600 on it",
                path.display(),
                mode & 0o777
            );
        }
        tracing::warn!(path = %path.display(), was = %format!("{:o}", mode & 0o777), "secret file was open to other users; made it 0600");
    }
    let mut text = String::new();
    file.read_to_string(&mut text).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(Some(text))
}

/// Puts `contents` at `path` atomically: written to a temp file created
/// 0600 beside it, synced, then moved into place. With `replace` an
/// existing file is replaced; without, it is kept and `false` returned
/// (two first starts racing agree on one token).
fn write_private(path: &Path, contents: &[u8], replace: bool) -> anyhow::Result<bool> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("secret");
    let temp = path.with_file_name(format!(".{name}.{:016x}.tmp", rand::random::<u64>()));
    let placed = (|| {
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&temp)?;
        file.write_all(contents)?;
        file.sync_all()?;
        if replace {
            return std::fs::rename(&temp, path).map(|()| true);
        }
        match std::fs::hard_link(&temp, path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            // No hard links here: a plain move (which would replace a file
            // made meanwhile) is the best left.
            Err(_) if !path.exists() => std::fs::rename(&temp, path).map(|()| true),
            Err(e) => Err(e),
        }
    })();
    let _ = std::fs::remove_file(&temp);
    placed.with_context(|| format!("cannot write {}", path.display()))
}

/// The token `herd up` stored, if there is one (what client verbs use when
/// HERD_TOKEN is not set).
pub(crate) fn stored_token() -> Option<String> {
    let dir = std::env::var_os("HERD_HOME").map(PathBuf::from).or_else(|| dir(None).ok())?;
    stored_token_in(&dir)
}

fn stored_token_in(dir: &Path) -> Option<String> {
    let text = read_private(&dir.join("token")).ok()??;
    Some(text.trim().to_owned()).filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests;
