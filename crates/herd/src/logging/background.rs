//! A log writer that never makes the caller wait for stderr.
//!
//! The hub logs one line per call. Written straight to stderr, each line is
//! a `write` syscall on the request path, and a stalled reader (a full pipe
//! to a busy journal) would stall every request behind it. Here a line is
//! only queued; one thread writes the queue out in batches: woken by the
//! first line, it lets [`BATCH_INTERVAL`] pass before it writes everything
//! queued by then, so a steady stream of lines costs one wake-up and one
//! write per interval, not per line.
//!
//! When the queue is full (the reader is not keeping up), new lines are
//! dropped and counted, and the count is reported in the log once writing
//! resumes. Dropping the [`Flush`] guard writes out what is queued and ends
//! the thread.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::Duration;
use tracing_subscriber::fmt::MakeWriter;

/// How long lines gather before the writer thread writes them.
pub(crate) const BATCH_INTERVAL: Duration = Duration::from_millis(10);

/// Lines held at most; beyond this they are dropped.
pub(crate) const CAPACITY: usize = 16 * 1024;

enum Item {
    Line(Vec<u8>),
    /// Write everything queued before this, then stop.
    Stop,
}

/// The handle the log layer writes through. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Lines {
    queue: SyncSender<Item>,
    dropped: Arc<AtomicU64>,
}

/// Writes out what is queued and stops the thread when dropped.
pub(crate) struct Flush {
    queue: SyncSender<Item>,
    thread: Option<JoinHandle<()>>,
}

/// A writer thread over `out`, and the handle to queue lines for it.
pub(crate) fn spawn<W: Write + Send + 'static>(out: W, capacity: usize) -> std::io::Result<(Lines, Flush)> {
    let (queue, received) = sync_channel(capacity);
    let dropped = Arc::new(AtomicU64::new(0));
    let counter = dropped.clone();
    let thread =
        std::thread::Builder::new().name("herd-log".into()).spawn(move || write_out(out, &received, &counter))?;
    Ok((Lines { queue: queue.clone(), dropped }, Flush { queue, thread: Some(thread) }))
}

fn write_out<W: Write>(mut out: W, received: &Receiver<Item>, dropped: &AtomicU64) {
    let mut batch = Vec::with_capacity(64 * 1024);
    // Blocks only while nothing is queued.
    while let Ok(first) = received.recv() {
        if matches!(first, Item::Line(_)) {
            // Let more lines gather: nobody has to wake this thread for them.
            std::thread::sleep(BATCH_INTERVAL);
        }
        let mut stop = false;
        for item in std::iter::once(first).chain(received.try_iter()) {
            match item {
                Item::Line(line) => batch.extend_from_slice(&line),
                Item::Stop => {
                    stop = true;
                    break;
                }
            }
        }
        let lost = dropped.swap(0, Ordering::Relaxed);
        if lost > 0 {
            let _ = writeln!(batch, "herd: {lost} log lines were dropped: stderr was not keeping up");
        }
        let _ = out.write_all(&batch).and_then(|()| out.flush());
        batch.clear();
        if stop {
            return;
        }
    }
}

impl Drop for Flush {
    fn drop(&mut self) {
        // A blocking send: the thread is draining, so room comes.
        let _ = self.queue.send(Item::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One event's bytes, queued as one line when the layer is done with it.
pub(crate) struct Line<'a> {
    lines: &'a Lines,
    buf: Vec<u8>,
}

impl Write for Line<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Line<'_> {
    fn drop(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let line = std::mem::take(&mut self.buf);
        if let Err(TrySendError::Full(_)) = self.lines.queue.try_send(Item::Line(line)) {
            self.lines.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl<'a> MakeWriter<'a> for Lines {
    type Writer = Line<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        Line { lines: self, buf: Vec::new() }
    }
}

#[cfg(test)]
mod tests;
