//! Resumable SSE streams.
//!
//! A [`ReplayStream`] is the log of one SSE stream: the events sent on it,
//! numbered, kept until it ends plus a retention period. Connections are mere
//! readers of that log from a position, so a client that reconnects with
//! `Last-Event-ID` picks up right after the last event it saw, and a handler
//! keeps working while no connection is attached.
//!
//! Each session's streams live in its [`Streams`] (attached to the router's
//! session as a transport extension).

use bytes::Bytes;
use futures_util::Stream;
use herd_router::{Closed, Outbox, Session};
use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::Notify;

/// The streams of one session.
#[derive(Default)]
pub(crate) struct Streams {
    next_id: AtomicU64,
    open: Mutex<HashMap<u64, Arc<ReplayStream>>>,
    standalone: Mutex<Option<Arc<ReplayStream>>>,
}

/// Most streams a session may hold for resumption at once.
const MAX_STREAMS_PER_SESSION: usize = 1024;

impl Streams {
    /// Opens a stream; `prime` writes an empty first event with the retry
    /// advice so the client can reconnect even before the first message.
    pub(crate) fn open(&self, max_events: usize, retry_ms: u64, prime: bool) -> Arc<ReplayStream> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let stream = Arc::new(ReplayStream::new(id, max_events, retry_ms));
        if prime {
            stream.push_priming();
        }
        let mut open = self.open.lock();
        if open.len() >= MAX_STREAMS_PER_SESSION {
            // Forget the oldest ended stream, or failing that the oldest.
            let victim = open
                .iter()
                .filter(|(_, s)| s.is_finished())
                .map(|(id, _)| *id)
                .min()
                .or_else(|| open.keys().min().copied());
            if let Some(victim) = victim {
                open.remove(&victim);
            }
        }
        open.insert(id, stream.clone());
        stream
    }

    /// The stream an event id belongs to and the position after it.
    pub(crate) fn resume(&self, last_event_id: &str) -> Option<(Arc<ReplayStream>, u64)> {
        let (stream, seq) = last_event_id.split_once('-')?;
        let stream = self.open.lock().get(&stream.parse().ok()?)?.clone();
        Some((stream, seq.parse().ok()?))
    }

    /// Forgets a stream after `retention` once it ended.
    pub(crate) fn retire(self: &Arc<Self>, stream: &Arc<ReplayStream>, retention: Duration) {
        let streams = Arc::downgrade(self);
        let id = stream.id;
        tokio::spawn(async move {
            tokio::time::sleep(retention).await;
            if let Some(streams) = streams.upgrade() {
                streams.open.lock().remove(&id);
            }
        });
    }

    /// Replaces the standalone stream; the previous one ends.
    pub(crate) fn replace_standalone(&self, stream: Arc<ReplayStream>) {
        if let Some(old) = self.standalone.lock().replace(stream) {
            old.finish();
        }
    }

    /// Ends every stream (the session ended).
    pub(crate) fn finish_all(&self) {
        for stream in self.open.lock().values() {
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

struct State {
    events: VecDeque<(u64, Bytes)>,
    next_seq: u64,
    max_events: usize,
    finished: bool,
    /// The last event before the latest early close: connections that began
    /// before it end there, and the client resumes after it.
    cut: u64,
}

impl ReplayStream {
    fn new(id: u64, max_events: usize, retry_ms: u64) -> Self {
        Self {
            id,
            state: Mutex::new(State {
                events: VecDeque::new(),
                next_seq: 1,
                max_events: max_events.max(1),
                finished: false,
                cut: 0,
            }),
            changed: Notify::new(),
            retry_ms,
        }
    }

    fn push_priming(&self) {
        let mut state = self.state.lock();
        let seq = state.next_seq;
        state.next_seq += 1;
        let frame = format!("id: {}-{seq}\nretry: {}\ndata: \n\n", self.id, self.retry_ms);
        state.events.push_back((seq, Bytes::from(frame)));
    }

    /// Appends one JSON-RPC message as an event.
    pub(crate) fn push(&self, message: &str) -> Result<(), Closed> {
        {
            let mut state = self.state.lock();
            if state.finished {
                return Err(Closed);
            }
            let seq = state.next_seq;
            state.next_seq += 1;
            let mut frame = String::with_capacity(message.len() + 32);
            let _ = write!(frame, "id: {}-{seq}\ndata: ", self.id);
            frame.push_str(message);
            frame.push_str("\n\n");
            state.events.push_back((seq, Bytes::from(frame)));
            while state.events.len() > state.max_events {
                state.events.pop_front();
            }
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

    pub(crate) fn is_finished(&self) -> bool {
        self.state.lock().finished
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
