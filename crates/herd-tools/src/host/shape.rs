//! The shape of the host tools' results, shared by every path that runs them.
//!
//! The agent runs its host tools in-process; when a host's agent is down,
//! the hub runs the same tools over SSH (`herd-fleet`). A model must get the
//! same answer either way: the same argument checks and error wording, the
//! same text, the same `structuredContent`, the same `isError` cases. So
//! what decides that shape lives here, once, and both paths use it:
//!
//! - [`args`]: parsing a call's arguments, the shared `encoding` and `mode`
//!   arguments;
//! - [`capture`]: the capped head-and-tail capture of a command's output;
//! - one module per tool ([`shell`], [`read_file`], [`write_file`],
//!   [`edit_file`], [`list_dir`], [`search_files`]): its argument struct
//!   and checks, the rules that pick its output (line windows, literal
//!   edits, listing order and caps), and the builder of its
//!   `CallToolResult`.
//!
//! How a tool gets at the file system or runs a command is not here: that is
//! each path's own business. Failures are [`ToolError`](crate::ToolError)s,
//! whose text is what the model reads.

pub mod args;
pub mod capture;
pub mod edit_file;
pub mod list_dir;
pub mod read_file;
pub mod search_files;
pub mod shell;
pub mod write_file;
