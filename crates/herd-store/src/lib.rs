//! herd's persistent state: users, tokens, audit records and the MCP servers
//! added at run time, in SQLite (one machine, the default) or PostgreSQL
//! (several hub replicas sharing one state).
//!
//! This crate is the only place that knows SQL. Callers get a [`Store`] from
//! [`Store::open`] (a file path, `sqlite:` or `postgres://` URL; the schema
//! is migrated on open) and call methods named for what they mean:
//! [`Store::add_user`], [`Store::token_by_hash`], [`AuditWriter::append`],
//! [`Store::query_audit`]... The same queries run on both databases, and
//! the tests run every one of them against both.
//!
//! - `users`: [`User`], [`Role`]; what a role allows is decided elsewhere.
//! - `tokens`: [`TokenRecord`]; secrets (made by `herd_auth::token`) are shown once and kept
//!   only as SHA-256 digests.
//! - `audit`: [`AuditRecord`], written by group commit through an
//!   [`AuditWriter`].
//! - `servers`: [`ServerRecord`].
//! - `probes`: [`ProbeResult`], the health probes hub replicas share out
//!   among themselves through leases.
//! - `replicas`: [`ReplicaRecord`], [`ChannelClaim`] and the shared
//!   secrets of hub replicas on one store.
//!
//! LLM registrations will live beside these as their own module and
//! migration.

mod audit;
mod check;
mod error;
mod open;
mod probes;
mod replicas;
mod rows;
mod servers;
mod time;
mod tokens;
mod users;

pub use audit::{
    ARGS_CAP, AUDIT_DEFAULT_LIMIT, AUDIT_MAX_LIMIT, AuditConfig, AuditFilter, AuditPath, AuditRecord, AuditStats,
    AuditWriter, ERROR_CAP, Outcome,
};
pub use error::{Result, StoreError};
pub use open::{Backend, DEFAULT_FILE_NAME, Durability, Store, StoreOptions, default_path};
pub use probes::{ProbeOutcome, ProbeResult};
pub use replicas::{ChannelClaim, ReplicaRecord};
pub use servers::{SPEC_CAP, ServerRecord};
pub use time::Timestamp;
pub use tokens::{LAST_USED_GRANULARITY, MIN_IMPORTED_LEN, TokenRecord, TokenSecret, TokenStatus, hash_secret};
pub use users::{NewUser, Role, User, UserChange};
