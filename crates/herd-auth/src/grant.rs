//! Grants: which hosts and which tools a principal may reach.
//!
//! A role says what kind of thing a principal may do; a grant narrows where.
//! `herd user add NAME --role operator --hosts gpu*,@lab --tools read_*,list_dir`
//! gives a [`Grant`] of two lists, each parsed here once, with a clear error
//! for anything malformed, so the decision never meets a bad pattern:
//!
//! - hosts: host names, globs over names (`gpu*`, `node?`), or `@tag` (a glob
//!   over the host's tags, usually a plain tag);
//! - tools: tool names or globs, as the host's agent names its tools (so
//!   `read_*` covers `read_file` reached through `remote_read_file`, an
//!   exposed tool and `remote_call` alike).
//!
//! An empty list grants everything; on the command line and in stored text
//! that is written `*`. Globs know `*` (any run of characters) and `?` (one
//! character) and are case-sensitive, like host names and tool names.

mod pattern;
#[cfg(test)]
mod tests;

pub use pattern::{GrantPattern, HostPattern, ToolPattern};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// At most this many patterns in one list.
pub const MAX_PATTERNS: usize = 256;

/// Where a principal may act: the hosts and the tools it is granted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// The hosts covered (empty: every host).
    #[serde(default)]
    pub hosts: HostGrant,
    /// The tools covered (empty: every tool).
    #[serde(default)]
    pub tools: ToolGrant,
}

impl Grant {
    /// Every host, every tool.
    pub fn all() -> Self {
        Self::default()
    }

    /// A grant from the command line's `--hosts` and `--tools` values; a
    /// missing option grants everything of its kind.
    pub fn parse(hosts: Option<&str>, tools: Option<&str>) -> Result<Self, GrantError> {
        Ok(Self {
            hosts: hosts.map(str::parse).transpose()?.unwrap_or_default(),
            tools: tools.map(str::parse).transpose()?.unwrap_or_default(),
        })
    }
}

/// What a list of patterns is about, for error messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatternKind {
    /// `--hosts`
    Host,
    /// `--tools`
    Tool,
}

impl fmt::Display for PatternKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Host => "host",
            Self::Tool => "tool",
        })
    }
}

/// Why a grant could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    /// `--hosts ""`.
    #[error("empty {0} list: leave the option out, or give `*`, to grant every {0}")]
    EmptyList(PatternKind),
    /// `--hosts a,,b`.
    #[error("empty entry in the {kind} list {list:?}")]
    EmptyEntry {
        /// Which list.
        kind: PatternKind,
        /// The list as given (shortened).
        list: String,
    },
    /// A pattern with characters that cannot occur in a name, or too long.
    #[error("{kind} pattern {pattern:?}: {reason}")]
    InvalidPattern {
        /// Which list.
        kind: PatternKind,
        /// The pattern as given (shortened).
        pattern: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// More than [`MAX_PATTERNS`] entries.
    #[error("too many {kind} patterns: {count} (at most {MAX_PATTERNS})")]
    TooMany {
        /// Which list.
        kind: PatternKind,
        /// How many were given.
        count: usize,
    },
}

fn shorten(text: &str) -> String {
    text.chars().take(80).collect()
}

// === impl Patterns ===

/// A list of patterns; empty covers everything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Patterns<P>(Vec<P>);

/// The hosts a grant covers; empty covers every host.
pub type HostGrant = Patterns<HostPattern>;

/// The tools a grant covers; empty covers every tool.
pub type ToolGrant = Patterns<ToolPattern>;

impl<P: GrantPattern> Patterns<P> {
    /// Everything.
    pub fn all() -> Self {
        Self(Vec::new())
    }

    /// Whether this covers everything.
    pub fn is_all(&self) -> bool {
        self.0.is_empty()
    }

    /// The patterns, in the order given.
    pub fn patterns(&self) -> &[P] {
        &self.0
    }

    /// Both lists' patterns: everything when either covers everything.
    pub fn union(&self, other: &Self) -> Self {
        if self.is_all() || other.is_all() {
            return Self::all();
        }
        let mut out = self.0.clone();
        out.extend(other.0.iter().filter(|p| !self.0.contains(p)).cloned());
        Self(out)
    }

    /// Config-file entries, one pattern each; `["*"]` is everything.
    fn from_entries(entries: &[String]) -> Result<Self, GrantError> {
        if entries.len() > MAX_PATTERNS {
            return Err(GrantError::TooMany { kind: P::KIND, count: entries.len() });
        }
        if entries.iter().any(|e| e == "*") {
            return Ok(Self::all());
        }
        entries.iter().map(|e| e.parse()).collect::<Result<_, _>>().map(Self)
    }
}

impl HostGrant {
    /// Whether the host named `name` carrying `tags` is covered.
    pub fn covers(&self, name: &str, tags: &[String]) -> bool {
        self.is_all() || self.0.iter().any(|p| p.matches(name, tags))
    }
}

impl ToolGrant {
    /// Whether the tool named `name` is covered.
    pub fn covers(&self, name: &str) -> bool {
        self.is_all() || self.0.iter().any(|p| p.matches(name))
    }
}

impl<P: GrantPattern> Default for Patterns<P> {
    fn default() -> Self {
        Self::all()
    }
}

/// A comma list as the command line takes it (`gpu*,@lab`), blanks around
/// entries ignored; `*` alone is everything.
impl<P: GrantPattern> FromStr for Patterns<P> {
    type Err = GrantError;

    fn from_str(list: &str) -> Result<Self, GrantError> {
        let kind = P::KIND;
        let trimmed = list.trim();
        if trimmed.is_empty() {
            return Err(GrantError::EmptyList(kind));
        }
        if trimmed == "*" {
            return Ok(Self::all());
        }
        let entries: Vec<&str> = trimmed.split(',').map(str::trim).collect();
        if entries.iter().any(|e| e.is_empty()) {
            return Err(GrantError::EmptyEntry { kind, list: shorten(list) });
        }
        if entries.len() > MAX_PATTERNS {
            return Err(GrantError::TooMany { kind, count: entries.len() });
        }
        entries.into_iter().map(str::parse).collect::<Result<_, _>>().map(Self)
    }
}

/// The comma list back, `*` for everything.
impl<P: GrantPattern> fmt::Display for Patterns<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_all() {
            return f.write_str("*");
        }
        for (i, pattern) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{pattern}")?;
        }
        Ok(())
    }
}

/// In config files, a list of strings, one pattern each.
impl<P: GrantPattern> Serialize for Patterns<P> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(ToString::to_string))
    }
}

impl<'de, P: GrantPattern> Deserialize<'de> for Patterns<P> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let entries = Vec::<String>::deserialize(deserializer)?;
        Self::from_entries(&entries).map_err(serde::de::Error::custom)
    }
}
