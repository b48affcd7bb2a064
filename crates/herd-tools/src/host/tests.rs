//! Tests of the host catalog as a whole: the tool list and the defaults.

#![allow(clippy::unwrap_used)]

use super::testutil::host;
use herd_proto::model::Tool;
use herd_proto::{Backend, Context, ListKind};

#[tokio::test]
async fn lists_the_host_tools_fully_described() {
    let tools: Vec<Tool> = host()
        .list(ListKind::Tools, Context::detached())
        .await
        .unwrap()
        .iter()
        .map(|raw| serde_json::from_str(raw.get()).unwrap())
        .collect();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["shell", "shell_bg", "read_file", "write_file", "edit_file", "list_dir", "search_files"]);
    for t in &tools {
        assert!(!t.description.is_empty(), "{}", t.name);
        assert_eq!(t.input_schema["type"], "object", "{}", t.name);
        assert_eq!(t.output_schema.as_ref().unwrap()["type"], "object", "{}", t.name);
        let a = t.annotations.as_ref().unwrap();
        let read_only = matches!(t.name.as_str(), "read_file" | "list_dir" | "search_files");
        assert_eq!(a.read_only_hint, Some(read_only), "{}", t.name);
        assert_eq!(a.destructive_hint, Some(!read_only), "{}", t.name);
        assert!(a.idempotent_hint.is_some(), "{}", t.name);
    }
    let shell = &tools[0];
    assert!(shell.description.contains("32768 bytes"), "the cap is stated: {}", shell.description);
}

#[test]
fn defaults_are_sensible() {
    let c = super::HostConfig::default();
    assert_eq!(c.default_timeout.as_secs(), 120);
    assert!(c.shell.is_absolute() || !c.shell.as_os_str().is_empty());
    assert!(c.bg_log_dir.ends_with(format!("herd-bg-{}", nix::unistd::getuid())));
    // One session's share leaves threads for others, even before the pool grows.
    assert!(c.file_jobs_per_session < c.file_threads && c.file_threads < c.max_file_threads, "{c:?}");
}
