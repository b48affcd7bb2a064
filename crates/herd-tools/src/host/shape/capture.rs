//! Bounded capture of a command's output.
//!
//! A command can print gigabytes; a tool result must stay small enough for a
//! model to read. [`Capped`] keeps the first and the last halves of its cap
//! (the start says what ran, the end usually says how it failed), counts
//! everything in between, and renders the elision visibly, in the same words
//! whichever path ran the command.

use std::collections::VecDeque;

/// The head and tail of a byte stream, with its total length.
#[derive(Debug)]
pub struct Capped {
    head: Vec<u8>,
    tail: VecDeque<u8>,
    head_cap: usize,
    tail_cap: usize,
    total: u64,
}

/// A captured stream, ready for a result.
#[derive(Debug)]
pub struct Captured {
    /// The kept text (lossy UTF-8), with an elision marker when cut.
    pub text: String,
    /// Bytes the stream produced.
    pub total: u64,
    /// Bytes left out of `text`.
    pub omitted: u64,
}

impl Capped {
    /// Keeps at most `cap` bytes in all.
    pub fn new(cap: usize) -> Self {
        let head_cap = cap / 2 + cap % 2;
        Self { head: Vec::new(), tail: VecDeque::new(), head_cap, tail_cap: cap / 2, total: 0 }
    }

    /// Appends bytes.
    pub fn push(&mut self, mut bytes: &[u8]) {
        self.total += bytes.len() as u64;
        let room = self.head_cap - self.head.len();
        if room > 0 {
            let n = room.min(bytes.len());
            self.head.extend_from_slice(&bytes[..n]);
            bytes = &bytes[n..];
        }
        if self.tail_cap == 0 {
            return;
        }
        if bytes.len() >= self.tail_cap {
            self.tail.clear();
            self.tail.extend(&bytes[bytes.len() - self.tail_cap..]);
        } else {
            self.tail.extend(bytes);
            let excess = self.tail.len().saturating_sub(self.tail_cap);
            self.tail.drain(..excess);
        }
    }

    /// The kept text and the counts.
    pub fn finish(self) -> Captured {
        let kept = (self.head.len() + self.tail.len()) as u64;
        let omitted = self.total - kept;
        let mut tail: Vec<u8> = self.tail.into();
        let text = if omitted == 0 {
            let mut all = self.head;
            all.append(&mut tail);
            String::from_utf8_lossy(&all).into_owned()
        } else {
            // The cut may fall inside a character: drop the partial ends
            // rather than render them as replacement characters.
            let head = trim_partial_end(&self.head);
            let skip = tail.iter().take(3).take_while(|b| (0x80..0xC0).contains(*b)).count();
            format!(
                "{}\n[... {omitted} bytes omitted ...]\n{}",
                String::from_utf8_lossy(head),
                String::from_utf8_lossy(&tail[skip..])
            )
        };
        Captured { text, total: self.total, omitted }
    }
}

/// `bytes` without an incomplete UTF-8 sequence at its end.
pub(super) fn trim_partial_end(bytes: &[u8]) -> &[u8] {
    match std::str::from_utf8(bytes) {
        Err(e) if e.error_len().is_none() => &bytes[..e.valid_up_to()],
        _ => bytes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_output_is_kept_whole() {
        let mut c = Capped::new(10);
        c.push(b"hello ");
        c.push(b"you");
        let out = c.finish();
        assert_eq!((out.text.as_str(), out.total, out.omitted), ("hello you", 9, 0));
    }

    #[test]
    fn long_output_keeps_head_and_tail() {
        let mut c = Capped::new(8);
        for chunk in [&b"abcdef"[..], b"ghijkl", b"mnopqrstuvwxyz"] {
            c.push(chunk);
        }
        let out = c.finish();
        assert_eq!(out.text, "abcd\n[... 18 bytes omitted ...]\nwxyz");
        assert_eq!((out.total, out.omitted), (26, 18));
    }

    #[test]
    fn cuts_inside_characters_are_trimmed() {
        let mut c = Capped::new(4);
        c.push("aé".as_bytes());
        c.push("xxxxxé!".as_bytes());
        let out = c.finish();
        assert_eq!(out.text, "a\n[... 7 bytes omitted ...]\n!");
    }
}
