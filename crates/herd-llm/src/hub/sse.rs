//! Server-sent events as they pass through the relay: cut a byte stream
//! into whole events wherever its chunks happen to end, read the token
//! counts an event carries, and take the usage back out of a stream whose
//! client did not ask for it.
//!
//! Only events that mention `"usage"` are parsed at all; every other event
//! (text and tool-call deltas) passes as the bytes it arrived as.

use bytes::{Bytes, BytesMut};
use serde_json::Value;

/// Cuts a stream of bytes into whole events (each ending with a blank
/// line, `\n\n` or `\r\n\r\n`), holding at most one unfinished event.
#[derive(Debug, Default)]
pub(crate) struct Splitter {
    pending: BytesMut,
    /// Where to resume looking for the end of the pending event.
    scanned: usize,
}

impl Splitter {
    /// Adds `chunk` and returns the events it completed, each with its
    /// blank line.
    pub(crate) fn push(&mut self, chunk: &[u8]) -> Vec<Bytes> {
        self.pending.extend_from_slice(chunk);
        let mut events = Vec::new();
        while let Some(end) = event_end(&self.pending, self.scanned) {
            events.push(self.pending.split_to(end).freeze());
            self.scanned = 0;
        }
        // A terminator may straddle chunks: look again from 3 bytes back.
        self.scanned = self.pending.len().saturating_sub(3);
        events
    }

    /// What is left when the stream ends: an event without its blank line.
    pub(crate) fn finish(&mut self) -> Option<Bytes> {
        self.scanned = 0;
        (!self.pending.is_empty()).then(|| self.pending.split().freeze())
    }

    /// Bytes held for an unfinished event.
    pub(crate) fn held(&self) -> usize {
        self.pending.len()
    }
}

/// The end (exclusive) of the first event in `bytes`, looking from `from`:
/// just past a blank line (`\n\n` or `\n\r\n`).
fn event_end(bytes: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(at) = memchr::memchr(b'\n', bytes.get(i..)?) {
        let newline = i + at;
        match bytes.get(newline + 1)? {
            b'\n' => return Some(newline + 2),
            b'\r' if bytes.get(newline + 2) == Some(&b'\n') => return Some(newline + 3),
            _ => i = newline + 1,
        }
    }
    None
}

/// Token counts of an answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Usage {
    pub(crate) prompt: Option<u64>,
    pub(crate) completion: Option<u64>,
}

impl Usage {
    /// Takes the counts `other` knows over these (Anthropic streams give
    /// input and output tokens in different events).
    pub(crate) fn merge(&mut self, other: Usage) {
        self.prompt = other.prompt.or(self.prompt);
        self.completion = other.completion.or(self.completion);
    }

    /// The counts of a `usage` object (OpenAI or Anthropic names).
    pub(crate) fn of(usage: &Value) -> Usage {
        let count = |names: [&str; 2]| names.iter().find_map(|n| usage.get(*n).and_then(Value::as_u64));
        Usage {
            prompt: count(["prompt_tokens", "input_tokens"]),
            completion: count(["completion_tokens", "output_tokens"]),
        }
    }

    /// The counts in a whole JSON answer (`usage`, or Anthropic's
    /// `message.usage`).
    pub(crate) fn of_answer(answer: &Value) -> Usage {
        match answer.get("usage").or_else(|| answer.get("message").and_then(|m| m.get("usage"))) {
            Some(usage) if usage.is_object() => Usage::of(usage),
            _ => Usage::default(),
        }
    }
}

/// One event read for its usage.
pub(crate) struct Read {
    /// What to pass on: the event unchanged, changed, or nothing.
    pub(crate) pass: Option<Bytes>,
    /// The counts it carried.
    pub(crate) usage: Usage,
}

/// Reads `event` for token counts and, with `strip`, takes the usage out:
/// a usage-only chunk (`"choices": []`) is dropped whole, a `usage` member
/// of any other chunk removed.
pub(crate) fn read(event: Bytes, strip: bool) -> Read {
    if memchr::memmem::find(&event, b"\"usage\"").is_none() {
        return Read { pass: Some(event), usage: Usage::default() };
    }
    let Some(data) = data_of(&event) else { return Read { pass: Some(event), usage: Usage::default() } };
    let Ok(mut value) = serde_json::from_str::<Value>(&data) else {
        return Read { pass: Some(event), usage: Usage::default() };
    };
    let usage = Usage::of_answer(&value);
    if !strip || value.get("usage").is_none_or(Value::is_null) {
        return Read { pass: Some(event), usage };
    }
    let usage_only = value.get("choices").and_then(Value::as_array).is_some_and(Vec::is_empty);
    if usage_only {
        return Read { pass: None, usage };
    }
    if let Some(object) = value.as_object_mut() {
        object.remove("usage");
    }
    Read { pass: Some(Bytes::from(format!("data: {value}\n\n"))), usage }
}

/// The `data:` lines of an event, joined as the SSE spec says.
fn data_of(event: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(event).ok()?;
    let lines: Vec<&str> = text
        .lines()
        .filter_map(|line| line.strip_prefix("data:"))
        .map(|rest| rest.strip_prefix(' ').unwrap_or(rest))
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

/// The event that ends a stream broken after its first byte.
pub(crate) fn error_event(error: &Value) -> Bytes {
    Bytes::from(format!("data: {error}\n\n"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const STREAM: &str = "data: {\"choices\":[{\"delta\":{\"content\":\"he\"}}]}\n\n\
                          event: x\r\ndata: {\"choices\":[{\"delta\":{\"content\":\"llo\"}}]}\r\n\r\n\
                          data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2}}\n\n\
                          data: [DONE]\n\n";

    #[test]
    fn events_come_out_whole_wherever_the_chunks_end() {
        let whole: Vec<Bytes> = Splitter::default().push(STREAM.as_bytes());
        assert_eq!(whole.len(), 4);
        assert_eq!(whole.concat(), STREAM.as_bytes());
        let bytes = STREAM.as_bytes();
        for cut in 0..bytes.len() {
            for second in cut..bytes.len() {
                let mut splitter = Splitter::default();
                let mut events = splitter.push(&bytes[..cut]);
                events.extend(splitter.push(&bytes[cut..second]));
                events.extend(splitter.push(&bytes[second..]));
                assert_eq!(events, whole, "cut at {cut} and {second}");
                assert_eq!(splitter.held(), 0);
            }
        }
    }

    #[test]
    fn a_byte_at_a_time_still_gives_whole_events_and_the_tail_is_kept() {
        let mut splitter = Splitter::default();
        let mut events = Vec::new();
        for b in STREAM.as_bytes().iter().chain(b"data: tail") {
            events.extend(splitter.push(&[*b]));
        }
        assert_eq!(events.len(), 4);
        assert_eq!(splitter.finish().unwrap(), Bytes::from_static(b"data: tail"));
        assert_eq!(splitter.finish(), None);
    }

    #[test]
    fn usage_is_read_and_taken_out_only_when_asked() {
        let events = Splitter::default().push(STREAM.as_bytes());
        let kept = read(events[2].clone(), false);
        assert_eq!(kept.pass.as_ref(), Some(&events[2]));
        assert_eq!(kept.usage, Usage { prompt: Some(3), completion: Some(2) });
        let stripped = read(events[2].clone(), true);
        assert!(stripped.pass.is_none(), "a usage-only chunk is dropped");
        assert_eq!(stripped.usage.completion, Some(2));
        let delta = read(events[0].clone(), true);
        assert_eq!(delta.pass.as_ref(), Some(&events[0]), "a delta passes as it came");
        let mixed = Bytes::from_static(b"data: {\"choices\":[{\"delta\":{}}],\"usage\":{\"prompt_tokens\":1}}\n\n");
        let mixed = read(mixed, true);
        assert_eq!(mixed.pass.unwrap(), Bytes::from_static(b"data: {\"choices\":[{\"delta\":{}}]}\n\n"));
        assert_eq!(mixed.usage.prompt, Some(1));
    }

    #[test]
    fn anthropic_counts_come_from_two_events() {
        let start = Bytes::from_static(
            b"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":7}}}\n\n",
        );
        let delta = Bytes::from_static(
            b"event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":5}}\n\n",
        );
        let mut usage = Usage::default();
        usage.merge(read(start, false).usage);
        usage.merge(read(delta, false).usage);
        assert_eq!(usage, Usage { prompt: Some(7), completion: Some(5) });
    }
}
