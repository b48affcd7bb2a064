//! The files in `packaging/` are valid for the tools that read them:
//! systemd (`systemd-analyze verify`), launchd (`plistlib` parses the
//! plists, with the keys launchd needs), haproxy (`haproxy -c`), and the
//! commands they start are ones this `herd` accepts. The agent's unit
//! stays unsandboxed on purpose (sudo inside `shell` must keep working).

#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;
use support::{herd_bin, repo_root, run_bounded};
use tokio::process::Command;

const INSTALLED: &str = "/usr/local/bin/herd";

fn packaging() -> PathBuf {
    repo_root().join("packaging")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(packaging().join(name)).unwrap()
}

/// Runs the binary with `args` plus `--help`: clap refuses an unknown flag
/// met before `--help`, so success means every flag exists.
async fn flags_are_known(args: &[&str]) {
    let mut cmd = Command::new(herd_bin());
    cmd.args(args).arg("--help");
    let out = run_bounded(cmd, Duration::from_secs(30)).await;
    assert!(out.status.success(), "herd {args:?}: {out:?}");
}

/// The `herd ...` words after `marker` on the line holding it.
fn herd_args<'a>(line: &'a str, marker: &str) -> Vec<&'a str> {
    let (_, rest) = line.split_once(marker).unwrap();
    rest.split_whitespace().take_while(|w| !w.starts_with('>')).collect()
}

#[tokio::test]
async fn systemd_units_verify_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let mut units = Vec::new();
    for name in ["herd-hub.service", "herd-agent.service"] {
        let text = read(name);
        let exec = text.lines().find(|l| l.starts_with("ExecStart=")).unwrap();
        flags_are_known(&herd_args(exec, &format!("{INSTALLED} "))).await;
        // The installed path does not exist here: point it at the binary.
        let path = dir.path().join(name);
        std::fs::write(&path, text.replace(INSTALLED, herd_bin())).unwrap();
        units.push(path);
    }
    let mut cmd = Command::new("systemd-analyze");
    cmd.args(["verify", "--man=no"]).args(&units).current_dir(dir.path());
    let out = run_bounded(cmd, Duration::from_secs(60)).await;
    // Unknown keys and bad values are only warnings to systemd: any output fails.
    assert!(out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(), "{out:?}");
}

#[test]
fn the_hub_is_sandboxed_and_the_agent_is_not() {
    let hub = read("herd-hub.service");
    for line in ["ProtectSystem=strict", "NoNewPrivileges=yes", "PrivateTmp=yes", "CapabilityBoundingSet="] {
        assert!(hub.lines().any(|l| l == line), "hub unit lacks {line}");
    }
    let agent = read("herd-agent.service");
    for key in ["NoNewPrivileges=", "RestrictSUIDSGID=", "ProtectSystem=", "ProtectHome=", "PrivateTmp="] {
        assert!(
            !agent.lines().any(|l| l.starts_with(key)),
            "agent unit sets {key}: it would break commands run through it"
        );
    }
}

/// The plist as JSON, read by Python's `plistlib`.
async fn plist(path: &Path) -> serde_json::Value {
    let script = "import json, plistlib, sys; print(json.dumps(plistlib.load(open(sys.argv[1], 'rb'))))";
    let mut cmd = Command::new("python3");
    cmd.args(["-c", script]).arg(path);
    let out = run_bounded(cmd, Duration::from_secs(30)).await;
    assert!(out.status.success(), "plistlib cannot read {}: {out:?}", path.display());
    serde_json::from_str(&out.stdout).unwrap()
}

#[tokio::test]
async fn launchd_plists_parse_with_the_keys_launchd_needs() {
    for (name, role) in [("dev.herd.hub.plist", "hub"), ("dev.herd.agent.plist", "agent")] {
        let p = plist(&packaging().join(name)).await;
        assert_eq!(p["Label"].as_str(), name.strip_suffix(".plist"), "{name}");
        assert_eq!(p["RunAtLoad"], true, "{name}");
        assert_eq!(p["KeepAlive"]["SuccessfulExit"], false, "{name}: restarted when it fails");
        let program: Vec<&str> =
            p["ProgramArguments"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
        assert_eq!(program[..2], ["/bin/sh", "-c"], "{name}");
        let marker = format!("exec {INSTALLED} ");
        let args = herd_args(program[2], &marker);
        assert_eq!(args[0], role, "{name}");
        let args: Vec<&str> = args.iter().map(|a| if a.contains("$HOME") { "/tmp/agent.toml" } else { a }).collect();
        flags_are_known(&args).await;
    }
}

#[tokio::test]
async fn haproxy_accepts_the_example() {
    let haproxy = Path::new("/usr/sbin/haproxy");
    assert!(haproxy.exists(), "haproxy is missing: run scripts/test-deps");
    let mut cmd = Command::new(haproxy);
    cmd.arg("-c").arg("-f").arg(packaging().join("haproxy.cfg"));
    let out = run_bounded(cmd, Duration::from_secs(30)).await;
    assert!(out.status.success(), "{out:?}");
    assert!(!out.stdout.contains("WARNING") && !out.stderr.contains("WARNING"), "{out:?}");
    let cfg = read("haproxy.cfg");
    assert!(cfg.contains("http-check send meth GET uri /readyz"), "replicas are checked on /readyz");
    assert!(cfg.contains("balance roundrobin"), "requests are spread round robin");
    assert!(
        !cfg.contains("stick-table") && !cfg.contains("stick match"),
        "no stickiness: a replica forwards what another holds"
    );
}
