//! Tool arguments and tool failures, shaped like the agent's.
//!
//! The argument structs mirror the agent's field for field (unknown fields
//! are refused, so `file_path` for `path` is caught), and the failure texts
//! use the agent's words: `invalid arguments: read_file: ...` for bad input,
//! `read_file /x: No such file or directory (os error 2)` for a failed
//! operation. Also here: the shared `encoding` and `mode` arguments, and
//! the checks that keep request strings safe to carry as shell data.

use super::super::SshError;
use base64::Engine;
use herd_proto::model::CallToolResult;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// How a tool call failed.
#[derive(Debug, thiserror::Error)]
pub(in crate::ssh) enum Fail {
    /// The arguments do not fit the tool (an `isError` result).
    #[error("invalid arguments: {0}")]
    Invalid(String),
    /// The tool ran and failed (an `isError` result).
    #[error("{0}")]
    Failed(String),
    /// The SSH path failed: no result at all.
    #[error(transparent)]
    Ssh(#[from] SshError),
}

/// What a tool returns.
pub(in crate::ssh) type ToolResult = Result<CallToolResult, Fail>;

/// Parses a call's arguments into `T`, naming the tool on failure.
pub(super) fn parse<T: DeserializeOwned>(tool: &str, args: Map<String, Value>) -> Result<T, Fail> {
    serde_json::from_value(Value::Object(args)).map_err(|e| Fail::Invalid(format!("{tool}: {e}")))
}

/// A failure with a plain message.
pub(super) fn failed(message: impl Into<String>) -> Fail {
    Fail::Failed(message.into())
}

/// How file content travels in a tool call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum Encoding {
    /// UTF-8 text.
    #[default]
    #[serde(alias = "utf-8")]
    Utf8,
    /// Base64 of arbitrary bytes.
    Base64,
}

impl Encoding {
    /// The bytes an argument stands for.
    pub(super) fn decode(self, tool: &str, content: String) -> Result<Vec<u8>, Fail> {
        match self {
            Self::Utf8 => Ok(content.into_bytes()),
            Self::Base64 => base64::engine::general_purpose::STANDARD
                .decode(content.trim())
                .map_err(|e| Fail::Invalid(format!("{tool}: content is not valid base64: {e}"))),
        }
    }
}

/// Base64 of `bytes`, standard alphabet with padding.
pub(super) fn to_base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Decodes a base64 field of a record (a path the remote resolved).
pub(super) fn from_base64(field: &str) -> String {
    let bytes = base64::engine::general_purpose::STANDARD.decode(field.trim()).unwrap_or_default();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A permission mode given as an octal string (`"0644"`, `"644"`,
/// `"0o644"`) or a number read as octal digits like chmod (`644`).
pub(super) fn parse_mode(tool: &str, value: &Value) -> Result<u32, Fail> {
    let bad = |why: &str| Fail::Invalid(format!("{tool}: mode {value}: {why}"));
    let digits = match value {
        Value::String(s) => {
            let s = s.trim();
            s.strip_prefix("0o").unwrap_or(s).to_owned()
        }
        Value::Number(n) => match n.as_u64() {
            Some(n) => n.to_string(),
            None => return Err(bad("must be a non-negative integer")),
        },
        _ => return Err(bad("must be an octal string like \"0644\" or a number like 644")),
    };
    if digits.is_empty() {
        return Err(bad("is empty"));
    }
    let mode = u32::from_str_radix(&digits, 8).map_err(|_| bad("is not octal (digits 0-7 only)"))?;
    if mode > 0o7777 {
        return Err(bad("is larger than 7777"));
    }
    Ok(mode)
}

/// `mode` as a four-digit octal string.
pub(super) fn mode_string(mode: u32) -> String {
    format!("{:04o}", mode & 0o7777)
}

/// `value` as shell data: refused when it holds a NUL byte, which no
/// path, command or shell variable can contain.
pub(super) fn no_nul<'a>(tool: &str, what: &str, value: &'a str) -> Result<&'a str, Fail> {
    if value.contains('\0') {
        return Err(Fail::Failed(format!("{tool}: {what} contains a NUL byte")));
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
    use serde_json::json;

    #[test]
    fn modes_are_octal_whatever_their_form() {
        assert_eq!(parse_mode("t", &json!("0644")).ok(), Some(0o644));
        assert_eq!(parse_mode("t", &json!("0o755")).ok(), Some(0o755));
        assert_eq!(parse_mode("t", &json!(600)).ok(), Some(0o600));
        assert!(parse_mode("t", &json!("0855")).is_err());
        assert!(parse_mode("t", &json!(17777)).is_err());
        assert!(parse_mode("t", &json!(true)).is_err());
        assert_eq!(mode_string(0o644), "0644");
    }

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
        #[derive(Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct A {
            path: String,
        }
        let args = json!({"file_path": "x"}).as_object().cloned().unwrap_or_default();
        let err = parse::<A>("read_file", args).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.starts_with("invalid arguments: read_file: unknown field `file_path`"), "{err}");
    }
}
