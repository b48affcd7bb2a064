//! A server-sent events parser over a byte stream.
//!
//! Only what MCP uses: `data` (joined across lines), `id`, `retry`; comments
//! and other fields are skipped. Events over a size limit are an error, so a
//! hostile upstream cannot grow memory without bound.

use bytes::{Buf, BytesMut};

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Event {
    pub(crate) id: Option<String>,
    pub(crate) data: String,
    pub(crate) retry_ms: Option<u64>,
}

/// Incremental parser: feed bytes, take events.
#[derive(Default)]
pub(crate) struct Parser {
    buffer: BytesMut,
    current: Event,
    has_data: bool,
}

/// An event grew larger than the limit.
#[derive(Debug)]
pub(crate) struct TooLarge;

impl Parser {
    pub(crate) fn feed(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// The next complete event, if any.
    pub(crate) fn next_event(&mut self, max_bytes: usize) -> Result<Option<Event>, TooLarge> {
        loop {
            let Some(end) = self.buffer.iter().position(|&b| b == b'\n') else {
                if self.buffer.len() + self.current.data.len() > max_bytes {
                    return Err(TooLarge);
                }
                return Ok(None);
            };
            let mut line = self.buffer.split_to(end + 1);
            line.truncate(end);
            if line.last() == Some(&b'\r') {
                line.truncate(end - 1);
            }
            let line = String::from_utf8_lossy(&line).into_owned();
            if line.is_empty() {
                if self.has_data || self.current.id.is_some() {
                    self.has_data = false;
                    return Ok(Some(std::mem::take(&mut self.current)));
                }
                continue;
            }
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = line.split_once(':').map_or((line.as_str(), ""), |(f, v)| (f, v));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "data" => {
                    if self.has_data {
                        self.current.data.push('\n');
                    }
                    self.current.data.push_str(value);
                    self.has_data = true;
                    if self.current.data.len() > max_bytes {
                        return Err(TooLarge);
                    }
                }
                "id" => self.current.id = Some(value.to_owned()),
                "retry" => self.current.retry_ms = value.parse().ok(),
                _ => {}
            }
            // Keep the buffer compact for long streams.
            if self.buffer.is_empty() {
                self.buffer.clear();
            } else if self.buffer.capacity() > 1 << 20 && self.buffer.len() < 1024 {
                let rest = self.buffer.split();
                self.buffer = BytesMut::from(rest.chunk());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_split_multi_line_and_primed_events() {
        let mut p = Parser::default();
        p.feed(b": comment\nid: 1-1\nretry: 500\ndata: \n\nid: 1-2\ndata: {\"a\":");
        let prime = p.next_event(1000).unwrap().unwrap();
        assert_eq!((prime.id.as_deref(), prime.data.as_str(), prime.retry_ms), (Some("1-1"), "", Some(500)));
        assert!(p.next_event(1000).unwrap().is_none());
        p.feed(b"1}\r\ndata: x\r\n\r\n");
        let e = p.next_event(1000).unwrap().unwrap();
        assert_eq!(e.data, "{\"a\":1}\nx");
        assert_eq!(e.id.as_deref(), Some("1-2"));
    }

    #[test]
    fn refuses_oversized_events() {
        let mut p = Parser::default();
        p.feed(&[b'x'; 100]);
        assert!(p.next_event(50).is_err());
    }
}
