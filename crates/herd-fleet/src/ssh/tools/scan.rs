//! Picking lines out of bytes, by the agent's `read_file` rules.
//!
//! The remote sends the bytes from the first requested line on (at most the
//! byte cap plus one); this applies the agent's scan to them: up to `limit`
//! lines, at most `max` bytes, stopping on a line boundary when at least one
//! whole line fits, and cutting a single longer line.

use super::super::capped::trim_partial_end;

/// Lines taken from the bytes.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Lines {
    /// The bytes of the lines, newlines included.
    pub(super) content: Vec<u8>,
    /// Lines in `content` (a cut line counts as one).
    pub(super) lines: u64,
    /// More content follows `content`.
    pub(super) more: bool,
    /// `content` is the start of a single line longer than the cap.
    pub(super) cut_line: bool,
}

/// Up to `limit` lines from the start of `bytes`, at most `max` bytes.
/// `bytes` is everything from the first line on, or more than `max` bytes of it.
pub(super) fn lines(bytes: &[u8], limit: u64, max: usize) -> Lines {
    let mut out = Lines::default();
    let mut rest = bytes;
    while !rest.is_empty() {
        if out.lines == limit {
            out.more = true;
            return out;
        }
        let len = rest.iter().position(|&b| b == b'\n').map_or(rest.len(), |i| i + 1);
        let room = max - out.content.len();
        if len > room {
            out.more = true;
            if out.content.is_empty() {
                out.content.extend_from_slice(&rest[..room]);
                out.lines = 1;
                out.cut_line = true;
            }
            return out;
        }
        out.content.extend_from_slice(&rest[..len]);
        out.lines += 1;
        rest = &rest[len..];
    }
    out
}

/// `bytes` as text, or `None` for binary content (NUL bytes, or not UTF-8).
/// A cut line may end inside a character; that partial character is dropped.
pub(super) fn as_text(bytes: &[u8], cut_line: bool) -> Option<String> {
    let bytes = if cut_line { trim_partial_end(bytes) } else { bytes };
    if bytes.contains(&0) {
        return None;
    }
    std::str::from_utf8(bytes).ok().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_and_counts() {
        let l = lines(b"bb\nccc\ndddd", 2, 100);
        assert_eq!((l.content.as_slice(), l.lines, l.more), (&b"bb\nccc\n"[..], 2, true));
        let l = lines(b"ccc\ndddd", 10, 100);
        assert_eq!((l.content.as_slice(), l.lines, l.more), (&b"ccc\ndddd"[..], 2, false));
        assert_eq!(lines(b"", 10, 100), Lines::default());
    }

    #[test]
    fn byte_cap_stops_on_a_line_boundary_or_cuts_one_long_line() {
        let l = lines(b"aaaa\nbbbb\ncccc\n", 10, 12);
        assert_eq!((l.content.as_slice(), l.lines, l.more, l.cut_line), (&b"aaaa\nbbbb\n"[..], 2, true, false));
        let l = lines(b"abcdefghij\nx\n", 10, 4);
        assert_eq!((l.content.as_slice(), l.lines, l.more, l.cut_line), (&b"abcd"[..], 1, true, true));
        // Exactly max bytes with nothing after: all of it, no more.
        let l = lines(b"abcd", 10, 4);
        assert_eq!((l.lines, l.more), (1, false));
    }

    #[test]
    fn binary_is_not_text() {
        assert_eq!(as_text(b"ok\n", false).as_deref(), Some("ok\n"));
        assert_eq!(as_text(b"a\0b", false), None);
        assert_eq!(as_text(&[0xff, 0xfe], false), None);
        assert_eq!(as_text("é".as_bytes().get(..1).unwrap_or_default(), true).as_deref(), Some(""));
    }
}
