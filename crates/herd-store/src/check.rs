//! The limits every value meets before it is written.
//!
//! Names, grants and labels come from operators' command lines and from
//! clients' requests; each is checked (or, for audit fields, cut to size)
//! here, so the database never holds something a later reader has to be
//! wary of, and no client can make a row arbitrarily large.

use crate::{Result, StoreError};
use std::borrow::Cow;

/// Most entries in a grant list.
pub(crate) const MAX_GRANTS: usize = 64;
/// Longest grant entry, in bytes.
pub(crate) const MAX_GRANT_LEN: usize = 128;

/// Whether `s` matches `^[a-zA-Z0-9_.@-]{1,64}$` (`@` for e-mail-like user
/// names).
pub(crate) fn name(field: &'static str, s: &str) -> Result<()> {
    if (1..=64).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'@'))
    {
        Ok(())
    } else {
        Err(StoreError::invalid(field, format!("{s:?}: use 1 to 64 of a-z A-Z 0-9 _ . - @")))
    }
}

/// A list of host or tool patterns (`gpu*`, `@lab`, `read_*`): at most
/// [`MAX_GRANTS`] entries of 1 to [`MAX_GRANT_LEN`] printable bytes, no
/// spaces or commas (a comma separates entries on the command line).
pub(crate) fn grants(field: &'static str, list: &[String]) -> Result<()> {
    if list.len() > MAX_GRANTS {
        return Err(StoreError::invalid(field, format!("{} entries; at most {MAX_GRANTS}", list.len())));
    }
    for g in list {
        if g.is_empty() || g.len() > MAX_GRANT_LEN || g.chars().any(|c| c.is_whitespace() || c.is_control() || c == ',')
        {
            return Err(StoreError::invalid(
                field,
                format!("{:?}: 1 to {MAX_GRANT_LEN} bytes without spaces or commas", truncate(g, 40)),
            ));
        }
    }
    Ok(())
}

/// Free text a person wrote (a token label): at most `max` bytes, no
/// control characters.
pub(crate) fn text(field: &'static str, s: &str, max: usize) -> Result<()> {
    if s.len() > max || s.chars().any(char::is_control) {
        return Err(StoreError::invalid(field, format!("at most {max} bytes, no control characters")));
    }
    Ok(())
}

/// `s` cut to at most `max` bytes at a character boundary, ending in `…`
/// when something was cut.
pub(crate) fn truncate(s: &str, max: usize) -> Cow<'_, str> {
    if s.len() <= max {
        return Cow::Borrowed(s);
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}…", &s[..end]))
}

/// [`truncate`] for an optional field.
pub(crate) fn truncate_opt(s: &Option<String>, max: usize) -> Option<Cow<'_, str>> {
    s.as_deref().map(|s| truncate(s, max))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_keeps_short_text_and_cuts_at_a_char_boundary() {
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("abcdef", 5), "ab…");
        let cut = truncate("ééééé", 6);
        assert!(cut.len() <= 6 && cut.ends_with('…'), "{cut}");
        assert_eq!(cut, "é…");
    }

    #[test]
    fn names_and_grants() {
        assert!(name("user", "alice@lab.example").is_ok());
        for bad in ["", "a b", "ünïcode", &"x".repeat(65), "a,b"] {
            assert!(name("user", bad).is_err(), "{bad:?}");
        }
        assert!(grants("hosts", &["gpu*".into(), "@lab".into(), "ws-[12]".into()]).is_ok());
        for bad in [vec!["".to_string()], vec!["a b".into()], vec!["a,b".into()], vec!["x".repeat(129)]] {
            assert!(grants("hosts", &bad).is_err(), "{bad:?}");
        }
        assert!(grants("tools", &vec!["t".to_string(); MAX_GRANTS + 1]).is_err());
    }
}
