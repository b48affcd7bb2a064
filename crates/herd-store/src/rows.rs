//! Reading columns out of a row of either backend.
//!
//! Queries run against a concrete pool (see [`crate::open`]), so each
//! backend yields its own row type. Turning a row into a [`crate::User`] or
//! an [`crate::AuditRecord`] is written once, against this trait, which both
//! row types implement with the same few column types the schema uses.

use crate::{Result, StoreError, Timestamp};
use sqlx::Row as _;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;

pub(crate) trait Columns {
    fn int(&self, col: &str) -> Result<i64>;
    fn opt_int(&self, col: &str) -> Result<Option<i64>>;
    fn text(&self, col: &str) -> Result<String>;
    fn opt_text(&self, col: &str) -> Result<Option<String>>;
    fn bytes(&self, col: &str) -> Result<Vec<u8>>;
    fn flag(&self, col: &str) -> Result<bool>;

    fn time(&self, col: &str) -> Result<Timestamp> {
        self.int(col).map(Timestamp::from_unix_millis)
    }

    fn opt_time(&self, col: &str) -> Result<Option<Timestamp>> {
        Ok(self.opt_int(col)?.map(Timestamp::from_unix_millis))
    }

    /// A column holding a JSON array of strings.
    fn list(&self, col: &str) -> Result<Vec<String>> {
        let text = self.text(col)?;
        serde_json::from_str(&text).map_err(|e| StoreError::invalid("stored list", format!("column {col}: {e}")))
    }
}

macro_rules! columns_for {
    ($($row:ty),*) => {$(
        impl Columns for $row {
            fn int(&self, col: &str) -> Result<i64> {
                Ok(self.try_get(col)?)
            }
            fn opt_int(&self, col: &str) -> Result<Option<i64>> {
                Ok(self.try_get(col)?)
            }
            fn text(&self, col: &str) -> Result<String> {
                Ok(self.try_get(col)?)
            }
            fn opt_text(&self, col: &str) -> Result<Option<String>> {
                Ok(self.try_get(col)?)
            }
            fn bytes(&self, col: &str) -> Result<Vec<u8>> {
                Ok(self.try_get(col)?)
            }
            fn flag(&self, col: &str) -> Result<bool> {
                Ok(self.try_get(col)?)
            }
        }
    )*};
}

columns_for!(SqliteRow, PgRow);
