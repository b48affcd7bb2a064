//! `$HERD_HOME`: where herd keeps state on this machine (tokens, the
//! hosts file of `herd up`). Default: `$XDG_DATA_HOME/herd`, else
//! `~/.local/share/herd`.

use anyhow::{Context as _, bail};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
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

/// The token stored at `path`, generated (256 random bits, hex, mode 0600)
/// the first time.
pub(crate) fn token(path: &Path) -> anyhow::Result<String> {
    match std::fs::read_to_string(path) {
        Ok(text) if !text.trim().is_empty() => return Ok(text.trim().to_owned()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
    let bytes: [u8; 32] = rand::random();
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    writeln!(file, "{token}").with_context(|| format!("cannot write {}", path.display()))?;
    Ok(token)
}

/// The token `herd up` stored, if there is one (what client verbs use when
/// HERD_TOKEN is not set).
pub(crate) fn stored_token() -> Option<String> {
    let dir = std::env::var_os("HERD_HOME").map(PathBuf::from).or_else(|| dir(None).ok())?;
    std::fs::read_to_string(dir.join("token")).ok().map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_generated_once_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        let first = token(&path).unwrap();
        assert_eq!(first.len(), 64);
        assert_eq!(token(&path).unwrap(), first);
        let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&path).unwrap().permissions());
        assert_eq!(mode & 0o777, 0o600);
    }
}
