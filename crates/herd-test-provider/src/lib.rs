//! A scripted OpenAI-compatible server, for tests and benchmarks.
//!
//! No model runs on the machines herd is tested on, yet the LLM relay must
//! be proven against something that speaks the providers' protocol: the
//! OpenAI API (`/v1/models`, `/v1/chat/completions`, `/v1/completions`,
//! `/v1/embeddings`) and Anthropic's `/v1/messages`, streaming and not, in
//! the shapes the official clients parse. [`ScriptedProvider`] answers
//! them as its [`Script`] says (which tokens, how fast, whether it hangs,
//! fails, dies mid-stream or sleeps until woken) and reports what happened
//! to every request as an [`Event`]: it arrived, it finished, or its client
//! went away before the answer ended.
//!
//! The binary `herd-test-provider` serves one on an address for benchmarks
//! (time to first token added by herd); with no delays it never sleeps.

mod answer;
mod serve;

use parking_lot::Mutex;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{broadcast, watch};

/// What the provider does with each request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Behaviour {
    /// Answers with the script's tokens.
    Normal,
    /// Never answers: the request stays open until its client leaves.
    Hang,
    /// Answers `500` with an OpenAI error body.
    Fail,
    /// Streams this many tokens, then aborts the connection (a
    /// non-streaming request gets its head, then the abort).
    DieAfter(usize),
}

/// How the provider answers. Cheap to change while it runs
/// ([`ScriptedProvider::set_script`]).
#[derive(Debug, Clone)]
pub struct Script {
    /// The model id `/v1/models` lists, and answers name when the request
    /// names none.
    pub model: String,
    /// The pieces of text streamed, one per chunk; the answer is their
    /// concatenation.
    pub tokens: Vec<String>,
    /// Wait before the first token.
    pub first_delay: Duration,
    /// Wait before each later token.
    pub delay: Duration,
    /// What it does with each request.
    pub behaviour: Behaviour,
    /// Starts asleep: every endpoint answers `503` until `POST /wake`.
    pub asleep: bool,
    /// Chat answers are a tool call (`echo`) whose arguments stream across
    /// several chunks, instead of text.
    pub tool_call: bool,
    /// Streams stop after this many tokens until
    /// [`ScriptedProvider::resume`].
    pub pause_after: Option<usize>,
}

impl Default for Script {
    fn default() -> Self {
        Self {
            model: "scripted".into(),
            tokens: ["Hello", " from", " the", " scripted", " provider", "."].map(String::from).to_vec(),
            first_delay: Duration::ZERO,
            delay: Duration::ZERO,
            behaviour: Behaviour::Normal,
            asleep: false,
            tool_call: false,
            pause_after: None,
        }
    }
}

impl Script {
    /// `n` tokens: `t0`, ` t1`, ` t2`, ...
    pub fn with_token_count(mut self, n: usize) -> Self {
        self.tokens = (0..n).map(|i| if i == 0 { "t0".to_owned() } else { format!(" t{i}") }).collect();
        self
    }

    /// With `behaviour`.
    pub fn behaving(mut self, behaviour: Behaviour) -> Self {
        self.behaviour = behaviour;
        self
    }

    /// The whole answer text.
    pub fn text(&self) -> String {
        self.tokens.concat()
    }
}

/// What happened to a request, in order, per request `id`.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A request reached an endpoint (`chat/completions`, `models`, ...).
    Arrived {
        /// The request's number, from 1.
        id: u64,
        /// The path under `/v1/`.
        endpoint: String,
        /// Its JSON body (`null` for a `GET`).
        body: serde_json::Value,
        /// Its `authorization` header.
        authorization: Option<String>,
    },
    /// A token went out (`index` from 0).
    Token {
        /// The request.
        id: u64,
        /// Which token.
        index: usize,
    },
    /// The whole answer went out.
    Finished {
        /// The request.
        id: u64,
    },
    /// The client went away before the answer ended.
    ClosedEarly {
        /// The request.
        id: u64,
        /// Tokens that went out before.
        tokens_sent: usize,
    },
    /// The provider aborted the connection as its script said.
    Died {
        /// The request.
        id: u64,
    },
}

/// A running scripted provider on loopback. Dropping it stops it: no new
/// connection is accepted, idle ones are closed, answers under way end as
/// scripted.
pub struct ScriptedProvider {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl ScriptedProvider {
    /// Serves `script` on `127.0.0.1`, on a port of the system's choosing.
    pub async fn start(script: Script) -> std::io::Result<Self> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), script).await
    }

    /// Serves `script` on `addr`.
    pub async fn start_on(addr: SocketAddr, script: Script) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(script));
        let (stop, stopped) = tokio::sync::oneshot::channel();
        tokio::spawn(serve::serve(listener, shared.clone(), stopped));
        Ok(Self { shared, addr, stop: Some(stop) })
    }

    /// `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every event from now on. Subscribe before sending requests.
    pub fn events(&self) -> broadcast::Receiver<Event> {
        self.shared.events.subscribe()
    }

    /// Every event so far.
    pub fn history(&self) -> Vec<Event> {
        self.shared.history.lock().clone()
    }

    /// Requests that reached an endpoint (asleep answers and wakes
    /// excluded).
    pub fn requests(&self) -> u64 {
        self.shared.next_id.load(Ordering::SeqCst)
    }

    /// `POST /wake` calls.
    pub fn wakes(&self) -> u64 {
        self.shared.wakes.load(Ordering::SeqCst)
    }

    /// Requests whose client went away before the answer ended.
    pub fn closed_early(&self) -> u64 {
        self.shared.closed_early.load(Ordering::SeqCst)
    }

    /// Requests in flight now.
    pub fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::SeqCst)
    }

    /// The most requests ever in flight at once.
    pub fn max_in_flight(&self) -> usize {
        self.shared.max_in_flight.load(Ordering::SeqCst)
    }

    /// Answers later requests by `script` (its `asleep` is ignored: see
    /// [`Self::set_asleep`]).
    pub fn set_script(&self, script: Script) {
        *self.shared.script.lock() = script;
    }

    /// Puts it to sleep (every endpoint `503`) or wakes it.
    pub fn set_asleep(&self, asleep: bool) {
        self.shared.asleep.store(asleep, Ordering::SeqCst);
    }

    /// Whether it sleeps.
    pub fn is_asleep(&self) -> bool {
        self.shared.asleep.load(Ordering::SeqCst)
    }

    /// Lets streams paused by [`Script::pause_after`] go on, now and later.
    pub fn resume(&self) {
        self.shared.resumed.send_replace(true);
    }
}

impl Drop for ScriptedProvider {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// State shared by the handlers and the handle.
pub(crate) struct Shared {
    script: Mutex<Script>,
    asleep: AtomicBool,
    next_id: AtomicU64,
    wakes: AtomicU64,
    closed_early: AtomicU64,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    events: broadcast::Sender<Event>,
    history: Mutex<Vec<Event>>,
    resumed: watch::Sender<bool>,
}

impl Shared {
    fn new(script: Script) -> Self {
        Self {
            asleep: AtomicBool::new(script.asleep),
            script: Mutex::new(script),
            next_id: AtomicU64::new(0),
            wakes: AtomicU64::new(0),
            closed_early: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            events: broadcast::channel(4096).0,
            history: Mutex::new(Vec::new()),
            resumed: watch::channel(false).0,
        }
    }

    pub(crate) fn script(&self) -> Script {
        self.script.lock().clone()
    }

    pub(crate) fn asleep(&self) -> bool {
        self.asleep.load(Ordering::SeqCst)
    }

    pub(crate) fn wake(&self) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
        self.asleep.store(false, Ordering::SeqCst);
    }

    pub(crate) fn emit(&self, event: Event) {
        self.history.lock().push(event.clone());
        let _ = self.events.send(event);
    }

    /// Records a request's arrival; the guard reports how it ended.
    pub(crate) fn arrive(
        self: &Arc<Self>,
        endpoint: &str,
        body: serde_json::Value,
        authorization: Option<String>,
    ) -> InFlight {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst) + 1;
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        self.emit(Event::Arrived { id, endpoint: endpoint.to_owned(), body, authorization });
        InFlight { shared: self.clone(), id, tokens_sent: 0, ended: false }
    }

    /// Waits until [`ScriptedProvider::resume`].
    pub(crate) async fn resumed(&self) {
        let mut rx = self.resumed.subscribe();
        let _ = rx.wait_for(|r| *r).await;
    }
}

/// A request in flight: reports [`Event::ClosedEarly`] when dropped before
/// [`InFlight::finish`] or [`InFlight::die`].
pub(crate) struct InFlight {
    shared: Arc<Shared>,
    pub(crate) id: u64,
    pub(crate) tokens_sent: usize,
    ended: bool,
}

impl InFlight {
    pub(crate) fn token_sent(&mut self) {
        self.shared.emit(Event::Token { id: self.id, index: self.tokens_sent });
        self.tokens_sent += 1;
    }

    pub(crate) fn finish(mut self) {
        self.ended = true;
        self.shared.emit(Event::Finished { id: self.id });
    }

    pub(crate) fn die(mut self) {
        self.ended = true;
        self.shared.emit(Event::Died { id: self.id });
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.shared.in_flight.fetch_sub(1, Ordering::SeqCst);
        if !self.ended {
            self.shared.closed_early.fetch_add(1, Ordering::SeqCst);
            self.shared.emit(Event::ClosedEarly { id: self.id, tokens_sent: self.tokens_sent });
        }
    }
}
