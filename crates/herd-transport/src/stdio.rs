//! The stdio transport: one session over stdin/stdout.
//!
//! Each line on stdin is one JSON-RPC message; each message to the client is
//! one line on stdout. Nothing else is ever written to stdout (diagnostics go
//! to stderr through `tracing`). Requests run concurrently, so a slow tool
//! does not hold up a `ping` or a `notifications/cancelled` for it.
//!
//! A request of the stateless revision (its `_meta` names 2026-07-28) that
//! arrives before any `initialize` is answered without the session
//! ([`Router::handle_stateless`]); `notifications/cancelled` stops it, and
//! its `subscriptions/listen` streams end when stdin does.

use crate::lines::{read_line_capped, trim};
use herd_proto::{Message, Notification, Request, RequestId, RpcError, check_depth, error_json};
use herd_router::{Claims, Closed, Outbox, Router, SharedOutbox};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
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
}

impl Default for StdioConfig {
    fn default() -> Self {
        Self { max_line_bytes: 8 * 1024 * 1024, max_json_depth: 64, drain: std::time::Duration::from_secs(10) }
    }
}

struct LineOutbox(mpsc::UnboundedSender<String>);

impl Outbox for LineOutbox {
    fn send(&self, message: String) -> Result<(), Closed> {
        self.0.send(message).map_err(|_| Closed)
    }
}

/// Serves one session on the process's stdin and stdout until stdin closes.
pub async fn serve_stdio(router: Router, config: StdioConfig) -> std::io::Result<()> {
    serve_io(router, config, tokio::io::stdin(), tokio::io::stdout()).await
}

/// Serves one session on any reader/writer pair until the reader ends.
///
/// `initialize` is answered before the next line is read, so a client that
/// pipes its first messages without waiting still sees them in order; every
/// other request runs concurrently. When the reader ends, requests already
/// received get `config.drain` to finish, then are cancelled, and the writer
/// is flushed.
pub async fn serve_io<R, W>(router: Router, config: StdioConfig, input: R, output: W) -> std::io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let session = router.create_session().map_err(std::io::Error::other)?;
    let (tx, rx) = mpsc::unbounded_channel::<String>();
    let writer = tokio::spawn(write_lines(rx, output));
    let outbox: SharedOutbox = Arc::new(LineOutbox(tx.clone()));
    session.set_standalone(Some(outbox.clone()));
    let tasks = TaskTracker::new();
    let stateless = Stateless::default();
    let mut lines = BufReader::new(input);
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = read_line_capped(&mut lines, &mut line, config.max_line_bytes).await?;
        if n == 0 {
            break;
        }
        let Some(bytes) = trim(&line) else { continue };
        if bytes.len() > config.max_line_bytes {
            let err = RpcError::invalid_request(format!("message longer than {} bytes", config.max_line_bytes));
            let _ = tx.send(error_json(None, &err));
            continue;
        }
        if let Err(e) = check_depth(bytes, config.max_json_depth) {
            let _ = tx.send(error_json(None, &RpcError::invalid_request(e.to_string())));
            continue;
        }
        match Message::parse(bytes) {
            Ok(Message::Request(r)) if !session.is_initialized() && herd_router::is_stateless(&r) => {
                stateless.spawn(&tasks, &router, r, &outbox);
            }
            Ok(Message::Notification(n)) if !session.is_initialized() && n.method == herd_proto::method::CANCELLED => {
                stateless.cancel(&n);
            }
            Ok(Message::Request(r)) if r.method == herd_proto::method::INITIALIZE => {
                session.handle_message(Message::Request(r), outbox.clone()).await;
            }
            Ok(message) => {
                let session = session.clone();
                let outbox = outbox.clone();
                tasks.spawn(async move { session.handle_message(message, outbox).await });
            }
            Err(e) => {
                let _ = tx.send(error_json(e.id(), &e.to_rpc_error()));
            }
        }
    }
    tasks.close();
    stateless.listening.cancel();
    if tokio::time::timeout(config.drain, tasks.wait()).await.is_err() {
        tracing::warn!("stdin closed; cancelling requests still running after {:?}", config.drain);
    }
    router.end_session(session.id());
    stateless.all.cancel();
    tasks.wait().await;
    session.set_standalone(None);
    drop(outbox);
    drop(tx);
    writer.await.map_err(std::io::Error::other)?
}

async fn write_lines<W: AsyncWrite + Unpin>(
    mut rx: mpsc::UnboundedReceiver<String>,
    mut out: W,
) -> std::io::Result<()> {
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
    fn spawn(&self, tasks: &TaskTracker, router: &Router, req: Request, outbox: &SharedOutbox) {
        let stop = if req.method == herd_proto::method::SUBSCRIPTIONS_LISTEN {
            self.listening.child_token()
        } else {
            self.all.child_token()
        };
        let id = req.id.clone();
        self.running.lock().insert(id.clone(), stop.clone());
        let (router, outbox, running) = (router.clone(), outbox.clone(), self.running.clone());
        tasks.spawn(async move {
            let work = router.handle_stateless(req, Claims::default(), Some(outbox.clone()));
            tokio::select! {
                () = stop.cancelled() => {}
                answer = work => if let Some(answer) = answer {
                    let _ = outbox.send(answer.body);
                },
            }
            running.lock().remove(&id);
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
