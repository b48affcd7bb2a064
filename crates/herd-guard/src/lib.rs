//! Where herd enforces its one policy and writes its audit log.
//!
//! `herd-auth` decides ([`herd_auth::allows`]); this crate applies that
//! decision to backends, so that every list and every call of every
//! backend asks the same question:
//!
//! - [`Guarded`] wraps a [`Backend`](herd_proto::Backend) with a [`Scope`]
//!   (what its entries are: the tools of one host, or the hub's own tools).
//!   Its lists keep only the entries the request's principal may act on,
//!   and its calls are refused with [`forbidden`] unless the same action is
//!   allowed, so a principal's lists equal exactly what it may call.
//! - Backends that reach many hosts (the hub's exposure, the per-host half
//!   of the hub tools) decide per host themselves with [`check`] and
//!   [`may`], and are wrapped with [`Scope::Delegated`] for the audit only.
//! - [`Audit`] writes one record per request that reaches a tool, resource,
//!   prompt or completion, and the answer waits until it is committed.
//!
//! A request without a principal is herd's own background work (routing
//! tables, probes): it sees everything and is never audited.
//!
//! Every denial is the JSON-RPC error [`code::FORBIDDEN`] naming the missing
//! permission, tools included: a denied tool is one the caller's
//! `tools/list` does not show, so it is refused like an unknown one rather
//! than answered with an `isError` result a model might retry.

mod annotations;
mod audit;
mod guard;
#[cfg(any(test, feature = "test-util"))]
pub mod testing;

pub use audit::{Audit, Pending};
pub use guard::{Guarded, Locate, Scope};

use herd_auth::{Action, Missing};
use herd_proto::{Context, RpcError, code};
use serde_json::json;

/// The error of a denied request: [`code::FORBIDDEN`], the missing
/// permission in the message and in `data.missing`.
pub fn forbidden(missing: &Missing) -> RpcError {
    RpcError::new(code::FORBIDDEN, format!("forbidden: {missing}")).with_data(json!({ "missing": missing.to_string() }))
}

/// `Ok` when the request's principal may do `action` (always, for herd's
/// own background work), else [`forbidden`].
pub fn check(cx: &Context, action: &Action<'_>) -> Result<(), RpcError> {
    match &cx.meta().principal {
        None => Ok(()),
        Some(principal) => principal.allows(action).into_result().map_err(|m| forbidden(&m)),
    }
}

/// Whether the request's principal may do `action`: what list filters ask.
pub fn may(cx: &Context, action: &Action<'_>) -> bool {
    cx.meta().principal.as_ref().is_none_or(|p| p.allows(action).is_allowed())
}
