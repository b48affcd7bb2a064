//! What a tool name may look like when a client names a tool herd does not
//! list itself (the hub's `remote_call` reaches any tool of any agent).
//!
//! MCP 2025-11-25 says tool names SHOULD be 1 to 128 characters of
//! `A-Z a-z 0-9 _ - .`; SEP-986 as first published also allowed `/`, and
//! servers in the wild use it, so herd accepts that union. A name that
//! passes is short and plain: safe to put in a log line or a metric label.

/// Longest tool name accepted.
pub const MAX_TOOL_NAME: usize = 128;

/// Why a string is not a tool name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ToolNameError {
    /// The empty string.
    #[error("a tool name must not be empty")]
    Empty,
    /// Longer than [`MAX_TOOL_NAME`] bytes.
    #[error("a tool name must be at most {MAX_TOOL_NAME} characters, not {0}")]
    TooLong(usize),
    /// A character outside `A-Z a-z 0-9 _ - . /`.
    #[error("a tool name may hold only A-Z a-z 0-9 _ - . /, not {0:?}")]
    BadCharacter(char),
}

/// Checks `name` against `^[A-Za-z0-9_./-]{1,128}$`.
pub fn check_tool_name(name: &str) -> Result<(), ToolNameError> {
    if name.is_empty() {
        return Err(ToolNameError::Empty);
    }
    if let Some(bad) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'))) {
        return Err(ToolNameError::BadCharacter(bad));
    }
    if name.len() > MAX_TOOL_NAME {
        return Err(ToolNameError::TooLong(name.len()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_the_spec_and_of_sep_986_pass() {
        for name in ["getUser", "DATA_EXPORT_v2", "admin.tools.list", "user-profile/update", "time__now", "a"] {
            assert_eq!(check_tool_name(name), Ok(()), "{name}");
        }
        assert_eq!(check_tool_name(&"x".repeat(MAX_TOOL_NAME)), Ok(()));
    }

    #[test]
    fn empty_long_and_odd_names_are_refused_with_the_reason() {
        assert_eq!(check_tool_name(""), Err(ToolNameError::Empty));
        assert_eq!(check_tool_name(&"x".repeat(MAX_TOOL_NAME + 1)), Err(ToolNameError::TooLong(129)));
        assert_eq!(check_tool_name("read file"), Err(ToolNameError::BadCharacter(' ')));
        assert_eq!(check_tool_name("a\nb"), Err(ToolNameError::BadCharacter('\n')));
        assert_eq!(check_tool_name("é"), Err(ToolNameError::BadCharacter('é')));
        assert_eq!(
            check_tool_name("a,b").unwrap_err().to_string(),
            "a tool name may hold only A-Z a-z 0-9 _ - . /, not ','"
        );
    }
}
