//! Tool failures, and request strings made safe to carry as shell data.
//!
//! The arguments themselves are the agent's own structs
//! ([`herd_tools::host::shape`]), and failures are the agent's
//! [`ToolError`]s, so their texts are the agent's words: `invalid
//! arguments: read_file: ...` for bad input, `read_file /x: No such file or
//! directory (os error 2)` for a failed operation. What is added here is
//! what only the SSH path needs: its own failure ([`Fail::Ssh`]), the
//! checks that keep paths and values plain data for the remote's shell and
//! utilities, and decoding what the remote sends back.

use super::super::SshError;
use base64::Engine;
use herd_proto::model::CallToolResult;
use herd_tools::ToolError;

/// How a tool call failed.
#[derive(Debug, thiserror::Error)]
pub(in crate::ssh) enum Fail {
    /// The arguments do not fit the tool, or the tool ran and failed: an
    /// `isError` result with the agent's text.
    #[error(transparent)]
    Tool(#[from] ToolError),
    /// The SSH path failed: no result at all.
    #[error(transparent)]
    Ssh(#[from] SshError),
}

/// What a tool returns.
pub(in crate::ssh) type ToolResult = Result<CallToolResult, Fail>;

/// A failure with a plain message.
pub(super) fn failed(message: impl Into<String>) -> Fail {
    Fail::Tool(ToolError::Failed(message.into()))
}

/// Arguments that do not fit the tool.
pub(super) fn invalid(message: impl Into<String>) -> Fail {
    Fail::Tool(ToolError::InvalidArguments(message.into()))
}

/// Decodes a base64 field of a record (a path the remote resolved).
pub(super) fn from_base64(field: &str) -> String {
    let bytes = base64::engine::general_purpose::STANDARD.decode(field.trim()).unwrap_or_default();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// `value` as shell data: refused when it holds a NUL byte, which no
/// path, command or shell variable can contain.
pub(super) fn no_nul<'a>(tool: &str, what: &str, value: &'a str) -> Result<&'a str, Fail> {
    if value.contains('\0') {
        return Err(failed(format!("{tool}: {what} contains a NUL byte")));
    }
    Ok(value)
}

/// A path as the remote tools should see it: a leading `-` gets `./` so
/// no utility can take the path for an option.
pub(super) fn remote_path(tool: &str, path: &str) -> Result<String, Fail> {
    let path = no_nul(tool, "path", path)?;
    Ok(if path.starts_with('-') { format!("./{path}") } else { path.to_owned() })
}

/// A path the remote reports back, without the `./` [`remote_path`] added.
pub(super) fn shown_path(given: &str, reported: String) -> String {
    match reported.strip_prefix("./") {
        Some(rest) if given.starts_with('-') && !given.starts_with("./") => rest.to_owned(),
        _ => reported,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_like_paths_are_made_plain_and_shown_as_given() {
        assert_eq!(remote_path("t", "-rf").ok().as_deref(), Some("./-rf"));
        assert_eq!(remote_path("t", "/a/-b").ok().as_deref(), Some("/a/-b"));
        assert!(remote_path("t", "a\0b").is_err());
        assert_eq!(shown_path("-rf", "./-rf".into()), "-rf");
        assert_eq!(shown_path("./x", "./x".into()), "./x");
    }

    #[test]
    fn failures_read_like_the_agent() {
        assert_eq!(invalid("read_file: x").to_string(), "invalid arguments: read_file: x");
        assert_eq!(failed("read_file /x: gone").to_string(), "read_file /x: gone");
    }
}
