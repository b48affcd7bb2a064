//! Typed tool arguments.
//!
//! Each tool declares its arguments as a serde struct (in its module beside
//! this one, with an `Args::parse` that also checks what needs no
//! configuration); `parse` turns the JSON object of a call into it, or into an
//! [`ToolError::InvalidArguments`] the model can read and fix (unknown
//! fields included, so `file_path` for `path` is caught rather than ignored).
//! Also here: the shared `encoding` and `mode` arguments and the error
//! helpers that name a path together with the operating system's reason.

use crate::catalog::ToolError;
use base64::Engine;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::fmt::Display;
use std::io;

/// Parses a call's arguments into `T`, naming the tool on failure.
pub(crate) fn parse<T: DeserializeOwned>(tool: &str, args: Map<String, Value>) -> Result<T, ToolError> {
    serde_json::from_value(Value::Object(args)).map_err(|e| ToolError::InvalidArguments(format!("{tool}: {e}")))
}

/// How file content travels in a tool call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// UTF-8 text.
    #[default]
    #[serde(alias = "utf-8")]
    Utf8,
    /// Base64 of arbitrary bytes.
    Base64,
}

impl Encoding {
    /// The bytes an argument stands for.
    pub fn decode(self, tool: &str, content: String) -> Result<Vec<u8>, ToolError> {
        match self {
            Self::Utf8 => Ok(content.into_bytes()),
            Self::Base64 => base64::engine::general_purpose::STANDARD
                .decode(content.trim())
                .map_err(|e| ToolError::InvalidArguments(format!("{tool}: content is not valid base64: {e}"))),
        }
    }
}

/// Base64 of `bytes`, standard alphabet with padding.
pub(crate) fn to_base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A permission mode given as an octal string (`"0644"`, `"644"`,
/// `"0o644"`) or a number read as octal digits like chmod (`644`).
pub(super) fn parse_mode(tool: &str, value: &Value) -> Result<u32, ToolError> {
    let bad = |why: &str| ToolError::InvalidArguments(format!("{tool}: mode {value}: {why}"));
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
pub fn mode_string(mode: u32) -> String {
    format!("{:04o}", mode & 0o7777)
}

/// A failure that names what was being done and the OS reason, e.g.
/// `read_file /x: No such file or directory (os error 2)`.
pub(crate) fn io_failed(what: impl Display, e: &io::Error) -> ToolError {
    ToolError::Failed(format!("{what}: {e}"))
}

/// A failure with a plain message.
pub(crate) fn failed(message: impl Into<String>) -> ToolError {
    ToolError::Failed(message.into())
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
        assert!(parse_mode("t", &json!(-1)).is_err());
        assert!(parse_mode("t", &json!(true)).is_err());
        assert_eq!(mode_string(0o644), "0644");
    }

    #[test]
    fn unknown_fields_are_invalid_arguments() {
        #[derive(Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct A {
            path: String,
        }
        let args = json!({"file_path": "x"}).as_object().cloned().unwrap_or_default();
        let err = parse::<A>("read_file", args).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("read_file") && err.contains("file_path"), "{err}");
    }
}
