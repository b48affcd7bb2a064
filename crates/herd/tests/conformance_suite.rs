//! Runs the official MCP conformance suite (`@modelcontextprotocol/conformance`
//! 0.1.16, installed by `scripts/test-deps`) against `herd conformance-server`
//! over Streamable HTTP, and requires every scenario to pass.
//!
//! This is the interoperability bar for herd's HTTP front, router and
//! in-process catalog: the suite acts as the TypeScript SDK client and checks
//! the wire behaviour scenario by scenario.
//!
//! The same suite then runs against `herd hub` with the conformance server
//! behind it as a host whose tools, resources and prompts are exposed under
//! their own names: every request, notification, sampling and elicitation
//! round trip crosses the hub's relay, which proves it.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;
use support::summary::{scenario_lines, total};
use support::{Deps, Finished, Herd, run_bounded};
use tokio::process::Command;

/// Every server scenario of 0.1.16 (30 active + 2 pending).
const SCENARIOS: [&str; 32] = [
    "server-initialize",
    "logging-set-level",
    "ping",
    "completion-complete",
    "tools-list",
    "tools-call-simple-text",
    "tools-call-image",
    "tools-call-audio",
    "tools-call-embedded-resource",
    "tools-call-mixed-content",
    "tools-call-with-logging",
    "tools-call-error",
    "tools-call-with-progress",
    "tools-call-sampling",
    "tools-call-elicitation",
    "json-schema-2020-12",
    "elicitation-sep1034-defaults",
    "server-sse-polling",
    "server-sse-multiple-streams",
    "elicitation-sep1330-enums",
    "resources-list",
    "resources-read-text",
    "resources-read-binary",
    "resources-templates-read",
    "resources-subscribe",
    "resources-unsubscribe",
    "prompts-list",
    "prompts-get-simple",
    "prompts-get-with-args",
    "prompts-get-embedded-resource",
    "prompts-get-with-image",
    "dns-rebinding-protection",
];

/// Checks passed by herd on a full run when this test was written.
const MIN_CHECKS: u32 = 46;

/// A full run takes a few seconds; scenarios time out after 60 s each.
const RUN_LIMIT: Duration = Duration::from_secs(300);

async fn run_suite(deps: &Deps, url: &str) -> Finished {
    let mut cmd = Command::new(&deps.node22);
    cmd.arg(&deps.conformance_01_js).args(["server", "--url", url, "--suite", "all"]);
    run_bounded(cmd, RUN_LIMIT).await
}

fn failed_scenarios(run: &Finished) -> Vec<String> {
    scenario_lines(&run.stdout).into_iter().filter(|s| !s.ok || s.failed > 0).map(|s| s.name).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn conformance_0_1_16_all_scenarios_pass() {
    let deps = Deps::load();
    let herd = Herd::start(&["conformance-server", "--insecure-no-auth", "--listen", "127.0.0.1:0"]).await;
    check_all_scenarios(&deps, &herd.url, &[], MIN_CHECKS).await;
}

/// Through the hub, every scenario runs all its checks, `server-sse-polling`
/// included: when the backend ends a call's stream to be polled, the hub
/// ends its client's stream the same way and the client resumes there.
#[tokio::test(flavor = "multi_thread")]
async fn conformance_0_1_16_passes_through_the_hub() {
    let deps = Deps::load();
    let (hub, _backend, _registry) = Herd::hub_over_conformance_server().await;
    check_all_scenarios(&deps, &hub.url, &[], MIN_CHECKS).await;
}

/// The same through a hub whose `conformance` host is reached over the
/// channel it opened: every exchange crosses that one HTTP/2 connection.
#[tokio::test(flavor = "multi_thread")]
async fn conformance_0_1_16_passes_through_the_hub_over_a_channel() {
    let deps = Deps::load();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hosts.toml");
    std::fs::write(&config, "[[hosts]]\nname = \"conformance\"\nchannel = true\nexpose = {}\n").unwrap();
    let config = config.to_str().unwrap();
    let mut hub = Herd::start(&["hub", "--config", config, "--insecure-no-auth", "--listen", "127.0.0.1:0"]).await;
    let base = hub.url.trim_end_matches("/mcp").to_owned();
    let env = [("HERD_HUB_TOKEN", "any-token-the-hub-accepts")];
    let backend = Herd::start_with_env(&["conformance-server", "--hub", &base], &env).await;
    assert_eq!(backend.url, "channel");
    let joined = hub.wait_for_log("host joined over its channel", Duration::from_secs(20)).await;
    assert_eq!((joined["host"].as_str(), joined["up"].as_bool()), (Some("conformance"), Some(true)), "{joined}");
    check_all_scenarios(&deps, &hub.url, &[], MIN_CHECKS).await;
}

/// Runs the whole suite against `url` and requires every scenario to pass
/// with at least one check (except `checkless` ones) and `min_checks` in all.
async fn check_all_scenarios(deps: &Deps, url: &str, checkless: &[&str], min_checks: u32) {
    let mut run = run_suite(deps, url).await;
    // A lone tools-call-sampling failure was seen about once in 25 runs even
    // against the reference server (CONFORMANCE.md): rerun that case once.
    if failed_scenarios(&run) == ["tools-call-sampling"] {
        eprintln!("tools-call-sampling failed alone; rerunning the suite once:\n{}", run.stdout);
        run = run_suite(deps, url).await;
    }
    let report = format!("status {}\nstdout:\n{}\nstderr:\n{}", run.status, run.stdout, run.stderr);

    let lines = scenario_lines(&run.stdout);
    for name in SCENARIOS {
        let line = lines.iter().find(|l| l.name == name);
        let line = line.unwrap_or_else(|| panic!("scenario {name} missing from the summary\n{report}"));
        let checked = line.passed > 0 || checkless.contains(&name);
        assert!(line.ok && line.failed == 0 && checked, "scenario {name} did not pass: {line:?}\n{report}");
    }
    assert_eq!(lines.len(), SCENARIOS.len(), "unexpected scenarios in the summary\n{report}");

    let (passed, failed) = total(&run.stdout).unwrap_or_else(|| panic!("no `Total:` line\n{report}"));
    assert_eq!(failed, 0, "{report}");
    assert!(passed >= min_checks, "only {passed} checks passed, expected >= {min_checks}\n{report}");
    assert!(run.status.success(), "suite exited with {}\n{report}", run.status);
}

#[test]
fn summary_parser_reads_passes_and_failures() {
    let out = "noise\n=== SUMMARY ===\n✓ ping: 1 passed, 0 failed\n✗ tools-list: 0 passed, 1 failed\n\
               ✗ x: 2 passed, 0 failed, 1 warnings\n\nTotal: 3 passed, 1 failed\n";
    let lines = scenario_lines(out);
    assert_eq!(lines.len(), 3);
    assert!(lines[0].ok && lines[0].passed == 1);
    assert!(!lines[1].ok && lines[1].failed == 1);
    assert!(!lines[2].ok && lines[2].passed == 2);
    assert_eq!(total(out), Some((3, 1)));
}
