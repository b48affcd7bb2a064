//! herd's administration: users, tokens and the audit log, for admins.
//!
//! The store ([`herd_store`]) keeps users, tokens and audit records, and
//! the policy ([`herd_auth`]) says that only admins manage them; this crate
//! is what joins the two for people: the operations an admin runs
//! ([`Admin`]), the HTTP API a hub serves them on ([`routes`]) and the
//! background pruning of old audit records ([`retention`]). `herd user`,
//! `herd token` and `herd audit` call the API of a running hub, or, on the
//! hub's machine (`--home DIR`), the same [`Admin`] operations directly, so
//! both paths check input alike.
//!
//! A change that withdraws access (a token revoked, a user changed or
//! disabled) is reported to an [`OnRevoke`] hook once stored, so whatever
//! caches resolved credentials drops them at once.

mod admin;
mod duration;
mod error;
mod http;
pub mod retention;
mod wire;

pub use admin::{Admin, Invalidated, OnRevoke, audit_filter, no_cache, patterns_arg};
pub use duration::{BadDuration, parse_duration, parse_time};
pub use error::AdminError;
pub use http::{BODY_LIMIT, CertificateRoutes, certificate_routes};
pub use retention::{AuditSettings, spawn_pruner};
pub use wire::{AddUser, AuditQuery, CreateToken, CreatedToken, SetUser, TokenView};

/// The admin API over `store` (see the `http` module's table of routes),
/// telling `on_revoke` about revoked tokens and changed users and writing
/// an audit record of each change through `audit`. Mount it with
/// `herd_transport::http::guarded`, which checks the credential and puts
/// the caller's principal in the request.
pub fn routes(store: herd_store::Store, on_revoke: OnRevoke, audit: herd_store::AuditWriter) -> axum::Router {
    http::router(Admin::new(store, on_revoke), audit)
}
