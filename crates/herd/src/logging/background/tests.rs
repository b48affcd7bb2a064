//! The background writer: order, completeness at shutdown, and a stalled
//! reader that costs lines instead of blocking the caller.

use super::{CAPACITY, Lines, spawn};
use parking_lot::Mutex;
use std::io::Write;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};

/// An output that keeps what it is given.
#[derive(Clone, Default)]
struct Kept(Arc<Mutex<Vec<u8>>>);

impl Write for Kept {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// An output whose first write waits until the test lets it go.
struct Stalled {
    entered: Sender<()>,
    release: Receiver<()>,
    kept: Kept,
}

impl Write for Stalled {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let _ = self.entered.send(());
        let _ = self.release.recv();
        self.kept.write(bytes)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn log(lines: &Lines, text: &str) {
    use tracing_subscriber::fmt::MakeWriter;
    let mut line = lines.make_writer();
    line.write_all(text.as_bytes()).unwrap();
}

#[test]
fn every_line_is_written_in_order_by_the_time_the_guard_is_dropped() {
    let kept = Kept::default();
    let (lines, flush) = spawn(kept.clone(), CAPACITY).unwrap();
    for i in 0..1000 {
        log(&lines, &format!("line {i}\n"));
    }
    drop(flush);
    let text = String::from_utf8(kept.0.lock().clone()).unwrap();
    let expected: String = (0..1000).map(|i| format!("line {i}\n")).collect();
    assert_eq!(text, expected);
}

#[test]
fn a_stalled_reader_costs_lines_not_the_callers_time() {
    let kept = Kept::default();
    let (entered_tx, entered) = channel();
    let (release, release_rx) = channel();
    let out = Stalled { entered: entered_tx, release: release_rx, kept: kept.clone() };
    let (lines, flush) = spawn(out, 4).unwrap();
    log(&lines, "first\n");
    // The writer thread is now stuck in its first write.
    entered.recv().unwrap();
    // With the queue (4 lines) full, these return at once instead of
    // waiting for the stuck write; all but 4 are counted as dropped.
    for i in 0..10 {
        log(&lines, &format!("queued {i}\n"));
    }
    release.send(()).unwrap();
    drop(release);
    drop(flush);
    let text = String::from_utf8(kept.0.lock().clone()).unwrap();
    assert!(text.starts_with("first\n"), "{text}");
    assert!(text.contains("queued 0\nqueued 1\nqueued 2\nqueued 3\n"), "{text}");
    assert!(!text.contains("queued 4"), "{text}");
    assert!(text.contains("herd: 6 log lines were dropped"), "{text}");
}
