use super::*;

fn env(pairs: &[(&str, &str)]) -> impl Iterator<Item = (OsString, OsString)> {
    pairs.iter().map(|(k, v)| (OsString::from(k), OsString::from(v))).collect::<Vec<_>>().into_iter()
}

fn withheld(child: &ChildEnv, pairs: &[(&str, &str)]) -> Vec<String> {
    child.withheld(env(pairs)).into_iter().map(|n| n.to_string_lossy().into_owned()).collect()
}

#[test]
fn herd_variables_and_named_sources_are_withheld_the_rest_kept() {
    let child = ChildEnv::default().hide_var("OLLAMA_KEY");
    let pairs = [
        ("PATH", "/usr/bin:/bin"),
        ("HERD_TOKEN", "t0ken-of-the-agent-itself"),
        ("HERD_LOG", "info"),
        ("OLLAMA_KEY", "sk-ollama"),
        ("HOME", "/root"),
        ("LANG", "info"),
    ];
    assert_eq!(withheld(&child, &pairs), ["HERD_TOKEN", "HERD_LOG", "OLLAMA_KEY"]);
}

#[test]
fn a_secret_value_is_withheld_under_any_name() {
    let child = ChildEnv::default().hide_var("GPU1_TOKEN").hide_value("from-the-command-line");
    let pairs = [
        ("HERD_STATE_KEY", "state-key-0123456789"),
        ("GPU1_TOKEN", "gpu"),
        ("COPY_OF_STATE_KEY", "state-key-0123456789"),
        ("HEADER", "Bearer state-key-0123456789"),
        ("SHORT_COPY", "gpu"),
        ("HAS_SHORT_INSIDE", "gpus"),
        ("CLI_COPY", "from-the-command-line"),
        ("PLAIN", "visible"),
    ];
    assert_eq!(
        withheld(&child, &pairs),
        ["HERD_STATE_KEY", "GPU1_TOKEN", "COPY_OF_STATE_KEY", "HEADER", "SHORT_COPY", "CLI_COPY"],
        "a short secret counts only as a whole value"
    );
}

#[test]
fn empty_secrets_withhold_nothing_else_and_debug_shows_no_value() {
    let child = ChildEnv::default().hide_value("").hide_var("UNSET_TOKEN").hide_value("s3cr3t-value");
    assert_eq!(withheld(&child, &[("HERD_TOKEN", ""), ("EMPTY", ""), ("PLAIN", "x")]), ["HERD_TOKEN"]);
    let shown = format!("{child:?}");
    assert!(shown.contains("UNSET_TOKEN") && shown.contains("1 hidden"), "{shown}");
    assert!(!shown.contains("s3cr3t"), "{shown}");
}
