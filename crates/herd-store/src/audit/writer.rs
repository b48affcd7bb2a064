//! Group commit: many callers, one transaction per batch.
//!
//! Every [`AuditWriter::append`] puts its record on a bounded queue and waits.
//! One task takes everything queued (up to a batch), writes it with
//! [`Store::append_audit`] in one transaction, and, once that commits, wakes
//! every waiter of the batch with the result. Records that arrive during a
//! commit form the next batch, so the number of transactions follows the
//! database's commit latency, not the request rate. A full queue makes
//! callers wait (backpressure); nothing grows without bound.
//!
//! On an SQLite file the batches are written by a thread of its own
//! ([`super::sqlite_writer`]); on PostgreSQL (and SQLite in memory) by a
//! task through the store's pool.

use super::AuditRecord;
use crate::{Result, Store, StoreError};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::{mpsc, oneshot};

/// Sizes of an [`AuditWriter`].
#[derive(Debug, Clone)]
pub struct AuditConfig {
    /// Records that may wait for the writer before callers are held back
    /// (default 4096).
    pub queue: usize,
    /// Most records committed in one transaction (default 1024).
    pub max_batch: usize,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self { queue: 4096, max_batch: 1024 }
    }
}

/// What an [`AuditWriter`] has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AuditStats {
    /// Records committed.
    pub records: u64,
    /// Transactions committed.
    pub commits: u64,
    /// Records whose transaction failed.
    pub failed: u64,
}

#[derive(Default)]
pub(super) struct Counters {
    records: AtomicU64,
    commits: AtomicU64,
    failed: AtomicU64,
}

pub(super) struct Job {
    pub(super) record: AuditRecord,
    done: oneshot::Sender<Result<()>>,
}

/// A handle to a store's audit writer task; clones share the task. The task
/// ends once every handle is dropped and the queue is drained.
#[derive(Clone)]
pub struct AuditWriter {
    queue: mpsc::Sender<Job>,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for AuditWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditWriter").field("stats", &self.stats()).finish_non_exhaustive()
    }
}

impl Store {
    /// Starts a writer for this store's audit log: a thread of its own on
    /// an SQLite file, else a task. Must be called from within a Tokio
    /// runtime.
    pub fn audit_writer(&self, config: &AuditConfig) -> AuditWriter {
        let (queue, jobs) = mpsc::channel(config.queue.max(1));
        let counters = Arc::new(Counters::default());
        let max_batch = config.max_batch.max(1);
        match &self.file {
            Some(file) => super::sqlite_writer::spawn(file.clone(), jobs, max_batch, counters.clone()),
            None => drop(tokio::spawn(run(self.clone(), jobs, max_batch, counters.clone()))),
        }
        AuditWriter { queue, counters }
    }
}

impl AuditWriter {
    /// Writes `record` and returns once it is committed, or with the error
    /// of its batch's transaction (every record of the batch gets it; after
    /// a [`StoreError::Timeout`] the batch may still have been committed).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it has found room in the queue leaves the
    /// record unwritten. Once it is queued (on the first poll, unless the
    /// queue is full), the record is written whether or not the future is
    /// still there to hear about it; dropping it then only gives up the
    /// answer.
    pub async fn append(&self, record: AuditRecord) -> Result<()> {
        let (done, answer) = oneshot::channel();
        self.queue.send(Job { record, done }).await.map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// Queues `record` and returns once it is queued, not committed: for a
    /// copy whose durability another node already holds (an agent's record
    /// of a call its hub authorized and recorded). A full queue still holds
    /// the caller back.
    ///
    /// # Cancel safety
    ///
    /// As [`AuditWriter::append`]: once queued, the record is written.
    pub async fn submit(&self, record: AuditRecord) -> Result<()> {
        let (done, _unheard) = oneshot::channel();
        self.queue.send(Job { record, done }).await.map_err(|_| StoreError::Closed)
    }

    /// Counts so far.
    pub fn stats(&self) -> AuditStats {
        AuditStats {
            records: self.counters.records.load(Ordering::Relaxed),
            commits: self.counters.commits.load(Ordering::Relaxed),
            failed: self.counters.failed.load(Ordering::Relaxed),
        }
    }
}

async fn run(store: Store, mut jobs: mpsc::Receiver<Job>, max_batch: usize, counters: Arc<Counters>) {
    let mut batch = Vec::with_capacity(max_batch);
    while jobs.recv_many(&mut batch, max_batch).await > 0 {
        let records: Vec<&AuditRecord> = batch.iter().map(|job| &job.record).collect();
        let result = store.append_audit(&records).await;
        settle(&mut batch, result, &counters);
    }
}

/// Counts a written (or failed) batch and answers each of its callers.
pub(super) fn settle(batch: &mut Vec<Job>, result: Result<()>, counters: &Counters) {
    let n = batch.len() as u64;
    match &result {
        Ok(()) => {
            counters.records.fetch_add(n, Ordering::Relaxed);
            counters.commits.fetch_add(1, Ordering::Relaxed);
        }
        Err(e) => {
            counters.failed.fetch_add(n, Ordering::Relaxed);
            tracing::warn!(records = n, error = %e, "audit batch not committed");
        }
    }
    for job in batch.drain(..) {
        // A waiter that went away still had its record written.
        let _ = job.done.send(result.clone());
    }
}
