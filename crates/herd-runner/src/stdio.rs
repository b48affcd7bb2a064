//! One child's stdio, shared by every client session.
//!
//! Requests from many sessions reach one child, so each gets an id of the
//! child's own (1, 2, 3, ...) and a pending entry that remembers who asked.
//! What the child sends back is routed by what it carries:
//!
//! - a response, by id, to the call that waits for it;
//! - a progress notification, by its token (the relay gives every call a
//!   token of its own), to that call's session;
//! - a log message or a server-to-client request (sampling, elicitation,
//!   roots) carries nothing that names its cause on stdio, so it goes to the
//!   call in flight when there is exactly one. With several in flight a log
//!   message goes to the agent's own log and a request is refused: guessing
//!   would hand one session's question to another. `ping` is answered here.
//! - anything else (list_changed, resources/updated) to the supervisor.
//!
//! When the child's stdout ends, every pending call fails at once with the
//! reason, and later calls fail without waiting.

mod route;

use herd_proto::{BoxFuture, Extra, Message, Notification, Request, RequestId, Response};
use herd_transport::lines::{read_line_capped, trim};
use herd_upstream::{Call, Upstream, UpstreamError};
use parking_lot::Mutex;
use serde_json::value::RawValue;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, BufWriter};
use tokio::sync::{mpsc, oneshot};

/// Longest line accepted from a child.
const MAX_LINE: usize = 16 * 1024 * 1024;
/// Lines queued for the child's stdin before senders wait.
const QUEUE: usize = 1024;

/// A client connection to a child over its stdin and stdout.
pub(crate) struct StdioUpstream {
    shared: Arc<Shared>,
}

pub(crate) struct Shared {
    label: String,
    out: mpsc::Sender<String>,
    next_id: AtomicU64,
    state: Mutex<State>,
    /// Messages that concern no call, for the supervisor.
    unsolicited: mpsc::UnboundedSender<Message>,
}

#[derive(Default)]
struct State {
    pending: HashMap<u64, Pending>,
    /// Why the connection ended, once it did.
    closed: Option<String>,
}

struct Pending {
    events: mpsc::UnboundedSender<Message>,
    token: Option<String>,
    answer: oneshot::Sender<Result<Response, UpstreamError>>,
}

impl StdioUpstream {
    /// Starts reading `stdout` and writing `stdin`; `label` names the child
    /// in errors.
    pub(crate) fn start<W, R>(label: String, stdin: W, stdout: R, unsolicited: mpsc::UnboundedSender<Message>) -> Self
    where
        W: AsyncWrite + Unpin + Send + 'static,
        R: AsyncRead + Unpin + Send + 'static,
    {
        let (out, rx) = mpsc::channel(QUEUE);
        let state = Mutex::new(State::default());
        let shared = Arc::new(Shared { label, out, next_id: AtomicU64::new(1), state, unsolicited });
        tokio::spawn(write_lines(rx, stdin, Arc::downgrade(&shared)));
        tokio::spawn(read_lines(stdout, shared.clone()));
        Self { shared }
    }

    /// Fails every pending call and refuses new ones.
    pub(crate) fn close(&self, reason: &str) {
        self.shared.close(reason);
    }
}

impl Shared {
    fn error(&self, reason: &str) -> UpstreamError {
        UpstreamError::Lost { target: self.label.clone(), reason: reason.to_owned() }
    }

    fn close(&self, reason: &str) {
        let pending = {
            let mut state = self.state.lock();
            if state.closed.is_none() {
                state.closed = Some(reason.to_owned());
            }
            std::mem::take(&mut state.pending)
        };
        for (_, call) in pending {
            let _ = call.answer.send(Err(self.error(reason)));
        }
    }

    async fn send(&self, line: String) -> Result<(), UpstreamError> {
        self.out.send(line).await.map_err(|_| self.error("its stdin is closed"))
    }
}

impl Upstream for StdioUpstream {
    fn request(
        &self,
        method: &str,
        params: Option<Box<RawValue>>,
        extra: Extra,
        events: mpsc::UnboundedSender<Message>,
    ) -> Call {
        let number = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let id = RequestId::number(number);
        let token = params.as_deref().and_then(route::progress_token_of_params);
        let mut request = Request::new(id.clone(), method, params);
        request.extra = extra;
        let line = Message::Request(request).to_json();
        let (answer, response) = oneshot::channel();
        let shared = self.shared.clone();
        let registered = {
            let mut state = shared.state.lock();
            match &state.closed {
                Some(reason) => Err(shared.error(reason)),
                None => {
                    state.pending.insert(number, Pending { events, token, answer });
                    Ok(())
                }
            }
        };
        // Owned by the future: dropping the call, even unpolled, forgets it.
        let forget = Forget { shared: shared.clone(), id: number };
        let response = Box::pin(async move {
            registered?;
            shared.send(line).await?;
            let outcome = response.await.unwrap_or_else(|_| Err(shared.error("the call was dropped")));
            drop(forget);
            outcome
        });
        Call::new(id, response)
    }

    fn notify(&self, notification: Notification) -> BoxFuture<'static, Result<(), UpstreamError>> {
        let shared = self.shared.clone();
        Box::pin(async move { shared.send(Message::Notification(notification).to_json()).await })
    }

    fn respond(&self, response: Response) -> BoxFuture<'static, Result<(), UpstreamError>> {
        let shared = self.shared.clone();
        Box::pin(async move { shared.send(Message::Response(response).to_json()).await })
    }

    fn describe(&self) -> &str {
        &self.shared.label
    }
}

/// Removes a call's pending entry when its future ends or is dropped.
struct Forget {
    shared: Arc<Shared>,
    id: u64,
}

impl Drop for Forget {
    fn drop(&mut self) {
        self.shared.state.lock().pending.remove(&self.id);
    }
}

/// Writes queued lines to the child. Lines queued together leave in one
/// pipe write: the buffer is flushed only when the queue is empty.
async fn write_lines<W: AsyncWrite + Unpin>(mut rx: mpsc::Receiver<String>, stdin: W, shared: std::sync::Weak<Shared>) {
    let mut stdin = BufWriter::with_capacity(64 * 1024, stdin);
    while let Some(mut line) = rx.recv().await {
        line.push('\n');
        let written = async {
            stdin.write_all(line.as_bytes()).await?;
            if rx.is_empty() { stdin.flush().await } else { Ok(()) }
        };
        if let Err(err) = written.await {
            if let Some(shared) = shared.upgrade() {
                shared.close(&format!("writing to its stdin failed: {err}"));
            }
            return;
        }
    }
}

async fn read_lines<R: AsyncRead + Unpin>(stdout: R, shared: Arc<Shared>) {
    let mut reader = BufReader::new(stdout);
    let mut line = Vec::new();
    let reason = loop {
        line.clear();
        match read_line_capped(&mut reader, &mut line, MAX_LINE).await {
            Ok(0) => break "it closed its stdout (exited?)".to_owned(),
            Ok(_) => {}
            Err(err) => break format!("reading its stdout failed: {err}"),
        }
        let Some(bytes) = trim(&line) else { continue };
        if bytes.len() > MAX_LINE {
            tracing::warn!(server = shared.label, "dropped a message longer than {MAX_LINE} bytes");
            continue;
        }
        match Message::parse(bytes) {
            Ok(message) => route::deliver(&shared, message).await,
            Err(err) => {
                let text = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]);
                tracing::debug!(server = shared.label, %err, line = %text, "not JSON-RPC on stdout");
            }
        }
    };
    shared.close(&reason);
}
