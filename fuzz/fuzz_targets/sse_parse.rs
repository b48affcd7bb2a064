//! Protects herd's SSE parser (`herd-upstream/src/sse.rs`, compiled in here
//! from its source), which reads every event stream an upstream MCP server
//! (an agent, a supervised server's relay) sends to the hub.
//!
//! The first input byte picks a size limit, the next ones chunk sizes; the
//! rest is the stream. Properties:
//! - nothing panics;
//! - events do not depend on how the bytes were split: feeding the stream
//!   in the chosen chunks gives the same events as feeding it whole (up to
//!   the first size error, which both must meet at the same event);
//! - no event's data is larger than the limit.

#![no_main]

#[allow(dead_code, unreachable_pub)]
#[path = "../../crates/herd-upstream/src/sse.rs"]
mod sse;

use libfuzzer_sys::fuzz_target;
use sse::{Event, Parser};

/// Events of `chunks` fed one at a time, draining after each; `Err` with
/// the events before a size error.
fn parse<'a>(chunks: impl Iterator<Item = &'a [u8]>, limit: usize) -> Result<Vec<Event>, Vec<Event>> {
    let mut parser = Parser::default();
    let mut events = Vec::new();
    for chunk in chunks {
        parser.feed(chunk);
        loop {
            match parser.next_event(limit) {
                Ok(Some(event)) => {
                    assert!(event.data.len() <= limit, "event data over the limit: {} > {limit}", event.data.len());
                    events.push(event);
                }
                Ok(None) => break,
                Err(_) => return Err(events),
            }
        }
    }
    Ok(events)
}

fuzz_target!(|data: &[u8]| {
    let Some((&limit, rest)) = data.split_first() else { return };
    let limit = 16 + usize::from(limit) * 64;
    let Some((&splits, rest)) = rest.split_first() else { return };
    let (sizes, stream) = rest.split_at(usize::from(splits % 8).min(rest.len()));
    let whole = parse(std::iter::once(stream), limit);
    let mut cuts = Vec::new();
    let mut left = stream;
    for &size in sizes.iter().cycle().take(if sizes.is_empty() { 0 } else { 4096 }) {
        if left.is_empty() {
            break;
        }
        let (head, tail) = left.split_at((usize::from(size) + 1).min(left.len()));
        cuts.push(head);
        left = tail;
    }
    if !left.is_empty() {
        cuts.push(left);
    }
    let chunked = parse(cuts.into_iter(), limit);
    match (&whole, &chunked) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "chunking changed the events"),
        // A size error depends on how much was buffered when it was
        // checked, so only the events before it must agree.
        (Ok(a), Err(b)) | (Err(b), Ok(a)) | (Err(a), Err(b)) => {
            let n = a.len().min(b.len());
            assert_eq!(a[..n], b[..n], "chunking changed the events before a size error");
        }
    }
});
