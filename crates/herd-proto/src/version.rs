//! Protocol revisions and their negotiation.

use std::fmt;

/// An MCP protocol revision herd speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProtocolVersion {
    /// 2025-03-26: answered for older clients; no structured tool output.
    V2025_03_26,
    /// 2025-06-18.
    V2025_06_18,
    /// 2025-11-25.
    V2025_11_25,
    /// 2026-07-28: stateless. No initialize and no session; every request
    /// carries its version, client info and capabilities in `_meta`.
    V2026_07_28,
}

impl ProtocolVersion {
    /// The newest revision herd speaks with a session.
    pub const LATEST: Self = Self::V2025_11_25;

    /// Every revision herd negotiates at initialize, oldest first.
    pub const ALL: [Self; 3] = [Self::V2025_03_26, Self::V2025_06_18, Self::V2025_11_25];

    /// Every revision herd speaks on any wire, oldest first: the session
    /// revisions and the stateless one.
    pub const SUPPORTED: [Self; 4] = [Self::V2025_03_26, Self::V2025_06_18, Self::V2025_11_25, Self::V2026_07_28];

    /// The revision's date string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V2025_03_26 => "2025-03-26",
            Self::V2025_06_18 => "2025-06-18",
            Self::V2025_11_25 => "2025-11-25",
            Self::V2026_07_28 => "2026-07-28",
        }
    }

    /// Parses a session revision herd knows (one of [`Self::ALL`]).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Parses any revision herd speaks (one of [`Self::SUPPORTED`]).
    pub fn parse_supported(s: &str) -> Option<Self> {
        Self::SUPPORTED.into_iter().find(|v| v.as_str() == s)
    }

    /// Whether this revision has no sessions: requests stand alone and
    /// server-to-client requests travel inside `input_required` results.
    pub fn is_stateless(self) -> bool {
        self >= Self::V2026_07_28
    }

    /// What to answer a client that asked for `requested` at initialize: the
    /// same revision when herd speaks it, otherwise the newest one (the
    /// client then decides whether it can continue).
    pub fn negotiate(requested: &str) -> Self {
        Self::parse(requested).unwrap_or(Self::LATEST)
    }

    /// Whether tool results may carry `structuredContent` and tools an
    /// `outputSchema`.
    pub fn has_structured_output(self) -> bool {
        self >= Self::V2025_06_18
    }
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_echoes_known_and_falls_back_to_latest() {
        assert_eq!(ProtocolVersion::negotiate("2025-06-18"), ProtocolVersion::V2025_06_18);
        assert_eq!(ProtocolVersion::negotiate("2025-03-26"), ProtocolVersion::V2025_03_26);
        assert_eq!(ProtocolVersion::negotiate("2024-11-05"), ProtocolVersion::LATEST);
        assert_eq!(ProtocolVersion::negotiate("garbage"), ProtocolVersion::LATEST);
        // The stateless revision is never negotiated into a session.
        assert_eq!(ProtocolVersion::negotiate("2026-07-28"), ProtocolVersion::LATEST);
        assert_eq!(ProtocolVersion::parse_supported("2026-07-28"), Some(ProtocolVersion::V2026_07_28));
    }
}
