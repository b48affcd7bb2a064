use super::*;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Names in `dir` other than `keep`: temp files left behind.
fn leftovers(dir: &Path, keep: &str) -> Vec<String> {
    let names = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned());
    names.filter(|n| n != keep).collect()
}

#[test]
fn a_token_is_generated_once_and_private() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token");
    let first = token(&path).unwrap();
    assert_eq!(first.len(), 64);
    assert_eq!(token(&path).unwrap(), first);
    assert_eq!(mode(&path), 0o600);
    assert_eq!(leftovers(dir.path(), "token"), Vec::<String>::new());
}

#[test]
fn an_existing_token_open_to_others_is_kept_and_made_private() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token");
    std::fs::write(&path, "abc123\n").unwrap();
    set_mode(&path, 0o644);
    assert_eq!(token(&path).unwrap(), "abc123");
    assert_eq!(mode(&path), 0o600);
    set_mode(&path, 0o660);
    assert_eq!(stored_token_in(dir.path()).as_deref(), Some("abc123"));
    assert_eq!(mode(&path), 0o600, "client verbs reading it narrow it too");
}

#[test]
fn a_blank_token_file_open_to_others_is_replaced_by_a_private_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent.token");
    std::fs::write(&path, "\n").unwrap();
    set_mode(&path, 0o666);
    let generated = token(&path).unwrap();
    assert_eq!(generated.len(), 64);
    assert_eq!(std::fs::read_to_string(&path).unwrap().trim(), generated);
    assert_eq!(mode(&path), 0o600);
    assert_eq!(leftovers(dir.path(), "agent.token"), Vec::<String>::new());
}

#[test]
fn create_private_never_replaces_and_starts_private() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hosts.toml");
    create_private(&path, b"# first\n").unwrap();
    assert_eq!(mode(&path), 0o600);
    create_private(&path, b"# second\n").unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "# first\n");
    assert_eq!(leftovers(dir.path(), "hosts.toml"), Vec::<String>::new());
}
