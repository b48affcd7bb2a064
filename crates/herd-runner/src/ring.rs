//! The last lines a server wrote to stderr, in a bounded number of bytes.
//!
//! A crashing server usually says why on stderr; keeping the tail lets an
//! operator read it after the fact (`servers_logs`) without the agent's
//! memory growing with a chatty child. Lines longer than the budget are
//! cut, and the runner's own notes (install output, exits, restarts) go in
//! the same buffer so one read tells the whole story. Credentials in URLs
//! (a git token in a clone's command line or error) are hidden before a
//! line is kept.

use herd_transport::lines::read_line_capped;
use parking_lot::Mutex;
use std::collections::VecDeque;
use tokio::io::{AsyncRead, BufReader};

/// A bounded tail of text lines.
#[derive(Debug)]
pub struct Ring {
    inner: Mutex<Inner>,
    budget: usize,
}

#[derive(Debug, Default)]
struct Inner {
    lines: VecDeque<String>,
    bytes: usize,
    dropped: u64,
}

impl Ring {
    /// A ring holding at most `budget` bytes of text.
    pub fn new(budget: usize) -> Self {
        Self { inner: Mutex::default(), budget: budget.max(64) }
    }

    /// Appends one line (without its newline), evicting the oldest lines
    /// beyond the budget.
    pub fn push(&self, line: &str) {
        // Before any cut, which could leave half a URL nothing recognises.
        let line = herd_proto::redact_urls_in(line);
        let limit = self.budget / 2;
        let line = if line.len() > limit {
            let mut cut = limit;
            while !line.is_char_boundary(cut) {
                cut -= 1;
            }
            format!("{}… [line cut at {limit} bytes]", &line[..cut])
        } else {
            line.into_owned()
        };
        let mut inner = self.inner.lock();
        inner.bytes += line.len();
        inner.lines.push_back(line);
        while inner.bytes > self.budget {
            let Some(old) = inner.lines.pop_front() else { break };
            inner.bytes -= old.len();
            inner.dropped += 1;
        }
    }

    /// Appends a note of the runner's own, marked as such.
    pub fn note(&self, text: &str) {
        for line in text.lines() {
            self.push(&format!("[herd] {line}"));
        }
    }

    /// Appends every line `reader` yields until it ends. Lines are read
    /// with a cap, so an endless line costs a bounded buffer.
    pub async fn fill_from<R: AsyncRead + Unpin>(&self, reader: R) {
        let mut reader = BufReader::new(reader);
        let mut line = Vec::new();
        loop {
            line.clear();
            match read_line_capped(&mut reader, &mut line, self.budget).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let text = String::from_utf8_lossy(&line);
            self.push(text.trim_end_matches(['\n', '\r']));
        }
    }

    /// The last `n` lines, oldest first, and how many older lines were
    /// evicted since the start.
    pub fn tail(&self, n: usize) -> (Vec<String>, u64) {
        let inner = self.inner.lock();
        let skip = inner.lines.len().saturating_sub(n);
        (inner.lines.iter().skip(skip).cloned().collect(), inner.dropped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_lines_within_the_budget() {
        let ring = Ring::new(100);
        for i in 0..50 {
            ring.push(&format!("line {i:03}"));
        }
        let (lines, dropped) = ring.tail(1000);
        assert!(lines.iter().map(String::len).sum::<usize>() <= 100);
        assert_eq!(lines.last().map(String::as_str), Some("line 049"));
        assert_eq!(dropped as usize + lines.len(), 50);
        assert_eq!(ring.tail(2).0, vec!["line 048".to_owned(), "line 049".to_owned()]);
    }

    #[test]
    fn cuts_long_lines_on_a_char_boundary() {
        let ring = Ring::new(64);
        ring.push(&"é".repeat(100));
        let (lines, _) = ring.tail(1);
        assert!(lines[0].contains("line cut at 32 bytes"), "{}", lines[0]);
        ring.note("exited\nwith 1");
        assert_eq!(ring.tail(2).0, vec!["[herd] exited".to_owned(), "[herd] with 1".to_owned()]);
    }

    #[test]
    fn url_credentials_are_hidden_even_in_lines_that_get_cut() {
        let ring = Ring::new(200);
        ring.note("running: git clone -- https://alice:pa55word@git.example/r.git /srv/src");
        let long = format!("fatal: https://alice:{}@git.example/r.git", "pa55word".repeat(20));
        ring.push(&long);
        let (lines, _) = ring.tail(2);
        assert_eq!(lines[0], "[herd] running: git clone -- https://alice:***@git.example/r.git /srv/src");
        assert!(lines[1].starts_with("fatal: https://alice:***@git.example/r.git"), "{}", lines[1]);
        assert!(!lines.concat().contains("pa55"), "{lines:?}");
    }
}
