//! Credentials taken out of URLs before a URL is shown, logged or stored.
//!
//! Operators put secrets in URLs: `https://user:token@git.example/r.git`,
//! `http://hub:secret@gpu1:7801/mcp`, `...?access_token=...`. Every place
//! that prints a URL (listings, error messages, log lines, files kept on
//! disk) shows it through [`redact_url`], so only the code that dials the
//! URL ever sees the secret. [`redact_urls_in`] does the same for URLs
//! inside free text, such as an installer's output.
//!
//! What is hidden:
//! - the password of `user:password@`, shown as `user:***@`;
//! - a bare `name@` on any scheme but `ssh` (services take a token as the
//!   user name: `https://<token>@github.com/...`), shown as `***@`;
//! - the value of every query parameter whose name mentions a token, key,
//!   secret, password, signature, credential or auth (`?token=***`).

use std::borrow::Cow;

/// What a hidden value is shown as.
const HIDDEN: &str = "***";

/// Query parameter names (lowercased) containing any of these carry a
/// secret.
const SECRET_PARAMS: [&str; 9] = ["token", "key", "secret", "passw", "pwd", "sig", "credential", "auth", "session"];

/// `url` with its credentials hidden (see the module docs); borrowed when
/// there is nothing to hide. Text without a `scheme://` is returned as is.
pub fn redact_url(url: &str) -> Cow<'_, str> {
    let Some(scheme_end) = url.find("://") else { return Cow::Borrowed(url) };
    let scheme = &url[..scheme_end];
    let authority_start = scheme_end + 3;
    let rest = &url[authority_start..];
    let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_len];
    let mut shown = String::new();
    let mut changed = false;
    let after_userinfo = match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            let kept = match userinfo.split_once(':') {
                Some((user, _)) => format!("{user}:{HIDDEN}"),
                None if userinfo.is_empty() || scheme.eq_ignore_ascii_case("ssh") => userinfo.to_owned(),
                None => HIDDEN.to_owned(),
            };
            changed |= kept != userinfo;
            shown.push_str(&url[..authority_start]);
            shown.push_str(&kept);
            authority_start + at
        }
        None => {
            shown.push_str(&url[..authority_start]);
            authority_start
        }
    };
    let tail = &url[after_userinfo..];
    let query = redact_query(tail);
    changed |= matches!(query, Cow::Owned(_));
    if !changed {
        return Cow::Borrowed(url);
    }
    shown.push_str(&query);
    Cow::Owned(shown)
}

/// `tail` (the URL from its host on) with secret query values hidden.
fn redact_query(tail: &str) -> Cow<'_, str> {
    let Some(start) = tail.find('?') else { return Cow::Borrowed(tail) };
    if tail[..start].contains('#') {
        return Cow::Borrowed(tail);
    }
    let end = tail[start..].find('#').map_or(tail.len(), |i| start + i);
    let mut shown = String::with_capacity(tail.len());
    shown.push_str(&tail[..=start]);
    let mut changed = false;
    for (i, pair) in tail[start + 1..end].split('&').enumerate() {
        if i > 0 {
            shown.push('&');
        }
        match pair.split_once('=') {
            Some((name, value)) if !value.is_empty() && is_secret_param(name) => {
                shown.push_str(name);
                shown.push('=');
                shown.push_str(HIDDEN);
                changed = true;
            }
            _ => shown.push_str(pair),
        }
    }
    if !changed {
        return Cow::Borrowed(tail);
    }
    shown.push_str(&tail[end..]);
    Cow::Owned(shown)
}

fn is_secret_param(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_PARAMS.iter().any(|word| name.contains(word))
}

/// `text` with the credentials of every URL in it hidden, as
/// [`redact_url`] does for one URL. A URL is a run of scheme characters,
/// `://`, and everything up to the next whitespace or quote.
pub fn redact_urls_in(text: &str) -> Cow<'_, str> {
    if !text.contains("://") {
        return Cow::Borrowed(text);
    }
    let mut shown = String::with_capacity(text.len());
    let mut copied = 0;
    let mut search = 0;
    while let Some(found) = text[search..].find("://") {
        let marker = search + found;
        let scheme_len = text[..marker]
            .bytes()
            .rev()
            .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
            .count();
        let start = (marker - scheme_len).max(copied);
        let end = text[marker..]
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '`' | '<' | '>'))
            .map_or(text.len(), |i| marker + i);
        if let Cow::Owned(url) = redact_url(&text[start..end]) {
            shown.push_str(&text[copied..start]);
            shown.push_str(&url);
            copied = end;
        }
        search = end.max(marker + 3);
    }
    if copied == 0 {
        return Cow::Borrowed(text);
    }
    shown.push_str(&text[copied..]);
    Cow::Owned(shown)
}

#[cfg(test)]
mod tests;
