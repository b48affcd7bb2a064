//! A streamed answer on its way to the client: each upstream event passed
//! on as soon as it is whole (the usage taken out when the client did not
//! ask for it), a stall between events ended with an error event, and the
//! audit record committed before the stream's last event (`[DONE]`) goes
//! out. Dropping the body (the client went away) drops the upstream body
//! with it, which resets the stream on the channel, and frees the place.

use super::error::{RelayError, Shape};
use super::record::LlmRecord;
use super::registry::Place;
use super::sse::{self, Splitter, Usage};
use bytes::{Bytes, BytesMut};
use herd_store::Outcome;
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use std::convert::Infallible;
use std::time::Duration;

/// Largest event held while waiting for its end.
const MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

/// The next data of `body`: `None` at its end.
pub(super) async fn next_data(body: &mut Incoming) -> Result<Option<Bytes>, String> {
    loop {
        match body.frame().await {
            None => return Ok(None),
            Some(Err(err)) => return Err(err.to_string()),
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data()
                    && !data.is_empty()
                {
                    return Ok(Some(data));
                }
            }
        }
    }
}

/// A stream being relayed.
pub(super) struct Relayed {
    pub(super) body: Incoming,
    /// Data read before the answer's head went to the client.
    pub(super) first: Option<Bytes>,
    pub(super) strip_usage: bool,
    pub(super) stall: Duration,
    pub(super) shape: Shape,
    pub(super) record: LlmRecord,
    pub(super) place: Place,
}

struct State {
    relayed: Option<Relayed>,
    splitter: Splitter,
    usage: Usage,
    /// The `[DONE]` event, held until the record is written.
    done: Option<Bytes>,
}

impl Relayed {
    /// The body the client gets.
    pub(super) fn into_body(self) -> axum::body::Body {
        let state = State { relayed: Some(self), splitter: Splitter::default(), usage: Usage::default(), done: None };
        axum::body::Body::from_stream(futures_util::stream::unfold(state, step))
    }
}

async fn step(mut state: State) -> Option<(Result<Bytes, Infallible>, State)> {
    loop {
        let relayed = state.relayed.as_mut()?;
        let next = match relayed.first.take() {
            Some(first) => Ok(Ok(Some(first))),
            None => tokio::time::timeout(relayed.stall, next_data(&mut relayed.body)).await,
        };
        match next {
            Ok(Ok(Some(chunk))) => {
                let out = state.pass(&chunk);
                if state.done.is_some() {
                    return Box::pin(state.end(out)).await;
                }
                if state.splitter.held() > MAX_EVENT_BYTES {
                    let error =
                        RelayError::Upstream(format!("an event of the answer is larger than {MAX_EVENT_BYTES} bytes"));
                    return Box::pin(state.fail(error, &out)).await;
                }
                if !out.is_empty() {
                    return Some((Ok(out.freeze()), state));
                }
            }
            Ok(Ok(None)) => {
                let out = match state.splitter.finish() {
                    Some(tail) => state.pass_events(vec![tail]),
                    None => BytesMut::new(),
                };
                return Box::pin(state.end(out)).await;
            }
            Ok(Err(err)) => {
                let error = RelayError::Upstream(format!("the answer broke off: {err}"));
                return Box::pin(state.fail(error, &[])).await;
            }
            Err(_) => {
                let stall = relayed.stall;
                let error = RelayError::Timeout(format!("no event for {stall:?}"));
                return Box::pin(state.fail(error, &[])).await;
            }
        }
    }
}

impl State {
    /// What of `chunk` goes to the client now.
    fn pass(&mut self, chunk: &[u8]) -> BytesMut {
        let events = self.splitter.push(chunk);
        self.pass_events(events)
    }

    /// Ends the stream with `out` and the held `[DONE]`, after writing the
    /// record. The upstream body goes with it (nothing after `[DONE]` is
    /// waited for).
    async fn end(mut self, mut out: BytesMut) -> Option<(Result<Bytes, Infallible>, State)> {
        let Relayed { mut record, place, .. } = self.relayed.take()?;
        record.usage(self.usage);
        record.finish(Outcome::Ok, None).await;
        drop(place);
        if let Some(done) = self.done.take() {
            out.extend_from_slice(&done);
        }
        (!out.is_empty()).then(|| (Ok(out.freeze()), self))
    }

    fn pass_events(&mut self, events: Vec<Bytes>) -> BytesMut {
        let strip = self.relayed.as_ref().is_some_and(|r| r.strip_usage);
        let mut out = BytesMut::new();
        for event in events {
            if is_done(&event) {
                self.done = Some(event);
                break;
            }
            let read = sse::read(event, strip);
            self.usage.merge(read.usage);
            if let Some(pass) = read.pass {
                out.extend_from_slice(&pass);
            }
        }
        out
    }

    /// Ends the stream with `before`, then an error event, after writing
    /// the record.
    async fn fail(mut self, error: RelayError, before: &[u8]) -> Option<(Result<Bytes, Infallible>, State)> {
        let Relayed { mut record, place, shape, .. } = self.relayed.take()?;
        record.usage(self.usage);
        record.finish(error.outcome(), Some(&error.to_string())).await;
        drop(place);
        let event = match shape {
            Shape::OpenAi => sse::error_event(&error.body()),
            Shape::Anthropic => Bytes::from(format!(
                "event: error\n{}",
                String::from_utf8_lossy(&sse::error_event(&error.anthropic_body()))
            )),
        };
        let mut out = BytesMut::from(before);
        out.extend_from_slice(&event);
        Some((Ok(out.freeze()), self))
    }
}

/// Whether `event` is OpenAI's end of stream, `data: [DONE]`.
fn is_done(event: &[u8]) -> bool {
    std::str::from_utf8(event).is_ok_and(|text| text.trim().strip_prefix("data:").is_some_and(|d| d.trim() == "[DONE]"))
}

#[cfg(test)]
mod tests {
    fn future_size<A, F: std::future::Future>(_: fn(A) -> F) -> usize {
        std::mem::size_of::<F>()
    }

    /// An open stream holds this future (boxed in its body) while it waits
    /// for its next event: the record's write at its end is boxed apart,
    /// not inlined into it (it was 6.6 KiB with the write inlined).
    #[test]
    fn a_waiting_stream_holds_a_small_future() {
        let size = future_size(super::step);
        assert!(size <= 2048, "the future of a relayed stream is {size} bytes");
    }
}
