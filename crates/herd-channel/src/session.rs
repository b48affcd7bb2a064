//! The agent's channel session id: made once, kept in its state directory,
//! so a reconnect (or a restart) is recognised by the hub as the same
//! agent coming back rather than another one taking its name.

use rand::RngCore as _;
use std::io::Write as _;
use std::path::Path;

/// The file under the state directory that holds the id.
const FILE: &str = "channel-session";

/// The session id kept in `home`, made and saved there the first time.
pub fn session_id(home: &Path) -> std::io::Result<String> {
    let path = home.join(FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) if valid(text.trim()) => return Ok(text.trim().to_owned()),
        Ok(_) => tracing::warn!(path = %path.display(), "unusable channel session id; making a new one"),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(err),
    }
    std::fs::create_dir_all(home)?;
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut file = std::fs::File::create(&path)?;
    file.write_all(id.as_bytes())?;
    file.sync_all()?;
    Ok(id)
}

/// Whether `id` is usable as a session id: 8 to 64 of `a-z A-Z 0-9 -`.
pub(crate) fn valid(id: &str) -> bool {
    (8..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_id_is_made_once_and_kept() {
        let home = tempfile::tempdir().unwrap();
        let first = session_id(home.path()).unwrap();
        assert!(valid(&first), "{first}");
        assert_eq!(session_id(home.path()).unwrap(), first);
        std::fs::write(home.path().join(FILE), "bad id!").unwrap();
        let replaced = session_id(home.path()).unwrap();
        assert_ne!(replaced, first);
        assert!(valid(&replaced));
    }
}
