//! `--path` naming a route herd serves itself (`/healthz`, `/metrics`) is
//! refused with a clear message before anything starts, for every role.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;
use support::{Finished, herd_bin, run_bounded};
use tokio::process::Command;

/// `herd ARGS...` on loopback without auth, expected to exit at once.
async fn refused(args: &[&str]) -> Finished {
    let mut cmd = Command::new(herd_bin());
    cmd.args(args).args(["--insecure-no-auth", "--listen", "127.0.0.1:0"]);
    cmd.env_remove("HERD_TOKEN").env_remove("HERD_LOG_FORMAT").env("HERD_LOG", "info");
    let run = run_bounded(cmd, Duration::from_secs(20)).await;
    assert!(!run.status.success(), "herd {args:?} started: {run:?}");
    assert!(!run.stderr.contains("panicked"), "{run:?}");
    assert!(!run.stderr.contains("serving MCP"), "{run:?}");
    run
}

#[tokio::test(flavor = "multi_thread")]
async fn a_path_that_collides_with_a_builtin_route_is_refused() {
    let run = refused(&["agent", "--path", "/healthz"]).await;
    assert!(run.stderr.contains("invalid MCP path \"/healthz\"") && run.stderr.contains("reserved"), "{run:?}");

    let dir = tempfile::tempdir().unwrap();
    let hosts = dir.path().join("hosts.toml");
    std::fs::write(&hosts, "").unwrap();
    let run = refused(&["hub", "--config", hosts.to_str().unwrap(), "--path", "/metrics"]).await;
    assert!(run.stderr.contains("invalid MCP path \"/metrics\"") && run.stderr.contains("reserved"), "{run:?}");

    for page in ["/ui", "/ui/api/hosts"] {
        let run = refused(&["hub", "--config", hosts.to_str().unwrap(), "--path", page]).await;
        assert!(run.stderr.contains(&format!("invalid MCP path \"{page}\"")) && run.stderr.contains("/ui"), "{run:?}");
    }

    let run = refused(&["agent", "--path", "/{id}"]).await;
    assert!(run.stderr.contains("invalid MCP path"), "{run:?}");
}
