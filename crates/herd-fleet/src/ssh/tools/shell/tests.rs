//! Tests of `shell`'s result shaping: the agent's text and fields.

#![allow(clippy::unwrap_used)]

use super::*;

fn captured(text: &str) -> Captured {
    let mut c = Capped::new(32);
    c.push(text.as_bytes());
    c.finish()
}

fn outcome(exit_code: i32, out: &str, err: &str, timed_out: bool) -> Outcome {
    Outcome {
        exit_code,
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
    let r = render("echo out", &outcome(3, "out\n", "oops", false), Duration::from_secs(1), Duration::ZERO);
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
    let r = render("sleep 30", &outcome(137, "", "", true), Duration::from_millis(500), Duration::ZERO);
    assert!(r.is_error);
    assert_eq!(text(&r), "[`sleep 30` timed out after 500ms: killed its process group]\nexit code: 137");
    let s = r.structured_content.unwrap();
    assert_eq!((s["timed_out"].clone(), s["signal"].clone()), (json!(true), json!(9)));
}

#[test]
fn long_commands_are_shortened() {
    assert_eq!(brief("a\nb"), "a...");
    assert_eq!(brief(&"x".repeat(100)), format!("{}...", "x".repeat(80)));
}
