//! Picking lines out of a file in bounded memory.
//!
//! Lines before the requested one are counted, not stored, so reading the
//! end of a large log costs a scan but no memory; the lines returned stop at
//! the byte cap, on a line boundary when at least one whole line fits.

use crate::host::shape::capture::trim_partial_end;
use std::io::{self, BufRead};
use tokio_util::sync::CancellationToken;

/// Lines taken from a file.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Lines {
    /// The bytes of the lines, newlines included.
    pub content: Vec<u8>,
    /// Lines in `content` (a cut line counts as one).
    pub lines: u64,
    /// More content follows `content`.
    pub more: bool,
    /// `content` is the start of a single line longer than the cap.
    pub cut_line: bool,
    /// Lines in the whole file, when known (the scan reached its end).
    pub total_lines: Option<u64>,
}

impl Lines {
    /// Up to `limit` lines from the start of `bytes`, at most `max` bytes,
    /// by the rules of a scan of the file itself. For a path that fetches a
    /// file's bytes from the first wanted line on: all of them, or more than
    /// `max`. `total_lines` is `None`, since `bytes` is not the whole file.
    pub fn of(mut bytes: &[u8], limit: u64, max: usize) -> Self {
        let scanned = lines(&mut bytes, 1, limit, max, &CancellationToken::new());
        Self { total_lines: None, ..scanned.ok().flatten().unwrap_or_default() }
    }
}

/// Up to `limit` lines from line `first` (1-based), at most `max` bytes.
/// `None` when `token` was cancelled first.
pub(crate) fn lines(
    reader: &mut impl BufRead,
    first: u64,
    limit: u64,
    max: usize,
    token: &CancellationToken,
) -> io::Result<Option<Lines>> {
    let mut out = Lines::default();
    let mut line = 1u64;
    let mut at_line_start = true;
    let mut complete = 0usize;
    loop {
        if token.is_cancelled() {
            return Ok(None);
        }
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            if line >= first && out.content.len() > complete {
                out.lines += 1;
            }
            out.total_lines = Some(line - 1 + u64::from(!at_line_start));
            return Ok(Some(out));
        }
        let newline = buf.iter().position(|&b| b == b'\n');
        let (len, ends_line) = newline.map_or((buf.len(), false), |i| (i + 1, true));
        if line >= first {
            if out.lines == limit {
                out.more = true;
                return Ok(Some(out));
            }
            let room = max - out.content.len();
            if len > room {
                out.more = true;
                if complete > 0 {
                    out.content.truncate(complete);
                } else {
                    out.content.extend_from_slice(&buf[..room]);
                    out.lines = 1;
                    out.cut_line = true;
                }
                return Ok(Some(out));
            }
            out.content.extend_from_slice(&buf[..len]);
        }
        reader.consume(len);
        at_line_start = ends_line;
        if ends_line {
            if line >= first {
                out.lines += 1;
                complete = out.content.len();
            }
            line += 1;
        }
    }
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

    fn take(text: &str, first: u64, limit: u64, max: usize) -> Lines {
        // A tiny buffer makes lines span several fills.
        let mut r = io::BufReader::with_capacity(3, text.as_bytes());
        lines(&mut r, first, limit, max, &CancellationToken::new()).ok().flatten().unwrap_or_default()
    }

    #[test]
    fn windows_and_counts() {
        let l = take("a\nbb\nccc\ndddd", 2, 2, 100);
        assert_eq!((l.content.as_slice(), l.lines, l.more), (&b"bb\nccc\n"[..], 2, true));
        let l = take("a\nbb\nccc\ndddd", 3, 10, 100);
        assert_eq!((l.content.as_slice(), l.lines, l.more, l.total_lines), (&b"ccc\ndddd"[..], 2, false, Some(4)));
        let l = take("a\nb\n", 9, 10, 100);
        assert_eq!((l.lines, l.total_lines), (0, Some(2)));
    }

    #[test]
    fn byte_cap_stops_on_a_line_boundary_or_cuts_one_long_line() {
        let l = take("aaaa\nbbbb\ncccc\n", 1, 10, 12);
        assert_eq!((l.content.as_slice(), l.lines, l.more, l.cut_line), (&b"aaaa\nbbbb\n"[..], 2, true, false));
        let l = take("abcdefghij\nx\n", 1, 10, 4);
        assert_eq!((l.content.as_slice(), l.lines, l.more, l.cut_line), (&b"abcd"[..], 1, true, true));
    }

    #[test]
    fn bytes_from_the_first_line_on_scan_the_same() {
        let l = Lines::of(b"bb\nccc\ndddd", 2, 100);
        assert_eq!((l.content.as_slice(), l.lines, l.more), (&b"bb\nccc\n"[..], 2, true));
        let l = Lines::of(b"ccc\ndddd", 10, 100);
        assert_eq!((l.content.as_slice(), l.lines, l.more, l.total_lines), (&b"ccc\ndddd"[..], 2, false, None));
        assert_eq!(Lines::of(b"", 10, 100), Lines::default());
        let l = Lines::of(b"aaaa\nbbbb\ncccc\n", 10, 12);
        assert_eq!((l.content.as_slice(), l.lines, l.more, l.cut_line), (&b"aaaa\nbbbb\n"[..], 2, true, false));
        let l = Lines::of(b"abcdefghij\nx\n", 10, 4);
        assert_eq!((l.content.as_slice(), l.lines, l.more, l.cut_line), (&b"abcd"[..], 1, true, true));
        // Exactly max bytes with nothing after: all of it, no more.
        let l = Lines::of(b"abcd", 10, 4);
        assert_eq!((l.lines, l.more), (1, false));
    }

    #[test]
    fn cancelled_scans_give_up() {
        let token = CancellationToken::new();
        token.cancel();
        let mut r = io::BufReader::new(&b"x\n"[..]);
        assert!(matches!(lines(&mut r, 1, 1, 10, &token), Ok(None)));
    }

    #[test]
    fn binary_is_not_text() {
        assert_eq!(as_text(b"ok\n", false).as_deref(), Some("ok\n"));
        assert_eq!(as_text(b"a\0b", false), None);
        assert_eq!(as_text(&[0xff, 0xfe], false), None);
        assert_eq!(as_text("é".as_bytes().get(..1).unwrap_or_default(), true).as_deref(), Some(""));
    }
}
