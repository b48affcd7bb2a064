use super::*;

#[test]
fn passwords_in_userinfo_are_hidden_and_the_user_kept() {
    assert_eq!(redact_url("https://alice:s3cr3t@git.example/r.git"), "https://alice:***@git.example/r.git");
    assert_eq!(redact_url("http://hub:tok@127.0.0.1:7801/mcp"), "http://hub:***@127.0.0.1:7801/mcp");
    // A password holding `@` (not percent-encoded) is hidden whole.
    assert_eq!(redact_url("https://u:p@ss@h/x"), "https://u:***@h/x");
    assert_eq!(redact_url("https://u:@h/x"), "https://u:***@h/x");
}

#[test]
fn a_bare_user_is_hidden_except_for_ssh() {
    assert_eq!(redact_url("https://ghp_abc123@github.com/o/r.git"), "https://***@github.com/o/r.git");
    assert_eq!(redact_url("ssh://git@github.com/o/r.git"), "ssh://git@github.com/o/r.git");
    assert_eq!(redact_url("SSH://git@h/r"), "SSH://git@h/r");
}

#[test]
fn secret_query_values_are_hidden() {
    assert_eq!(
        redact_url("http://h/mcp?access_token=abc&x=1&API-KEY=k&Password=p#frag?token=keep"),
        "http://h/mcp?access_token=***&x=1&API-KEY=***&Password=***#frag?token=keep"
    );
    assert_eq!(redact_url("http://h/?sig=zz&session=s&empty_token="), "http://h/?sig=***&session=***&empty_token=");
    assert_eq!(redact_url("https://u:p@h/?secret=s"), "https://u:***@h/?secret=***");
}

#[test]
fn urls_without_secrets_are_borrowed_unchanged() {
    for url in [
        "http://127.0.0.1:7801/mcp",
        "https://registry.example/@scope/pkg?page=2",
        "git@github.com:o/r.git",
        "file:///srv/repo",
        "/abs/path",
        "",
        "http://",
        "x://@",
    ] {
        let shown = redact_url(url);
        assert!(matches!(shown, Cow::Borrowed(_)), "{url} -> {shown}");
    }
    // `@` only in the path is not userinfo.
    assert_eq!(redact_url("https://h/a@b"), "https://h/a@b");
}

#[test]
fn urls_inside_text_are_redacted_and_the_rest_kept() {
    let line = "running: git clone --depth 1 -- https://u:tok@h/r.git /srv/src";
    assert_eq!(redact_urls_in(line), "running: git clone --depth 1 -- https://u:***@h/r.git /srv/src");
    let quoted = "fatal: unable to access 'https://u:tok@h/r.git/': refused; see http://h/?token=t (retrying)";
    assert_eq!(
        redact_urls_in(quoted),
        "fatal: unable to access 'https://u:***@h/r.git/': refused; see http://h/?token=*** (retrying)"
    );
    let two = "a=http://x:1@h b=\"ssh://git@h\" c=git+https://y:2@h/p";
    assert_eq!(redact_urls_in(two), "a=http://x:***@h b=\"ssh://git@h\" c=git+https://y:***@h/p");
    for plain in ["no urls here", "http://h/ok and https://h2/fine", "://", "a://b://c"] {
        assert!(matches!(redact_urls_in(plain), Cow::Borrowed(_)), "{plain}");
    }
}

#[test]
fn multibyte_text_around_urls_is_kept_whole() {
    assert_eq!(redact_urls_in("é→https://ü:pässwörd@h/ö ✓"), "é→https://ü:***@h/ö ✓");
}
