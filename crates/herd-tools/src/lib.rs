//! herd's in-process backends.
//!
//! [`Catalog`] is the engine: a set of tools, resources, resource templates,
//! prompts and completions with async handlers, served to the router as one
//! [`herd_proto::Backend`]. The tool sets herd ships are built on it:
//!
//! - [`conformance`]: the fixtures the official MCP conformance suite calls;
//! - [`host`]: the agent's host tools (shell, files, search); their
//!   arguments and results are in [`host::shape`], which the hub's SSH
//!   fallback uses too, so either path answers alike;
//! - [`ChildEnv`]: what every process herd starts inherits (never its
//!   secrets).

pub mod catalog;
pub mod child_env;
pub mod conformance;
pub mod host;

pub use catalog::{Catalog, CatalogBuilder, ToolError};
pub use child_env::ChildEnv;
