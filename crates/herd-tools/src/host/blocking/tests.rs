//! Tests of file system jobs under a hung file system, made real with FIFOs:
//! opening a FIFO for reading blocks in open(2) until a writer comes, as a
//! call on a dead NFS mount blocks, and nothing in user space can end it.

#![allow(clippy::unwrap_used)]

use super::*;
use crate::host::testutil::{config, eventually};
use crate::host::{Host, list_dir, read_file};
use herd_proto::RequestMeta;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::mpsc;

/// A context of the session `id`.
fn session(id: &str) -> Context {
    Context::detached().with_meta(RequestMeta { session_id: Some(id.into()), ..RequestMeta::default() })
}

/// A FIFO nobody writes to, in `dir`.
fn fifo(dir: &Path) -> PathBuf {
    let path = dir.join("hang");
    nix::unistd::mkfifo(&path, Mode::from_bits_truncate(0o600)).unwrap();
    path
}

/// Opens `fifo` for writing, which wakes every reader blocked opening it;
/// the returned handle keeps them from blocking again. A job that said it
/// started may not be in open(2) yet, and without a reader the open fails
/// (ENXIO): it is tried again until a reader is there.
async fn release(fifo: &Path) -> std::os::fd::OwnedFd {
    let open = || nix::fcntl::open(fifo, OFlag::O_WRONLY | OFlag::O_NONBLOCK, Mode::empty());
    let mut writer = open();
    assert!(
        eventually(|| writer.is_ok() || {
            writer = open();
            writer.is_ok()
        })
        .await,
        "no reader: {writer:?}"
    );
    writer.unwrap()
}

/// A job that says it started, then blocks opening `fifo`.
fn hang(
    fifo: &Path,
    started: &mpsc::UnboundedSender<()>,
) -> impl FnOnce(&CancellationToken) -> Result<(), ToolError> + use<> {
    let (fifo, started) = (fifo.to_owned(), started.clone());
    move |_| {
        let _ = started.send(());
        std::fs::File::open(&fifo).map(drop).map_err(|e| failed(e.to_string()))
    }
}

#[tokio::test]
async fn a_job_hung_in_the_kernel_times_out_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = fifo(dir.path());
    let files = Files::new(&HostConfig { file_timeout: Duration::from_secs(1), ..config() });
    let (started, _) = mpsc::unbounded_channel();
    let err = files.run("read_file /mnt/nfs/x", &session("a"), hang(&fifo, &started)).await.unwrap_err().to_string();
    assert!(err.contains("read_file /mnt/nfs/x: timed out after 1s: the file system did not answer"), "{err}");
    assert_eq!(files.pool.stuck(), 1, "the thread left in open(2) is not counted as stuck");

    let _writer = release(&fifo).await;
    assert!(eventually(|| files.pool.stuck() == 0).await, "the thread never came back from open(2)");
    let answer = files.run("t", &session("a"), |_| Ok(42)).await;
    assert_eq!(answer.ok(), Some(42), "the pool does not work after a stuck job returned");
}

#[tokio::test]
async fn other_sessions_keep_working_while_many_jobs_hang() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = fifo(dir.path());
    std::fs::write(dir.path().join("readable"), "still served\n").unwrap();
    let cfg = HostConfig { file_threads: 8, max_file_threads: 64, file_jobs_per_session: 4, ..config() };
    let host = Arc::new(Host::new(cfg));

    // Three sessions hang 6 jobs each: 18 calls, of which each session's
    // share (4) runs; 12 threads stuck, more than the 8 the pool keeps.
    let (started_tx, mut started) = mpsc::unbounded_channel();
    let mut hung = tokio::task::JoinSet::new();
    for id in ["a", "b", "c"] {
        for _ in 0..6 {
            let (host, job) = (host.clone(), hang(&fifo, &started_tx));
            hung.spawn(async move { host.files.run("hang", &session(id), job).await });
        }
    }
    for _ in 0..12 {
        started.recv().await.unwrap();
    }
    assert!(host.files.pool.threads() >= 12, "fewer threads than hung jobs");

    // A fourth session reads and lists as if nothing hung.
    let read = read_file::call(host.clone(), args(json!({"path": dir.path().join("readable")})), session("d")).await;
    assert_eq!(read.unwrap().structured_content.unwrap()["content"], "still served\n");
    let listed = list_dir::call(host.clone(), args(json!({"path": dir.path()})), session("d")).await;
    assert_eq!(listed.unwrap().structured_content.unwrap()["entries"].as_array().map(Vec::len), Some(2));

    // Meanwhile the pool grew for d, but no hung session went past its
    // share: their fifth and sixth calls still wait.
    assert!(started.try_recv().is_err(), "a session ran more jobs than its share");
    assert!(host.files.pool.threads() < 18, "sessions with hung jobs took more than their shares");

    let _writer = release(&fifo).await;
    while let Some(done) = hung.join_next().await {
        assert!(done.unwrap().is_ok(), "a released job failed");
    }
}

#[tokio::test]
async fn a_session_over_its_share_times_out_naming_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = fifo(dir.path());
    let cfg = HostConfig { file_timeout: Duration::from_secs(1), file_jobs_per_session: 1, ..config() };
    let files = Arc::new(Files::new(&cfg));
    let (started_tx, mut started) = mpsc::unbounded_channel();
    let (held, job) = (files.clone(), hang(&fifo, &started_tx));
    let first = tokio::spawn(async move { held.run("first", &session("a"), job).await });
    started.recv().await.unwrap();
    let err = files.run("list_dir /x", &session("a"), |_| Ok(())).await.unwrap_err().to_string();
    assert!(err.contains("list_dir /x: timed out after 1s: this session's share of file system jobs (1)"), "{err}");
    assert!(first.await.unwrap().is_err());
    let _writer = release(&fifo).await;
}

#[tokio::test]
async fn a_job_runs_and_its_answer_comes_back() {
    let files = Files::new(&config());
    let answer = files.run("t", &Context::detached(), |_| Ok(41 + 1)).await;
    assert_eq!(answer.ok(), Some(42));
}

#[tokio::test]
async fn a_call_cancelled_before_its_job_starts_skips_the_job() {
    let files = Files::new(&config());
    let cx = Context::detached();
    cx.cancellation().cancel();
    let ran = Arc::new(AtomicBool::new(false));
    let flag = ran.clone();
    let answer = files
        .run("t", &cx, move |_| {
            flag.store(true, Ordering::SeqCst);
            Ok(())
        })
        .await;
    assert!(answer.err().is_some_and(|e| e.to_string().contains("t: cancelled")));
    assert!(!ran.load(Ordering::SeqCst), "the job ran although its call was cancelled");
}

fn args(value: Value) -> serde_json::Map<String, Value> {
    value.as_object().cloned().unwrap()
}
