//! The one error type of the store.
//!
//! Callers branch on what went wrong (a missing user, a duplicate name, bad
//! input) without looking at SQL error codes: the driver's errors are sorted
//! into these variants here, once. The type is `Clone` because the audit
//! writer hands one commit's failure to every caller waiting on it.

use std::sync::Arc;
use std::time::Duration;

/// What a store operation can fail with.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The named thing does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The named thing exists already (a duplicate user name, say).
    #[error("{0} already exists")]
    Conflict(String),
    /// The change would leave no enabled admin: nobody could manage herd
    /// any more.
    #[error("cannot disable or demote the last enabled admin; add another admin first")]
    LastAdmin,
    /// A value was refused before reaching the database.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// Which input was refused.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// The database failed (connection, I/O, constraint, timeout).
    #[error("database error: {0}")]
    Database(#[source] Arc<sqlx::Error>),
    /// The audit writer's own SQLite connection failed.
    #[error("database error: {0}")]
    Sqlite(#[source] Arc<rusqlite::Error>),
    /// The schema could not be brought up to date.
    #[error("migration failed: {0}")]
    Migration(#[source] Arc<sqlx::migrate::MigrateError>),
    /// The database file or its directory could not be prepared.
    #[error("cannot prepare {path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// The underlying failure.
        #[source]
        source: Arc<std::io::Error>,
    },
    /// The operation did not finish within its deadline.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The audit writer has stopped (its store was closed).
    #[error("audit writer stopped")]
    Closed,
}

/// Short for `Result<T, StoreError>`.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl StoreError {
    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid { field, reason: reason.into() }
    }

    /// Sorts a driver error: a unique-key violation becomes
    /// [`StoreError::Conflict`] naming `what`, anything else
    /// [`StoreError::Database`].
    pub(crate) fn from_write(err: sqlx::Error, what: impl FnOnce() -> String) -> Self {
        match &err {
            sqlx::Error::Database(db) if db.is_unique_violation() => Self::Conflict(what()),
            _ => Self::from(err),
        }
    }
}

impl From<herd_auth::UnknownRole> for StoreError {
    fn from(err: herd_auth::UnknownRole) -> Self {
        Self::invalid("role", err.to_string())
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        Self::Database(Arc::new(err))
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(err: sqlx::migrate::MigrateError) -> Self {
        Self::Migration(Arc::new(err))
    }
}
