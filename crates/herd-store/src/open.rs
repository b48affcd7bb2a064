//! Opening a store: which database a target names, how its connections are
//! pooled and bounded, and bringing its schema up to date.
//!
//! A target is a `postgres://` (or `postgresql://`) URL, a `sqlite:` URL, or
//! a plain file path (SQLite). A SQLite file is created if missing (mode
//! 0600, its directory 0700), runs in WAL mode, enforces foreign keys and
//! waits for a busy lock instead of failing at once. What a commit survives
//! is [`Durability`]: by default the process being killed (`synchronous =
//! NORMAL`: a commit is in the WAL file, in the OS's cache, before it
//! returns), or on request power loss too (`FULL`: every commit waits for
//! an fsync, which bounds an audited server at a few hundred commits a
//! second).
//!
//! Every operation has a deadline ([`StoreOptions::timeout`]): waiting for a
//! pooled connection, SQLite's busy wait and PostgreSQL's `statement_timeout`
//! are each bounded by it, and the whole operation (including a half-open
//! connection to PostgreSQL) by [`Store::bounded`].

mod migrations;

use crate::{Result, StoreError};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::str::FromStr as _;
use std::sync::Arc;
use std::time::Duration;

/// The file name of the SQLite database inside `$HERD_HOME`.
pub const DEFAULT_FILE_NAME: &str = "herd.db";

/// Where the SQLite database lives inside a state directory.
pub fn default_path(home: &Path) -> PathBuf {
    home.join(DEFAULT_FILE_NAME)
}

/// What a commit to an SQLite store survives. PostgreSQL's is the
/// server's own setting (`synchronous_commit`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// The process being killed or crashing (SIGKILL, OOM, a panic): a
    /// commit is written to the WAL file before it returns; losing power
    /// may lose the last commits. SQLite's `synchronous = NORMAL`.
    #[default]
    Normal,
    /// Power loss too: every commit waits for the WAL file to be synced to
    /// the disk. SQLite's `synchronous = FULL`.
    Full,
}

impl std::str::FromStr for Durability {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "normal" => Ok(Self::Normal),
            "full" => Ok(Self::Full),
            other => Err(StoreError::invalid("sync", format!("{other:?}: use \"normal\" or \"full\""))),
        }
    }
}

/// How a store pools and bounds its connections.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Most connections open at once (default 8 for SQLite, 10 for PostgreSQL).
    pub max_connections: Option<u32>,
    /// Longest any one operation may take, waiting for a connection included
    /// (default 30 s).
    pub timeout: Duration,
    /// What an SQLite commit survives (default: the process being killed).
    pub durability: Durability,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self { max_connections: None, timeout: Duration::from_secs(30), durability: Durability::Normal }
    }
}

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file (or memory).
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// herd's persistent state: a handle to a pool of connections, cheap to clone.
#[derive(Clone)]
pub struct Store {
    pub(crate) db: Db,
    timeout: Duration,
    /// An SQLite store's file: where the audit writer opens its own
    /// connection. `None` for PostgreSQL and for SQLite in memory.
    pub(crate) file: Option<Arc<SqliteFile>>,
}

/// The file of an SQLite store and how its connections treat it.
#[derive(Debug)]
pub(crate) struct SqliteFile {
    pub(crate) path: PathBuf,
    pub(crate) durability: Durability,
    /// How long a connection waits for another's write lock.
    pub(crate) busy: Duration,
    /// Set by [`Store::close`]: connections of the store's own stop too.
    pub(crate) closed: std::sync::atomic::AtomicBool,
}

#[derive(Clone)]
pub(crate) enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the store's concrete pool, whichever
/// backend it is. SQL is written once: both databases accept `$1`-style
/// parameters, `RETURNING` and `ON CONFLICT`, and the schema uses the same
/// column types in both (`BIGINT`, `TEXT`, `BOOLEAN`; `BLOB`/`BYTEA`).
macro_rules! on_db {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.db {
            $crate::open::Db::Sqlite($pool) => $body,
            $crate::open::Db::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_db;

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("backend", &self.backend()).finish_non_exhaustive()
    }
}

/// Opens a SQLite pool, waiting out another process that is creating the
/// same file. Turning a new file to WAL takes an exclusive lock, and SQLite
/// answers `SQLITE_BUSY` to that at once instead of calling the busy handler;
/// the caller's deadline bounds the retries.
async fn connect_sqlite(pool: SqlitePoolOptions, connect: SqliteConnectOptions) -> Result<SqlitePool> {
    let mut pause = Duration::from_millis(5);
    loop {
        match pool.clone().connect_with(connect.clone()).await {
            Err(e) if is_busy(&e) => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(200));
            }
            other => return Ok(other?),
        }
    }
}

/// `SQLITE_BUSY` or one of its extended codes.
fn is_busy(err: &sqlx::Error) -> bool {
    let code = err.as_database_error().and_then(|e| e.code()).and_then(|c| c.parse::<i32>().ok());
    code.is_some_and(|code| code & 0xff == 5)
}

impl Store {
    /// Opens (creating if needed) the database `target` names and runs its
    /// migrations, with default [`StoreOptions`].
    pub async fn open(target: &str) -> Result<Store> {
        Self::open_with(target, &StoreOptions::default()).await
    }

    /// [`Store::open`] with explicit options.
    pub async fn open_with(target: &str, options: &StoreOptions) -> Result<Store> {
        let timeout = options.timeout;
        let lock_wait = timeout.min(Duration::from_secs(10));
        let mut file = None;
        let db = if target.starts_with("postgres://") || target.starts_with("postgresql://") {
            let (ms, lock_ms) = (timeout.as_millis().to_string(), lock_wait.as_millis().to_string());
            let connect = PgConnectOptions::from_str(target)?.application_name("herd").options([
                ("statement_timeout", ms.as_str()),
                ("lock_timeout", lock_ms.as_str()),
                ("idle_in_transaction_session_timeout", ms.as_str()),
            ]);
            let pool = PgPoolOptions::new()
                .max_connections(options.max_connections.unwrap_or(10))
                .min_connections(0)
                .acquire_timeout(lock_wait)
                .idle_timeout(Duration::from_secs(600))
                .connect_with(connect);
            Db::Postgres(within(timeout, pool).await??)
        } else {
            let in_memory = target.contains(":memory:") || target.contains("mode=memory");
            let connect = if target.starts_with("sqlite:") {
                SqliteConnectOptions::from_str(target)?
            } else if target.contains("://") {
                return Err(StoreError::invalid("database", "use a postgres:// or sqlite: URL, or a file path"));
            } else {
                SqliteConnectOptions::new().filename(target)
            };
            if !in_memory {
                prepare_file(connect.get_filename())?;
                let path = connect.get_filename().to_path_buf();
                let (durability, closed) = (options.durability, Default::default());
                file = Some(Arc::new(SqliteFile { path, durability, busy: lock_wait, closed }));
            }
            let connect = connect
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(match options.durability {
                    Durability::Normal => SqliteSynchronous::Normal,
                    Durability::Full => SqliteSynchronous::Full,
                })
                .foreign_keys(true)
                .busy_timeout(lock_wait);
            let pool = SqlitePoolOptions::new()
                .max_connections(options.max_connections.unwrap_or(8))
                .min_connections(1)
                .acquire_timeout(lock_wait);
            Db::Sqlite(within(timeout, connect_sqlite(pool, connect)).await??)
        };
        let store = Store { db, timeout, file };
        store.bounded(store.migrate()).await?;
        Ok(store)
    }

    /// Brings the schema up to date. On PostgreSQL the migrator holds an
    /// advisory lock, so replicas starting together take turns. SQLite has
    /// no such lock: two processes opening a new file at once can both try
    /// a migration, and the loser's transaction fails and rolls back. A
    /// second run then finds it applied; a real failure fails again, and a
    /// busy database is waited out until the store's deadline.
    async fn migrate(&self) -> Result<()> {
        match &self.db {
            Db::Sqlite(pool) => {
                let migrator = migrations::sqlite();
                let (mut attempts, mut pause) = (0, Duration::from_millis(5));
                while let Err(e) = migrator.run(pool).await {
                    attempts += 1;
                    let busy = matches!(&e, sqlx::migrate::MigrateError::Execute(e) if is_busy(e));
                    if attempts >= 3 && !busy {
                        return Err(e.into());
                    }
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(200));
                }
            }
            Db::Postgres(pool) => migrations::postgres().run(pool).await?,
        }
        Ok(())
    }

    /// Which database this store runs on.
    pub fn backend(&self) -> Backend {
        match self.db {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Asks the database a trivial query under the store's deadline: whether
    /// it answers now (a hub's `/readyz`).
    pub async fn ping(&self) -> Result<()> {
        self.bounded(async {
            on_db!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(drop)?);
            Ok(())
        })
        .await
    }

    /// Closes every connection, waiting for those in use to be returned;
    /// the audit writer's own connection closes with its next batch, which
    /// fails.
    pub async fn close(&self) {
        if let Some(file) = &self.file {
            file.closed.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        on_db!(self, pool => pool.close().await);
    }

    /// Runs `op` under the store's deadline.
    pub(crate) async fn bounded<T>(&self, op: impl Future<Output = Result<T>>) -> Result<T> {
        within(self.timeout, op).await?
    }
}

async fn within<T>(limit: Duration, op: impl Future<Output = T>) -> Result<T> {
    tokio::time::timeout(limit, op).await.map_err(|_| StoreError::Timeout(limit))
}

/// Creates the database file (0600) and its directory (0700) if missing, so
/// SQLite never creates them with the process umask. SQLite gives the WAL and
/// shared-memory files the database file's mode.
fn prepare_file(path: &Path) -> Result<()> {
    let io = |path: &Path, e: std::io::Error| StoreError::Io { path: path.display().to_string(), source: Arc::new(e) };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(|e| io(dir, e))?;
    }
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map_err(|e| io(path, e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SQLite's `synchronous` on a connection of the pool: 1 NORMAL, 2 FULL.
    async fn synchronous(durability: Durability) -> i64 {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("herd.db");
        let options = StoreOptions { durability, ..StoreOptions::default() };
        let store = Store::open_with(target.to_str().unwrap(), &options).await.unwrap();
        let Db::Sqlite(pool) = &store.db else { unreachable!("a file path is SQLite") };
        sqlx::query_scalar("PRAGMA synchronous").fetch_one(pool).await.unwrap()
    }

    #[tokio::test]
    async fn sqlite_commits_wait_for_the_disk_only_when_asked() {
        assert_eq!(synchronous(Durability::default()).await, 1);
        assert_eq!(synchronous(Durability::Full).await, 2);
        assert_eq!("full".parse::<Durability>().unwrap(), Durability::Full);
        assert!("fsync".parse::<Durability>().unwrap_err().to_string().contains("\"normal\" or \"full\""));
    }
}
