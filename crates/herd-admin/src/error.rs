//! What an admin operation can fail with, whoever asked (the HTTP API or
//! the command line on the hub's machine).

use crate::BadDuration;
use herd_auth::{GrantError, UnknownRole};
use herd_store::StoreError;

/// Why an admin operation failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AdminError {
    /// A role name that is none of herd's.
    #[error(transparent)]
    Role(#[from] UnknownRole),
    /// A malformed host or tool pattern.
    #[error(transparent)]
    Grant(#[from] GrantError),
    /// A malformed duration or time.
    #[error("{field}: {source}")]
    Time {
        /// Which input.
        field: &'static str,
        /// What is wrong with it.
        #[source]
        source: BadDuration,
    },
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl AdminError {
    pub(crate) fn time(field: &'static str) -> impl FnOnce(BadDuration) -> Self {
        move |source| Self::Time { field, source }
    }
}
