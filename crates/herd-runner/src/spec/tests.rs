#![allow(clippy::unwrap_used)]

use super::*;

fn spec(json: serde_json::Value) -> ServerSpec {
    serde_json::from_value(json).unwrap()
}

fn refused(json: serde_json::Value) -> String {
    spec(json).validate().unwrap_err().reason
}

#[test]
fn each_source_is_recognised() {
    let npm =
        spec(serde_json::json!({"name": "everything", "npx": "@modelcontextprotocol/server-everything@2025.9.25"}));
    assert!(matches!(npm.validate().unwrap(), Source::Npm { .. }));
    let py = spec(serde_json::json!({"name": "time", "uvx": "mcp-server-time[cli]>=0.6,<1"}));
    assert!(matches!(py.validate().unwrap(), Source::Pypi { .. }));
    let git = spec(serde_json::json!({"name": "g", "git": "https://example.org/x.git", "branch": "v1.2/rc"}));
    assert!(matches!(git.validate().unwrap(), Source::Git { .. }));
    let scp = spec(serde_json::json!({"name": "g", "git": "git@example.org:team/x.git"}));
    assert!(matches!(scp.validate().unwrap(), Source::Git { .. }));
    let dir = spec(serde_json::json!({"name": "d", "path": "/srv/mcp", "command": "node"}));
    assert!(matches!(dir.validate().unwrap(), Source::Dir { .. }));
    let cmd = spec(serde_json::json!({"name": "c", "command": "python3", "args": ["-u", "x.py"]}));
    assert_eq!(cmd.validate().unwrap(), Source::Command { program: "python3".into() });
}

#[test]
fn adversarial_names_are_refused() {
    for name in ["", "a;b", "$(id)", "a b", "-rf", "a\nb", "x__y", "'q'", "../x", &"n".repeat(33)] {
        let reason = refused(serde_json::json!({"name": name, "command": "true"}));
        assert!(reason.contains("name must be"), "{name:?}: {reason}");
    }
}

#[test]
fn adversarial_packages_urls_and_branches_are_refused() {
    let cases = [
        serde_json::json!({"name": "a", "npx": "pkg; rm -rf /"}),
        serde_json::json!({"name": "a", "npx": "$(touch /tmp/x)"}),
        serde_json::json!({"name": "a", "npx": "--registry=http://evil"}),
        serde_json::json!({"name": "a", "npx": "pkg\n--global"}),
        serde_json::json!({"name": "a", "npx": "\"pkg\""}),
        serde_json::json!({"name": "a", "npx": "../../etc"}),
        serde_json::json!({"name": "a", "uvx": "--index-url=http://evil"}),
        serde_json::json!({"name": "a", "uvx": "pkg @ https://evil/x.whl"}),
        serde_json::json!({"name": "a", "uvx": "`id`"}),
        serde_json::json!({"name": "a", "git": "ext::sh -c touch% /tmp/pwned"}),
        serde_json::json!({"name": "a", "git": "--upload-pack=touch /tmp/x"}),
        serde_json::json!({"name": "a", "git": "https://x/y.git; id"}),
        serde_json::json!({"name": "a", "git": "relative/path"}),
        serde_json::json!({"name": "a", "git": "https://x/y.git", "branch": "--upload-pack=id"}),
        serde_json::json!({"name": "a", "git": "https://x/y.git", "branch": "a..b"}),
        serde_json::json!({"name": "a", "git": "https://x/y.git", "branch": "$(id)"}),
        serde_json::json!({"name": "a", "command": "-c"}),
        serde_json::json!({"name": "a", "command": "sh\n-c"}),
        serde_json::json!({"name": "a", "command": "true", "env": {"A;B": "x"}}),
        serde_json::json!({"name": "a", "command": "true", "env": {"$(id)": "x"}}),
        serde_json::json!({"name": "a", "command": "true", "env": {"A": "x\u{0}y"}}),
        serde_json::json!({"name": "a", "npx": "p", "bin": "../../bin/sh"}),
        serde_json::json!({"name": "a", "npx": "p", "command": "sh"}),
        serde_json::json!({"name": "a", "npx": "p", "uvx": "q"}),
        serde_json::json!({"name": "a", "path": "relative"}),
        serde_json::json!({"name": "a"}),
    ];
    for case in cases {
        let parsed = spec(case.clone());
        assert!(parsed.validate().is_err(), "accepted {case}");
    }
}

#[test]
fn arguments_and_env_values_are_plain_data() {
    let odd = ["$(touch /tmp/x)", "a; b", "`id`", "'\"", "line\nbreak", "-leading"];
    let s = spec(serde_json::json!({
        "name": "c", "command": "echo", "args": odd, "env": {"V": "$(id); `x`\n"}
    }));
    assert!(s.validate().is_ok());
}

#[test]
fn unknown_fields_are_refused_and_defaults_apply() {
    let err = serde_json::from_value::<ServerSpec>(serde_json::json!({"name": "a", "command": "x", "shell": "y"}));
    assert!(err.is_err());
    let s = spec(serde_json::json!({"name": "a", "command": "x"}));
    assert!(s.autostart);
    assert_eq!(s.restart, Restart::OnFailure);
    assert_eq!(s.max_restarts(), 5);
    assert_eq!(s.restart_delay(0), Duration::from_secs(1));
    assert_eq!(s.restart_delay(3), Duration::from_secs(8));
    assert_eq!(s.restart_delay(30), Duration::from_secs(60));
}

#[test]
fn git_credentials_are_hidden_from_descriptions_and_errors() {
    let git = spec(serde_json::json!({"name": "g", "git": "https://alice:pa55word@example.org/x.git", "branch": "v1"}));
    assert_eq!(git.validate().unwrap().describe(), "git https://alice:***@example.org/x.git#v1");
    let reason = refused(serde_json::json!({"name": "g", "git": "gopher://alice:pa55word@example.org/x"}));
    assert!(reason.contains("gopher://alice:***@example.org/x"), "{reason}");
    let reason = refused(serde_json::json!({"name": "g", "git": "https://alice:pa55word@h/x.git --upload-pack=id"}));
    assert!(!reason.contains("pa55word"), "{reason}");
}

#[test]
fn durations_outside_their_range_are_refused_naming_the_field() {
    for bad in [1e300, -1.0, 86_400.5, 0.0] {
        let reason = refused(serde_json::json!({"name": "a", "command": "true", "call_timeout": bad}));
        assert!(reason.contains("call_timeout") && reason.contains("86400"), "{bad}: {reason}");
    }
    for bad in [1e300, -0.5, 61.0] {
        let reason = refused(serde_json::json!({"name": "a", "command": "true", "restart_delay": bad}));
        assert!(reason.contains("restart_delay") && reason.contains("60"), "{bad}: {reason}");
    }
    let ok = spec(serde_json::json!({"name": "a", "command": "true", "call_timeout": 86_400, "restart_delay": 0}));
    assert!(ok.validate().is_ok());
    assert_eq!(ok.call_timeout(), Some(Duration::from_secs(86_400)));
    assert_eq!(ok.restart_delay(3), Duration::ZERO);
    // A spec that skipped validation still yields durations, never a panic.
    let unchecked = ServerSpec { call_timeout: Some(f64::NAN), restart_delay: Some(1e300), ..ok };
    assert_eq!(unchecked.call_timeout(), None);
    assert_eq!(unchecked.restart_delay(0), Duration::from_secs(60));
}
