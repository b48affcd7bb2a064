//! Failures of the SSH path itself.
//!
//! A tool that ran and failed (a missing file, an ambiguous edit, a command
//! that timed out under its own `timeout`) is not an [`SshError`]: it is an
//! `isError` tool result, exactly as the agent would return it. An
//! `SshError` means the hub could not get an answer over SSH at all, so the
//! caller can report "agent down, ssh failed too" with both reasons. Every
//! message names the destination, what was tried and why it failed.

use std::time::Duration;

/// Why a call over SSH produced no tool result.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum SshError {
    /// The destination cannot be passed to `ssh` (empty, or would be read
    /// as an option).
    #[error("ssh {dest:?}: invalid destination: {why}")]
    InvalidDestination {
        /// The destination as given.
        dest: String,
        /// What is wrong with it.
        why: String,
    },
    /// The tool has no SSH implementation (see [`SshPool::supports`](super::SshPool::supports)).
    #[error("ssh {dest}: tool {tool} is not available over ssh")]
    Unsupported {
        /// The destination.
        dest: String,
        /// The tool asked for.
        tool: String,
    },
    /// No connection within the connect timeout.
    #[error("ssh {dest}: connect timed out after {after:?}{}", detail(.reason))]
    ConnectTimeout {
        /// The destination.
        dest: String,
        /// The connect timeout.
        after: Duration,
        /// What ssh said, if anything.
        reason: String,
    },
    /// ssh could not connect or authenticate (refused, unknown host key,
    /// permission denied, name not resolved, ...).
    #[error("ssh {dest}: cannot connect: {reason}")]
    Connect {
        /// The destination.
        dest: String,
        /// What ssh said.
        reason: String,
    },
    /// The call did not finish within its hard wall-clock cap; the channel
    /// was closed, which makes the remote side kill the call's processes.
    #[error("ssh {dest}: {tool} gave no result within {after:?}; closed the channel, which kills its remote processes")]
    Timeout {
        /// The destination.
        dest: String,
        /// The tool.
        tool: String,
        /// The cap that ran out.
        after: Duration,
    },
    /// The connection broke before the call finished.
    #[error("ssh {dest}: connection lost during {tool}: {reason}")]
    Disconnected {
        /// The destination.
        dest: String,
        /// The tool.
        tool: String,
        /// What was observed.
        reason: String,
    },
    /// The remote side could not run the tool's script (no `sh`, no
    /// `base64`, a session refused by the server, ...).
    #[error("ssh {dest}: {tool}: {reason}")]
    Remote {
        /// The destination.
        dest: String,
        /// The tool.
        tool: String,
        /// What went wrong.
        reason: String,
    },
}

fn detail(reason: &str) -> String {
    if reason.is_empty() { String::new() } else { format!(" ({reason})") }
}

impl SshError {
    /// The destination the error is about.
    pub fn dest(&self) -> &str {
        match self {
            Self::InvalidDestination { dest, .. }
            | Self::Unsupported { dest, .. }
            | Self::ConnectTimeout { dest, .. }
            | Self::Connect { dest, .. }
            | Self::Timeout { dest, .. }
            | Self::Disconnected { dest, .. }
            | Self::Remote { dest, .. } => dest,
        }
    }

    /// Whether the connection to the destination is suspect, so a cached
    /// one should not be reused.
    pub(super) fn breaks_connection(&self) -> bool {
        matches!(self, Self::Timeout { .. } | Self::Disconnected { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_dest_attempt_and_cause() {
        let e = SshError::ConnectTimeout { dest: "web1".into(), after: Duration::from_secs(5), reason: String::new() };
        assert_eq!(e.to_string(), "ssh web1: connect timed out after 5s");
        let e = SshError::ConnectTimeout {
            dest: "web1".into(),
            after: Duration::from_millis(1500),
            reason: "Connection timed out during banner exchange".into(),
        };
        assert_eq!(
            e.to_string(),
            "ssh web1: connect timed out after 1.5s (Connection timed out during banner exchange)"
        );
        let e = SshError::Timeout { dest: "db".into(), tool: "shell".into(), after: Duration::from_secs(35) };
        assert!(e.to_string().starts_with("ssh db: shell gave no result within 35s"), "{e}");
        assert_eq!(e.dest(), "db");
    }
}
