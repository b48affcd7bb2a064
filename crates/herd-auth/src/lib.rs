//! Who may do what in herd.
//!
//! Every request herd serves is made by a [`Principal`]: a herd user
//! through one of their tokens, the subject of an OAuth access token, or,
//! on a server without authentication, [`Principal::anonymous_admin`]. A
//! principal has a [`Role`] (what kind of thing it may do) and a [`Grant`]
//! (on which hosts, with which tools). This crate holds those plain types
//! and the one decision over them, [`allows`], so that one function answers
//! every "may this principal do this?" in herd:
//!
//! - the router calls it when it merges a list (`tools/list`, resources,
//!   prompts, `remote_list_hosts`, `remote_list_tools`, `/v1/models`): an
//!   entry is shown only if acting on it is allowed;
//! - and when it dispatches a call: a denied call fails with the
//!   [`Missing`] permission named.
//!
//! Listing and calling therefore cannot disagree. The decision is pure (no
//! I/O, no clock), so it is tested exhaustively with tables.
//!
//! Principals are produced elsewhere and only consumed here: herd's store
//! resolves a herd token (see [`token`] for how tokens are made and hashed)
//! to a user, role and grant; the [`oauth`] validator turns a JWT from the
//! operator's identity provider into one. The principal then rides in the
//! request's context to the decision, the logs and the audit record.
//!
//! This crate depends on no other herd crate.

mod grant;
#[cfg(feature = "oauth")]
pub mod oauth;
pub mod policy;
mod principal;
mod role;
pub mod token;

pub use grant::{
    Grant, GrantError, GrantPattern, HostGrant, HostPattern, MAX_PATTERNS, PatternKind, Patterns, ToolGrant,
    ToolPattern,
};
pub use policy::hub::{AgentTool, HubTool, hub_tool_target};
pub use policy::{Action, AdminTask, Decision, Host, Missing, Model, Tool, Visibility, allows, retain_tools};
pub use principal::{Identity, Principal, TokenId, UserId};
pub use role::{Role, UnknownRole};
