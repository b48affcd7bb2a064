//! Tests of `shell`'s result shaping: the text and the fields.

#![allow(clippy::unwrap_used)]

use super::*;
use crate::host::shape::capture::Capped;
use serde_json::Value;

fn captured(text: &str) -> Captured {
    let mut c = Capped::new(32);
    c.push(text.as_bytes());
    c.finish()
}

fn outcome(exit_code: i32, out: &str, err: &str, timed_out: bool) -> Outcome {
    Outcome {
        exit_code,
        signal: (exit_code > 128).then_some(exit_code - 128),
        stdout: captured(out),
        stderr: captured(err),
        timed_out,
        killed_leftovers: false,
        abandoned: false,
    }
}

fn text(r: &CallToolResult) -> String {
    serde_json::to_value(r).unwrap()["content"][0]["text"].as_str().unwrap().to_owned()
}

#[test]
fn text_ends_with_the_exit_code() {
    let r = result("echo out", &outcome(3, "out\n", "oops", false), Duration::from_secs(1), Duration::ZERO);
    assert_eq!(text(&r), "out\n--- stderr ---\noops\nexit code: 3");
    assert!(!r.is_error);
    let s = r.structured_content.unwrap();
    assert_eq!(
        (s["exit_code"].clone(), s["signal"].clone(), s["stderr_bytes"].clone()),
        (json!(3), json!(null), json!(4))
    );
}

#[test]
fn timeouts_are_errors_naming_the_command() {
    let r = result("sleep 30", &outcome(137, "", "", true), Duration::from_millis(500), Duration::ZERO);
    assert!(r.is_error);
    assert_eq!(text(&r), "[`sleep 30` timed out after 500ms: killed its process group]\nexit code: 137");
    let s = r.structured_content.unwrap();
    assert_eq!((s["timed_out"].clone(), s["signal"].clone()), (json!(true), json!(9)));
}

#[test]
fn messages_quote_a_short_form_of_the_command() {
    assert_eq!(brief("make test\n"), "make test");
    assert_eq!(brief("cd x\nmake"), "cd x...");
    assert_eq!(brief(&"x".repeat(100)), format!("{}...", "x".repeat(80)));
}

#[test]
fn arguments_are_checked() {
    let parse = |args: Value| Args::parse(args.as_object().cloned().unwrap());
    let (default, max) = (Duration::from_secs(120), Duration::from_secs(3600));
    let timeout = |t: Value| parse(json!({"command": "true", "timeout": t})).and_then(|a| a.timeout(default, max));
    assert_eq!(parse(json!({"command": "true"})).and_then(|a| a.timeout(default, max)).ok(), Some(default));
    assert_eq!(timeout(json!(0.5)).ok(), Some(Duration::from_millis(500)));
    for bad in [json!(0), json!(-1), json!(3601)] {
        assert!(timeout(bad.clone()).is_err(), "{bad}");
    }
    let err = parse(json!({"command": " ", "timeout": 0})).err().map(|e| e.to_string());
    assert_eq!(err.as_deref(), Some("invalid arguments: shell: command is empty"));
    let err = parse(json!({"cmd": "x"})).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.starts_with("invalid arguments: shell: unknown field `cmd`"), "{err}");
}

#[test]
fn timeouts_become_durations_without_panicking() {
    let args = |t: f64| Args { command: "true".into(), cwd: None, timeout: Some(t), env: None };
    let (default, max) = (Duration::from_secs(120), Duration::from_secs(3600));
    assert_eq!(args(1.5).timeout(default, max).ok(), Some(Duration::from_millis(1500)));
    for bad in [0.0, -1.0, 3600.5, 1e300, f64::NAN, f64::INFINITY] {
        let err = args(bad).timeout(default, max).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("timeout") && err.contains("3600"), "{bad}: {err}");
    }
    // At the very top of the range the seconds round past what a Duration
    // holds: the largest timeout allowed is the answer, not a panic.
    let top = Duration::MAX.as_secs_f64();
    assert_eq!(args(top).timeout(default, Duration::MAX).ok(), Some(Duration::MAX));
}
