//! The seed hub's registry format, read so an existing fleet can move over
//! without rewriting its file.
//!
//! One host per line: `name ssh_host lmcp_url token`, fields separated by
//! whitespace, `-` for a field that does not apply, trailing fields
//! optional. Blank lines and lines starting with `#` are skipped. Unlike
//! the seed, a malformed line is an error rather than silently dropped.

use super::{Draft, Host};
use crate::Secret;

/// The hosts in `text`, or the 1-based line and reason of the first bad one.
pub(super) fn parse(text: &str) -> Result<Vec<Draft>, (usize, String)> {
    let mut drafts = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = trimmed.split_whitespace().collect();
        let [name, rest @ ..] = fields.as_slice() else { continue };
        if rest.is_empty() || rest.len() > 3 {
            return Err((
                line,
                format!(
                    "expected `name ssh_host [lmcp_url [token]]` (use - for none), found {} field(s)",
                    fields.len()
                ),
            ));
        }
        let field = |i: usize| rest.get(i).filter(|v| **v != "-").map(|v| (*v).to_owned());
        let host = Host {
            name: (*name).to_owned(),
            ssh: field(0),
            url: field(1),
            token: field(2).map(Secret::new),
            tags: Vec::new(),
            ..Host::default()
        };
        drafts.push(Draft { host, line });
    }
    Ok(drafts)
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn dashes_and_missing_trailing_fields_mean_none() {
        let drafts = parse("a b\nc - http://c:1/mcp\n").unwrap();
        assert_eq!(drafts[0].host.ssh.as_deref(), Some("b"));
        assert_eq!(drafts[0].host.url, None);
        assert_eq!(drafts[1].host.ssh, None);
        assert_eq!(drafts[1].host.url.as_deref(), Some("http://c:1/mcp"));
        assert_eq!(drafts[1].host.token, None);
        assert_eq!(drafts[1].line, 2);
    }

    #[test]
    fn lone_names_and_extra_fields_are_errors() {
        assert_eq!(parse("# c\n\nlonely\n").unwrap_err().0, 3);
        let (line, message) = parse("a b c d e\n").unwrap_err();
        assert_eq!(line, 1);
        assert!(message.contains("found 5 field(s)"), "{message}");
    }
}
