//! A nesting-depth check that runs on raw bytes before any JSON parser.
//!
//! Deeply nested JSON (`[[[[...`) costs a recursive parser stack; a limit
//! enforced up front turns such input into a clear error for every transport
//! alike. The scan is a single pass that tracks only string state, so it is
//! cheap enough to run on every message.

use thiserror::Error;

/// The input nests deeper than allowed.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("JSON nesting deeper than {limit} levels")]
pub struct DepthError {
    /// The limit that was exceeded.
    pub limit: usize,
}

/// Fails when `bytes` nests arrays/objects deeper than `limit`.
///
/// Brackets inside strings do not count. Malformed input is not judged here;
/// the parser that runs next reports it.
pub fn check_depth(bytes: &[u8], limit: usize) -> Result<(), DepthError> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in bytes {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return Err(DepthError { limit });
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_only_structure_outside_strings() {
        assert!(check_depth(br#"{"a":[1,{"b":2}]}"#, 3).is_ok());
        assert_eq!(check_depth(br#"{"a":[1,{"b":2}]}"#, 2), Err(DepthError { limit: 2 }));
        assert!(check_depth(br#"{"a":"[[[[[[\"[[["}"#, 1).is_ok());
    }

    #[test]
    fn rejects_deep_input_at_the_limit() {
        let deep = "[".repeat(65) + &"]".repeat(65);
        assert!(check_depth(deep.as_bytes(), 64).is_err());
        let ok = "[".repeat(64) + &"]".repeat(64);
        assert!(check_depth(ok.as_bytes(), 64).is_ok());
    }
}
