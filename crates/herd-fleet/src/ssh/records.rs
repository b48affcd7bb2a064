//! Control records in a remote script's stderr.
//!
//! A script reports its results as lines `<nonce> <kind> <fields...>` on
//! stderr, interleaved with whatever the tools it runs print there (for
//! `shell`, the user's command's own stderr). The nonce is 128 random bits
//! chosen per call and written only into the script, which the command
//! cannot read, so the command cannot forge a record. [`Splitter`] takes
//! the records out of the stream as it arrives and passes every other byte
//! on untouched, wherever the records fall in it.
//!
//! Whatever the remote login shell's startup files print comes before the
//! script runs, on both streams. The script's first words are a `start`
//! record on stderr and the nonce alone on a line on stdout; everything
//! before them is dropped ([`Splitter`] and [`Gate`]), so a chatty
//! `.bashrc` cannot corrupt a file read or a command's output.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

/// A fresh nonce: 32 hex digits.
pub(super) fn nonce() -> String {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    // RandomState is seeded from the OS's randomness once per process and
    // varies per instance; mixing in time and a counter keeps nonces unique.
    let half = |salt: u64| {
        let mut h = RandomState::new().build_hasher();
        h.write_u64(salt);
        h.write_u64(seq);
        h.write_u128(now);
        h.finish()
    };
    format!("{:016x}{:016x}", half(1), half(2))
}

/// One record: its kind and fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Record {
    pub(super) kind: String,
    pub(super) fields: Vec<String>,
}

impl Record {
    fn parse(line: &[u8]) -> Self {
        let text = String::from_utf8_lossy(line);
        let mut words = text.split(' ').filter(|w| !w.is_empty()).map(str::to_owned);
        let kind = words.next().unwrap_or_default();
        Self { kind, fields: words.collect() }
    }

    /// Field `i`, or "".
    pub(super) fn field(&self, i: usize) -> &str {
        self.fields.get(i).map_or("", String::as_str)
    }

    /// Field `i` as a number.
    pub(super) fn num(&self, i: usize) -> Option<u64> {
        self.field(i).trim().parse().ok()
    }
}

/// Longest record kept; longer "records" are passed on as plain output.
const MAX_RECORD: usize = 1 << 20;

/// Separates records from the rest of a byte stream.
#[derive(Debug)]
pub(super) struct Splitter {
    tag: Vec<u8>,
    pending: Vec<u8>,
    records: Vec<Record>,
    /// Set by the `start` record: bytes before it are not passed on.
    open: bool,
}

impl Splitter {
    /// Looks for records tagged with `nonce`.
    pub(super) fn new(nonce: &str) -> Self {
        let mut tag = nonce.as_bytes().to_vec();
        tag.push(b' ');
        Self { tag, pending: Vec::new(), records: Vec::new(), open: false }
    }

    /// Feeds bytes; `out` receives everything that is not a record and
    /// follows the `start` record.
    pub(super) fn push(&mut self, bytes: &[u8], out: &mut impl FnMut(&[u8])) {
        self.pending.extend_from_slice(bytes);
        loop {
            match find(&self.pending, &self.tag) {
                Some(at) => {
                    if self.open {
                        out(&self.pending[..at]);
                    }
                    let rest = at + self.tag.len();
                    match self.pending[rest..].iter().position(|&b| b == b'\n') {
                        Some(nl) => {
                            let record = Record::parse(&self.pending[rest..rest + nl]);
                            self.open |= record.kind == "start";
                            self.records.push(record);
                            self.pending.drain(..rest + nl + 1);
                        }
                        None if self.pending.len() - at > MAX_RECORD => {
                            if self.open {
                                out(&self.pending[at..]);
                            }
                            self.pending.clear();
                            return;
                        }
                        None => {
                            self.pending.drain(..at);
                            return;
                        }
                    }
                }
                None => {
                    // Keep what could be the start of a tag split across reads.
                    let keep = (self.tag.len() - 1).min(self.pending.len());
                    let cut = self.pending.len() - keep;
                    if self.open {
                        out(&self.pending[..cut]);
                    }
                    self.pending.drain(..cut);
                    return;
                }
            }
        }
    }

    /// Whether a record of `kind` was seen.
    pub(super) fn saw(&self, kind: &str) -> bool {
        self.records.iter().any(|r| r.kind == kind)
    }

    /// Ends the stream: passes on what is left and returns the records.
    pub(super) fn finish(mut self, out: &mut impl FnMut(&[u8])) -> Vec<Record> {
        if self.open {
            out(&self.pending);
        }
        self.pending.clear();
        self.records
    }
}

/// Drops a stream's bytes up to and including the first `<nonce>\n`.
#[derive(Debug)]
pub(super) struct Gate {
    tag: Vec<u8>,
    pending: Vec<u8>,
    open: bool,
}

impl Gate {
    pub(super) fn new(nonce: &str) -> Self {
        let mut tag = nonce.as_bytes().to_vec();
        tag.push(b'\n');
        Self { tag, pending: Vec::new(), open: false }
    }

    /// Feeds bytes; `out` gets those after the tag and says whether to go on.
    pub(super) fn push(&mut self, bytes: &[u8], out: &mut impl FnMut(&[u8]) -> bool) -> bool {
        if self.open {
            return out(bytes);
        }
        self.pending.extend_from_slice(bytes);
        if let Some(at) = find(&self.pending, &self.tag) {
            self.open = true;
            let rest = self.pending.split_off(at + self.tag.len());
            self.pending = Vec::new();
            return out(&rest);
        }
        let keep = (self.tag.len() - 1).min(self.pending.len());
        self.pending.drain(..self.pending.len() - keep);
        true
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]]) -> (Vec<u8>, Vec<Record>) {
        let mut s = Splitter::new("abcd");
        let mut out = Vec::new();
        s.push(b"login noise\nabcd start\n", &mut |b: &[u8]| out.extend_from_slice(b));
        for c in chunks {
            s.push(c, &mut |b: &[u8]| out.extend_from_slice(b));
        }
        let records = s.finish(&mut |b: &[u8]| out.extend_from_slice(b));
        (out, records)
    }

    #[test]
    fn records_anywhere_are_taken_out() {
        let (out, recs) = split(&[b"err1 no newline", b"abcd exit 3 0 1\nmore\n", b"abcd done\n"]);
        assert_eq!(out, b"err1 no newlinemore\n");
        assert_eq!(recs.len(), 3);
        assert_eq!((recs[1].kind.as_str(), recs[1].num(0), recs[1].field(2)), ("exit", Some(3), "1"));
        assert_eq!(recs[2].kind, "done");
    }

    #[test]
    fn tags_and_records_split_across_reads() {
        let (out, recs) = split(&[b"x ab", b"cd o", b"k 12", b"\ny"]);
        assert_eq!(out, b"x y");
        assert_eq!(recs[1], Record { kind: "ok".into(), fields: vec!["12".into()] });
    }

    #[test]
    fn text_without_records_passes_through() {
        let (out, recs) = split(&[b"abc", b"abc", b"ab"]);
        assert_eq!((out.as_slice(), recs.len()), (&b"abcabcab"[..], 1));
        let (out, _) = split(&[b"abcd unterminated"]);
        assert_eq!(out, b"abcd unterminated", "an unfinished record is plain output");
    }

    #[test]
    fn output_before_the_start_is_dropped() {
        let mut s = Splitter::new("abcd");
        let mut out = Vec::new();
        s.push(b"motd abcd ok 1\n", &mut |b: &[u8]| out.extend_from_slice(b));
        s.push(b"abcd st", &mut |b: &[u8]| out.extend_from_slice(b));
        s.push(b"art\nkept", &mut |b: &[u8]| out.extend_from_slice(b));
        s.finish(&mut |b: &[u8]| out.extend_from_slice(b));
        assert_eq!(out, b"kept");

        let mut g = Gate::new("abcd");
        let mut out = Vec::new();
        for chunk in [&b"Welcome ab"[..], b"cd\nfile ", b"bytes abcd\n"] {
            assert!(g.push(chunk, &mut |b: &[u8]| {
                out.extend_from_slice(b);
                true
            }));
        }
        assert_eq!(out, b"file bytes abcd\n", "only the first tag opens the gate");
    }

    #[test]
    fn nonces_differ() {
        let (a, b) = (nonce(), nonce());
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
    }
}
