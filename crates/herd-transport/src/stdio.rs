//! The stdio transport: one session over stdin/stdout.
//!
//! Each line on stdin is one JSON-RPC message; each message to the client is
//! one line on stdout. Nothing else is ever written to stdout (diagnostics go
//! to stderr through `tracing`). Requests run concurrently, so a slow tool
//! does not hold up a `ping` or a `notifications/cancelled` for it.
//!
//! The session is the connection: it ends when stdin does, never because
//! the client was quiet for a while. Memory stays bounded when the client
//! stops reading stdout: messages wait in a queue of
//! [`StdioConfig::max_queued_messages`] (a full queue drops notifications,
//! fails server-to-client requests and holds answers back; see `queue`), and
//! at most [`StdioConfig::max_inflight_requests`] requests run at once.
//!
//! A session of the 2025-03-26 revision may send a batch on one line; the
//! answers to its requests come back together on one line, as an array
//! (see `batch`).
//!
//! A request of the stateless revision (its `_meta` names 2026-07-28) that
//! arrives before any `initialize` is answered without the session
//! ([`Router::handle_stateless`]); `notifications/cancelled` stops it, and
//! its `subscriptions/listen` streams end when stdin does.

use crate::batch::{self, Batch};
use crate::lines::{read_line_capped, trim};
use crate::queue::BoundedOutbox;
use herd_proto::{Message, Notification, Request, RequestId, RpcError, check_depth, error_json, method};
use herd_router::{Claims, Expiry, Owner, Router, Session, SharedOutbox};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Limits of the stdio transport.
#[derive(Debug, Clone)]
pub struct StdioConfig {
    /// Longest accepted line (one message).
    pub max_line_bytes: usize,
    /// Deepest accepted JSON nesting.
    pub max_json_depth: usize,
    /// After stdin closes, how long requests already received may finish.
    pub drain: std::time::Duration,
    /// Messages queued for stdout at most. When the client stops reading,
    /// notifications beyond this are dropped (counted in a warning),
    /// server-to-client requests fail, and answers wait for room.
    pub max_queued_messages: usize,
    /// Requests running at once; a request beyond this is answered at once
    /// with an error.
    pub max_inflight_requests: usize,
}

impl Default for StdioConfig {
    fn default() -> Self {
        Self {
            max_line_bytes: 8 * 1024 * 1024,
            max_json_depth: 64,
            drain: std::time::Duration::from_secs(10),
            max_queued_messages: 1024,
            max_inflight_requests: 1024,
        }
    }
}

/// Serves one session on the process's stdin and stdout until stdin closes.
pub async fn serve_stdio(router: Router, config: StdioConfig) -> std::io::Result<()> {
    serve_io(router, config, tokio::io::stdin(), tokio::io::stdout()).await
}

/// Serves one session on any reader/writer pair until the reader ends.
///
/// The session lives as long as the reader: it is never ended for being
/// idle. `initialize` is answered before the next line is read, so a client
/// that pipes its first messages without waiting still sees them in order;
/// every other request runs concurrently. When the reader ends, requests
/// already received get `config.drain` to finish, then are cancelled, and
/// the writer is flushed.
pub async fn serve_io<R, W>(router: Router, config: StdioConfig, input: R, output: W) -> std::io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let session = router.open_session(Owner::local(), Expiry::WithTransport).map_err(std::io::Error::other)?;
    let (queue, rx) = BoundedOutbox::channel(config.max_queued_messages, "stdio");
    let writer = tokio::spawn(write_lines(rx, output));
    let outbox: SharedOutbox = queue.clone();
    session.set_standalone(Some(outbox.clone()));
    let mut conn = Connection {
        inflight: Arc::new(Semaphore::new(config.max_inflight_requests)),
        config,
        router,
        session,
        queue,
        outbox,
        tasks: TaskTracker::new(),
        stateless: Stateless::default(),
    };
    let mut lines = BufReader::new(input);
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = read_line_capped(&mut lines, &mut line, conn.config.max_line_bytes).await?;
        if n == 0 {
            break;
        }
        if let Some(bytes) = trim(&line) {
            conn.take(bytes).await;
        }
    }
    conn.finish().await;
    writer.await.map_err(std::io::Error::other)?
}

/// One stdio session and what runs on it.
struct Connection {
    config: StdioConfig,
    router: Router,
    session: Arc<Session>,
    queue: Arc<BoundedOutbox>,
    outbox: SharedOutbox,
    tasks: TaskTracker,
    stateless: Stateless,
    inflight: Arc<Semaphore>,
}

impl Connection {
    /// Takes one line from the client.
    async fn take(&mut self, bytes: &[u8]) {
        if bytes.len() > self.config.max_line_bytes {
            let err = RpcError::invalid_request(format!("message longer than {} bytes", self.config.max_line_bytes));
            return self.reply(error_json(None, &err)).await;
        }
        if let Err(e) = check_depth(bytes, self.config.max_json_depth) {
            return self.reply(error_json(None, &RpcError::invalid_request(e.to_string()))).await;
        }
        if Message::is_batch(bytes) {
            return self.batch(bytes).await;
        }
        let initialized = self.session.is_initialized();
        match Message::parse(bytes) {
            Ok(Message::Request(r)) => self.request(r).await,
            Ok(Message::Notification(n)) if !initialized && n.method == method::CANCELLED => self.stateless.cancel(&n),
            Ok(Message::Notification(n)) => self.session.handle_notification(n),
            Ok(Message::Response(r)) => self.session.handle_response(r),
            Err(e) => self.reply(error_json(e.id(), &e.to_rpc_error())).await,
        }
    }

    async fn request(&mut self, r: Request) {
        let Ok(permit) = self.inflight.clone().try_acquire_owned() else {
            let limit = self.config.max_inflight_requests;
            let err = RpcError::invalid_request(format!(
                "too many requests in flight (limit {limit}); wait for answers before sending more"
            ));
            return self.reply(error_json(Some(&r.id), &err)).await;
        };
        if !self.session.is_initialized() && herd_router::is_stateless(&r) {
            return self.stateless.spawn(&self.tasks, &self.router, r, &self.queue, permit);
        }
        let answered = answer(self.session.clone(), r, self.queue.clone(), self.outbox.clone(), permit);
        if self.session.is_initialized() {
            self.tasks.spawn(answered);
        } else {
            // initialize (or a request refused for want of it) is answered
            // before the next line is read.
            answered.await;
        }
    }

    /// Takes a batch line (see [`crate::batch`]): its requests run side by
    /// side, and their answers go out together as one array line.
    async fn batch(&mut self, bytes: &[u8]) {
        let Batch { requests, mut refused } = match batch::open(bytes, &self.session) {
            Ok(batch) => batch,
            Err(err) => return self.reply(error_json(None, &err)).await,
        };
        let wanted = u32::try_from(requests.len()).unwrap_or(u32::MAX);
        let permits = match self.inflight.clone().try_acquire_many_owned(wanted) {
            Ok(permits) if !requests.is_empty() => permits,
            outcome => {
                if outcome.is_err() {
                    let limit = self.config.max_inflight_requests;
                    let err = RpcError::invalid_request(format!(
                        "too many requests in flight (limit {limit}); wait for answers before sending more"
                    ));
                    refused.extend(requests.iter().map(|r| error_json(Some(&r.id), &err)));
                }
                if !refused.is_empty() {
                    self.reply(batch::array(&refused)).await;
                }
                return;
            }
        };
        let (session, queue, outbox) = (self.session.clone(), self.queue.clone(), self.outbox.clone());
        self.tasks.spawn(async move {
            let answers = requests.into_iter().map(|r| session.handle_request(r, Some(outbox.clone())));
            let work = futures_util::future::join_all(answers);
            let answers = herd_telemetry::within(herd_telemetry::Inbound::pipe(), work).await;
            refused.extend(answers.into_iter().flatten());
            if !refused.is_empty() {
                let _ = queue.send_answer(batch::array(&refused)).await;
            }
            drop(permits);
        });
    }

    /// Queues one of the transport's own answers (a line it cannot take).
    /// Waits while the client leaves stdout unread: the backpressure a pipe
    /// gives anyway.
    async fn reply(&self, text: String) {
        let _ = self.queue.send_answer(text).await;
    }

    /// Lets requests drain after stdin closed, then ends the session.
    async fn finish(self) {
        let Self { config, router, session, queue, outbox, tasks, stateless, .. } = self;
        tasks.close();
        stateless.listening.cancel();
        if tokio::time::timeout(config.drain, tasks.wait()).await.is_err() {
            tracing::warn!("stdin closed; cancelling requests still running after {:?}", config.drain);
        }
        router.end_session(session.id());
        stateless.all.cancel();
        tasks.wait().await;
        session.set_standalone(None);
        drop((outbox, queue));
    }
}

/// Runs one request of the session and queues its answer.
async fn answer(
    session: Arc<Session>,
    request: Request,
    queue: Arc<BoundedOutbox>,
    outbox: SharedOutbox,
    _permit: OwnedSemaphorePermit,
) {
    let work = session.handle_request(request, Some(outbox));
    if let Some(text) = herd_telemetry::within(herd_telemetry::Inbound::pipe(), work).await {
        let _ = queue.send_answer(text).await;
    }
}

async fn write_lines<W: AsyncWrite + Unpin>(mut rx: mpsc::Receiver<String>, mut out: W) -> std::io::Result<()> {
    while let Some(mut message) = rx.recv().await {
        // One write per message: each write on tokio's stdout is a trip
        // through the blocking pool.
        message.push('\n');
        out.write_all(message.as_bytes()).await?;
        // Flush when nothing else is queued, so bursts share one write.
        if rx.is_empty() {
            out.flush().await?;
        }
    }
    out.flush().await
}

/// Stateless requests in flight on this stream, for cancellation.
#[derive(Default)]
struct Stateless {
    running: Arc<parking_lot::Mutex<HashMap<RequestId, CancellationToken>>>,
    /// Ends `subscriptions/listen` requests (stdin closed: nobody listens).
    listening: CancellationToken,
    /// Ends every request (the drain is over).
    all: CancellationToken,
}

impl Stateless {
    fn spawn(
        &self,
        tasks: &TaskTracker,
        router: &Router,
        req: Request,
        queue: &Arc<BoundedOutbox>,
        permit: OwnedSemaphorePermit,
    ) {
        let stop = if req.method == method::SUBSCRIPTIONS_LISTEN {
            self.listening.child_token()
        } else {
            self.all.child_token()
        };
        let id = req.id.clone();
        self.running.lock().insert(id.clone(), stop.clone());
        let (router, queue, running) = (router.clone(), queue.clone(), self.running.clone());
        tasks.spawn(async move {
            let work = router.handle_stateless(req, Claims::default(), Some(queue.clone() as SharedOutbox));
            let work = herd_telemetry::within(herd_telemetry::Inbound::pipe(), work);
            tokio::select! {
                () = stop.cancelled() => {}
                answer = work => if let Some(answer) = answer {
                    let _ = queue.send_answer(answer.body).await;
                },
            }
            running.lock().remove(&id);
            drop(permit);
        });
    }

    fn cancel(&self, notification: &Notification) {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Cancelled {
            request_id: RequestId,
        }
        if let Ok(c) = notification.params_as::<Cancelled>()
            && let Some(stop) = self.running.lock().get(&c.request_id)
        {
            stop.cancel();
        }
    }
}

#[cfg(test)]
mod tests;
