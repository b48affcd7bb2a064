//! Resumable SSE streams.
//!
//! A [`ReplayStream`] is the log of one SSE stream: the events sent on it,
//! numbered, kept until it ends plus a retention period. Connections are mere
//! readers of that log from a position, so a client that reconnects with
//! `Last-Event-ID` picks up right after the last event it saw, and a handler
//! keeps working while no connection is attached.
//!
//! A log is bounded in events and in bytes ([`ReplayLimits`]); the oldest
//! events go first, the newest always stays (a request's answer is the last
//! event of its stream, so it is never dropped before it could be read). A
//! reader that asks for events no longer held (a resume from an old
//! `Last-Event-ID`, or a reader slower than the log's bounds) is told so in
//! band: it gets a `notifications/message` at level `warning` from logger
//! `herd` naming the lost event ids, carrying the id of the last lost event,
//! then the events still held. An HTTP error status was the alternative, but
//! the SDK clients retry a failed resume a couple of times and then give up
//! silently, leaving the request hanging; a notification is valid on any
//! stream of any revision, and a client that resumes from the notice's id
//! is not told twice.
//!
//! Each session's streams live in its [`Streams`] (attached to the router's
//! session as a transport extension). A new standalone (GET) stream
//! replaces the previous one, whose log is freed at once.

use bytes::Bytes;
use futures_util::Stream;
use herd_router::{Closed, Outbox, Session};
use parking_lot::Mutex;
use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::Notify;

/// The streams of one session.
#[derive(Default)]
pub(crate) struct Streams {
    next_id: AtomicU64,
    held: Mutex<Held>,
    standalone: Mutex<Option<Arc<ReplayStream>>>,
}

/// Most streams a session may hold for resumption at once.
const MAX_STREAMS_PER_SESSION: usize = 1024;

/// The streams kept for resumption. At the cap, a new stream pushes out
/// the stream that ended first, else the oldest: both found without a
/// scan, since a busy session sits at the cap for as long as it is busy.
#[derive(Default)]
struct Held {
    /// By id; ids grow, so the first is the oldest.
    open: BTreeMap<u64, Arc<ReplayStream>>,
    /// Ids of streams that ended, in the order they ended. May name
    /// streams already forgotten; those are skipped.
    ended: VecDeque<u64>,
}

impl Held {
    fn make_room(&mut self) {
        while self.open.len() >= MAX_STREAMS_PER_SESSION {
            let victim = loop {
                match self.ended.pop_front() {
                    Some(id) if self.open.contains_key(&id) => break Some(id),
                    Some(_) => {}
                    None => break self.open.keys().next().copied(),
                }
            };
            match victim {
                Some(id) => self.open.remove(&id),
                None => return,
            };
        }
    }

    fn forget(&mut self, id: u64) {
        self.open.remove(&id);
        while self.ended.front().is_some_and(|id| !self.open.contains_key(id)) {
            self.ended.pop_front();
        }
        if self.ended.len() > 2 * MAX_STREAMS_PER_SESSION {
            let open = &self.open;
            self.ended.retain(|id| open.contains_key(id));
        }
    }
}

impl Streams {
    /// Opens a stream; `prime` writes an empty first event with the retry
    /// advice so the client can reconnect even before the first message.
    pub(crate) fn open(&self, limits: ReplayLimits, retry_ms: u64, prime: bool) -> Arc<ReplayStream> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let stream = Arc::new(ReplayStream::new(id, limits, retry_ms));
        if prime {
            stream.push_priming();
        }
        let mut held = self.held.lock();
        held.make_room();
        held.open.insert(id, stream.clone());
        stream
    }

    /// The stream an event id belongs to and the position after it.
    pub(crate) fn resume(&self, last_event_id: &str) -> Option<(Arc<ReplayStream>, u64)> {
        let (stream, seq) = last_event_id.split_once('-')?;
        let stream = self.held.lock().open.get(&stream.parse().ok()?)?.clone();
        Some((stream, seq.parse().ok()?))
    }

    /// Forgets a stream after `retention` once it ended.
    pub(crate) fn retire(self: &Arc<Self>, stream: &Arc<ReplayStream>, retention: Duration) {
        let id = stream.id;
        self.held.lock().ended.push_back(id);
        let streams = Arc::downgrade(self);
        tokio::spawn(async move {
            tokio::time::sleep(retention).await;
            if let Some(streams) = streams.upgrade() {
                streams.held.lock().forget(id);
            }
        });
    }

    /// Replaces the standalone stream; the previous one ends, and its log
    /// is forgotten at once (its reader, if any, sends what it has left).
    pub(crate) fn replace_standalone(&self, stream: Arc<ReplayStream>) {
        let old = self.standalone.lock().replace(stream);
        if let Some(old) = old {
            old.finish();
            self.held.lock().forget(old.id);
        }
    }

    /// Ends every stream (the session ended).
    pub(crate) fn finish_all(&self) {
        for stream in self.held.lock().open.values() {
            stream.finish();
        }
    }
}

/// The log of one SSE stream.
pub(crate) struct ReplayStream {
    id: u64,
    state: Mutex<State>,
    changed: Notify,
    retry_ms: u64,
}

/// How much of a stream is kept for resumption.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReplayLimits {
    /// Events at most.
    pub(crate) events: usize,
    /// Bytes of events at most (the newest event is kept whatever its size).
    pub(crate) bytes: usize,
}

struct State {
    events: VecDeque<(u64, Bytes)>,
    /// Bytes held in `events`.
    bytes: usize,
    limits: ReplayLimits,
    next_seq: u64,
    /// Event 1 is the priming event, which carries nothing to miss.
    primed: bool,
    finished: bool,
    /// The last event before the latest early close: connections that began
    /// before it end there, and the client resumes after it.
    cut: u64,
}

impl State {
    /// Appends an event, then drops the oldest beyond the limits.
    fn append(&mut self, frame: Bytes) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.bytes += frame.len();
        self.events.push_back((seq, frame));
        while self.events.len() > 1 && (self.events.len() > self.limits.events || self.bytes > self.limits.bytes) {
            if let Some((_, old)) = self.events.pop_front() {
                self.bytes -= old.len();
            }
        }
    }

    /// The events after `cursor` that are no longer held, if any.
    fn lost_after(&self, cursor: u64) -> Option<(u64, u64)> {
        let first_held = self.events.front().map_or(self.next_seq, |(seq, _)| *seq);
        let from = if self.primed && cursor == 0 { 2 } else { cursor + 1 };
        (from < first_held).then(|| (from, first_held - 1))
    }
}

impl ReplayStream {
    fn new(id: u64, limits: ReplayLimits, retry_ms: u64) -> Self {
        let limits = ReplayLimits { events: limits.events.max(1), bytes: limits.bytes };
        Self {
            id,
            state: Mutex::new(State {
                events: VecDeque::new(),
                bytes: 0,
                limits,
                next_seq: 1,
                primed: false,
                finished: false,
                cut: 0,
            }),
            changed: Notify::new(),
            retry_ms,
        }
    }

    fn push_priming(&self) {
        let mut state = self.state.lock();
        let frame = format!("id: {}-{}\nretry: {}\ndata: \n\n", self.id, state.next_seq, self.retry_ms);
        state.primed = state.next_seq == 1;
        state.append(Bytes::from(frame));
    }

    /// Appends one JSON-RPC message as an event.
    pub(crate) fn push(&self, message: &str) -> Result<(), Closed> {
        {
            let mut state = self.state.lock();
            if state.finished {
                return Err(Closed);
            }
            let mut frame = String::with_capacity(message.len() + 32);
            let _ = write!(frame, "id: {}-{}\ndata: ", self.id, state.next_seq);
            frame.push_str(message);
            frame.push_str("\n\n");
            state.append(Bytes::from(frame));
        }
        self.changed.notify_waiters();
        Ok(())
    }

    /// Marks the stream complete: readers end after the last event.
    pub(crate) fn finish(&self) {
        self.state.lock().finished = true;
        self.changed.notify_waiters();
    }

    /// Ends the connections reading up to now (with retry advice) while
    /// the stream goes on; the client resumes it with `Last-Event-ID`.
    pub(crate) fn disconnect_readers(&self) {
        {
            let mut state = self.state.lock();
            state.cut = state.next_seq - 1;
        }
        self.changed.notify_waiters();
    }

    /// A body of SSE bytes from after position `after` until the stream
    /// ends, the session ends, or readers are disconnected.
    pub(crate) fn reader(
        self: Arc<Self>,
        after: u64,
        session: Arc<Session>,
        keep_alive: Duration,
    ) -> impl Stream<Item = Result<Bytes, std::convert::Infallible>> + Send + 'static {
        let reader = Reader { stream: self, start: after, cursor: after, session, keep_alive, done: false };
        futures_util::stream::unfold(reader, |mut r| async move { r.next().await.map(|b| (Ok(b), r)) })
    }
}

struct Reader {
    stream: Arc<ReplayStream>,
    start: u64,
    cursor: u64,
    session: Arc<Session>,
    keep_alive: Duration,
    done: bool,
}

impl Reader {
    async fn next(&mut self) -> Option<Bytes> {
        if self.done {
            return None;
        }
        loop {
            let notified = self.stream.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let state = self.stream.state.lock();
                if let Some((from, to)) = state.lost_after(self.cursor) {
                    self.cursor = to;
                    tracing::debug!(
                        session = self.session.id(),
                        stream = self.stream.id,
                        lost = to - from + 1,
                        "a reader asked for events no longer held; telling the client"
                    );
                    return Some(lost_notice(self.stream.id, from, to));
                }
                let cut_applies = state.cut > self.start;
                let limit = if cut_applies { state.cut } else { u64::MAX };
                let pending: Vec<&(u64, Bytes)> =
                    state.events.iter().filter(|(seq, _)| *seq > self.cursor && *seq <= limit).collect();
                if !pending.is_empty() {
                    self.cursor = pending.last().map_or(self.cursor, |(seq, _)| *seq);
                    if pending.len() == 1 {
                        return Some(pending[0].1.clone());
                    }
                    let mut chunk = Vec::with_capacity(pending.iter().map(|(_, b)| b.len()).sum());
                    for (_, bytes) in pending {
                        chunk.extend_from_slice(bytes);
                    }
                    return Some(Bytes::from(chunk));
                }
                if cut_applies && self.cursor >= state.cut {
                    self.done = true;
                    return Some(Bytes::from(format!("retry: {}\n\n", self.stream.retry_ms)));
                }
                if state.finished {
                    return None;
                }
            }
            tokio::select! {
                () = &mut notified => {}
                () = self.session.closed() => return None,
                () = tokio::time::sleep(self.keep_alive) => return Some(Bytes::from_static(b": keep-alive\n\n")),
            }
        }
    }
}

/// The event that tells a reader events `from..=to` of stream `id` are gone.
/// It carries the id of the last of them, so a client that resumes from it
/// goes on after the gap instead of hearing of it again.
fn lost_notice(id: u64, from: u64, to: u64) -> Bytes {
    let count = to - from + 1;
    let notice = serde_json::json!({
        "jsonrpc": "2.0",
        "method": herd_proto::method::LOG_MESSAGE,
        "params": {
            "level": "warning",
            "logger": "herd",
            "data": {
                "message": format!(
                    "{count} event(s) of this stream (ids {id}-{from} to {id}-{to}) were dropped before they could be \
                     sent: more than the server keeps for resumption; notifications or requests among them are lost"
                ),
                "lostEvents": { "first": format!("{id}-{from}"), "last": format!("{id}-{to}"), "count": count },
            },
        },
    });
    Bytes::from(format!("id: {id}-{to}\ndata: {notice}\n\n"))
}

/// The outbox of a request whose answer is still undecided between JSON and
/// SSE: frames wait in a channel until the transport picks.
pub(crate) struct PendingOutbox(pub(crate) tokio::sync::mpsc::UnboundedSender<Frame>);

/// What travels from a handler to the transport for one request.
pub(crate) enum Frame {
    Message(String),
    Close,
}

impl Outbox for PendingOutbox {
    fn send(&self, message: String) -> Result<(), Closed> {
        self.0.send(Frame::Message(message)).map_err(|_| Closed)
    }

    fn close(&self) {
        let _ = self.0.send(Frame::Close);
    }
}

/// The session's standalone stream as an outbox.
pub(crate) struct StandaloneOutbox(pub(crate) Arc<ReplayStream>);

impl Outbox for StandaloneOutbox {
    fn send(&self, message: String) -> Result<(), Closed> {
        self.0.push(&message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: ReplayLimits = ReplayLimits { events: 8, bytes: 4096 };

    fn full_session() -> Arc<Streams> {
        let streams = Arc::new(Streams::default());
        for _ in 0..MAX_STREAMS_PER_SESSION {
            streams.open(LIMITS, 1000, false);
        }
        streams
    }

    fn held_ids(streams: &Streams) -> Vec<u64> {
        streams.held.lock().open.keys().copied().collect()
    }

    #[tokio::test]
    async fn at_the_cap_the_stream_that_ended_first_makes_room() {
        let streams = full_session();
        let retention = Duration::from_secs(3600);
        for id in [700, 5] {
            let stream = streams.held.lock().open[&id].clone();
            stream.finish();
            streams.retire(&stream, retention);
        }
        streams.open(LIMITS, 1000, false);
        let ids = held_ids(&streams);
        assert_eq!(ids.len(), MAX_STREAMS_PER_SESSION);
        assert!(!ids.contains(&700) && ids.contains(&5) && ids.contains(&1), "{:?}", &ids[..8]);
        streams.open(LIMITS, 1000, false);
        assert!(!held_ids(&streams).contains(&5));
    }

    #[tokio::test]
    async fn at_the_cap_with_nothing_ended_the_oldest_makes_room() {
        let streams = full_session();
        streams.open(LIMITS, 1000, false);
        let ids = held_ids(&streams);
        assert_eq!(ids.len(), MAX_STREAMS_PER_SESSION);
        assert_eq!(ids.first(), Some(&2));
        assert_eq!(ids.last(), Some(&(MAX_STREAMS_PER_SESSION as u64 + 1)));
    }

    #[test]
    fn forgetting_keeps_the_ended_list_no_longer_than_what_is_held() {
        let streams = Streams::default();
        let mut held = streams.held.lock();
        for id in 1..=5000 {
            held.open.insert(id, Arc::new(ReplayStream::new(id, LIMITS, 1000)));
            held.ended.push_back(id);
        }
        // Forgotten out of order: the list is trimmed all the same.
        for id in (1..=5000).rev() {
            held.forget(id);
        }
        assert!(held.open.is_empty());
        assert!(held.ended.len() <= 2 * MAX_STREAMS_PER_SESSION, "{}", held.ended.len());
    }
}
