#![allow(clippy::unwrap_used)]

use super::*;
use std::process::Command;

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git").args(args).current_dir(dir).output().unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A git URL's password is used for the clone and kept nowhere: not in the
/// stamp, not in the ring, not in the checkout's `.git/config`.
#[tokio::test]
async fn a_cloned_url_leaves_its_credentials_nowhere() {
    let work = tempfile::tempdir().unwrap();
    let repo = work.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    git(&repo, &["init", "--quiet"]);
    git(&repo, &["-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "--allow-empty", "-m", "x"]);
    // git reads `file://user:password@localhost/...` like any URL with
    // credentials, and clones without a server.
    let url = format!("file://alice:pa55word@localhost{}", repo.display());
    let spec: ServerSpec = serde_json::from_value(serde_json::json!({ "name": "g", "command": "true" })).unwrap();
    let source = Source::Git { url, branch: None, command: Some("true".into()) };
    let dir = work.path().join("servers/g");
    let ring = Ring::new(64 * 1024);
    let inherited = ChildEnv::default();
    let place = || Place { dir: &dir, ring: &ring, timeout: Duration::from_secs(60), inherited: &inherited };
    install(&spec, &source, place()).await.unwrap();

    let stamp = std::fs::read_to_string(dir.join(STAMP)).unwrap();
    assert_eq!(stamp, format!("git file://alice:***@localhost{}\n", repo.display()));
    let (lines, _) = ring.tail(100);
    assert!(lines.iter().any(|l| l.contains("running: git clone")), "{lines:?}");
    assert!(!lines.concat().contains("pa55word"), "{lines:?}");
    let config = std::fs::read_to_string(dir.join("src/.git/config")).unwrap();
    assert!(config.contains("url = file://alice:***@localhost"), "{config}");
    assert!(!config.contains("pa55word"), "{config}");

    // The stamp still matches: a restart does not clone again.
    install(&spec, &source, place()).await.unwrap();
    assert!(ring.tail(1).0[0].ends_with("already installed"), "{:?}", ring.tail(1).0);
}
