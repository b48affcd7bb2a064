//! The audit writer of an SQLite file: group commit on a thread of its own,
//! over a connection of its own (rusqlite), its inserts prepared once.
//!
//! An audited server commits a record for every call it answers, so what a
//! record costs the writer is paid on every call. Through sqlx, each batch
//! went from the writer task to sqlx's worker thread for SQLite and back,
//! every value of a row was copied into a boxed argument, and the bound
//! statement was handed over by channel: 8.4 µs of CPU per record (64,736
//! records/s). Here one thread takes the queued records, binds the values
//! straight from the records into statements prepared once (64, 32, ..., 1
//! rows, as the sqlx path does) and commits: 4.7 µs per record (75,754
//! records/s). Both are medians of three runs of the `audit_rate` example,
//! 64 callers, `synchronous = NORMAL`, run in turns on a busy 2-CPU machine
//! (bench/RESULTS.md, "The cost of audit"); what is left is mostly SQLite's
//! own insert and copies of the text values, and the callers' side.
//!
//! The connection is rusqlite's over the same `libsqlite3-sys` sqlx links,
//! so the process holds one SQLite library and its locks see both
//! connections. It opens the store's file after the store has migrated it
//! (WAL mode is a property of the file) and sets the store's durability and
//! busy wait on itself. PostgreSQL, and SQLite in memory (which another
//! connection could not see), keep the writer task over the pool.

use super::sql::{Value, chunk_rows, insert_sql, row_values};
use super::writer::{Counters, Job, settle};
use crate::open::SqliteFile;
use crate::{Backend, Durability, StoreError};
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags, ToSql, TransactionBehavior};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::sync::mpsc;

impl ToSql for Value<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        match self {
            Value::Int(n) => n.to_sql(),
            Value::Text(Some(text)) => Ok(ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes()))),
            Value::Text(None) => Ok(ToSqlOutput::Owned(rusqlite::types::Value::Null)),
        }
    }
}

/// Starts the thread that writes the records queued on `jobs` to `file`,
/// at most `max_batch` per transaction. It ends once every sender is gone.
pub(super) fn spawn(file: Arc<SqliteFile>, mut jobs: mpsc::Receiver<Job>, max_batch: usize, counters: Arc<Counters>) {
    let run = move || {
        let mut connection: Option<Connection> = None;
        let mut batch = Vec::with_capacity(max_batch);
        while jobs.blocking_recv_many(&mut batch, max_batch) > 0 {
            if file.closed.load(Ordering::Relaxed) {
                connection = None;
                settle(&mut batch, Err(StoreError::Closed), &counters);
                continue;
            }
            let result = match &mut connection {
                Some(open) => write(open, &batch),
                None => open(&file).and_then(|open| write(connection.insert(open), &batch)),
            };
            if result.is_err() {
                // Start the next batch on a fresh connection.
                connection = None;
            }
            settle(&mut batch, result.map_err(|e| StoreError::Sqlite(Arc::new(e))), &counters);
        }
    };
    if let Err(e) = std::thread::Builder::new().name("herd-audit".into()).spawn(run) {
        // The queue went with the closure: appends fail as a stopped writer's.
        tracing::error!(error = %e, "cannot start the audit writer thread");
    }
}

fn open(file: &SqliteFile) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection = Connection::open_with_flags(&file.path, flags)?;
    connection.busy_timeout(file.busy)?;
    let synchronous = match file.durability {
        Durability::Normal => "NORMAL",
        Durability::Full => "FULL",
    };
    connection.pragma_update(None, "synchronous", synchronous)?;
    Ok(connection)
}

/// Writes `batch` in one transaction, all or none.
fn write(connection: &mut Connection, batch: &[Job]) -> rusqlite::Result<()> {
    let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut rest = batch;
    while !rest.is_empty() {
        let (chunk, tail) = rest.split_at(chunk_rows(rest.len()));
        let values: Vec<Value<'_>> = chunk.iter().flat_map(|job| row_values(&job.record)).collect();
        tx.prepare_cached(insert_sql(Backend::Sqlite, chunk.len()))?.execute(rusqlite::params_from_iter(&values))?;
        rest = tail;
    }
    tx.commit()
}
