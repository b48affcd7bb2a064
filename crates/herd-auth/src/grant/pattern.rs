//! One entry of a grant: a glob over host names or tags, or over tool
//! names, checked for characters a name cannot hold and compiled once.

use super::{GrantError, PatternKind, shorten};
use glob::Pattern;
use std::fmt;
use std::str::FromStr;

/// At most this many bytes in one pattern.
const MAX_PATTERN_LEN: usize = 128;

/// What a [`Patterns`](super::Patterns) list holds.
pub trait GrantPattern: FromStr<Err = GrantError> + fmt::Display + Clone + PartialEq {
    /// Which list, for error messages.
    const KIND: PatternKind;
}

/// A glob over one name, compiled once.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Glob(Pattern);

impl Glob {
    /// Compiles `text` (shown as `shown` in errors), whose bytes must all
    /// satisfy `allowed` besides `*` and `?`. Runs of `*` mean the same as
    /// one and are folded, since `glob` gives `**` a path meaning names do
    /// not have.
    fn new(kind: PatternKind, text: &str, shown: &str, allowed: fn(u8) -> bool) -> Result<Self, GrantError> {
        let invalid = |reason| GrantError::InvalidPattern { kind, pattern: shorten(shown), reason };
        if text.is_empty() {
            return Err(invalid("empty"));
        }
        if text.len() > MAX_PATTERN_LEN {
            return Err(invalid("longer than 128 bytes"));
        }
        if !text.bytes().all(|b| allowed(b) || b == b'*' || b == b'?') {
            return Err(invalid(match kind {
                PatternKind::Host => "use a-z A-Z 0-9 _ . - and the wildcards * and ?",
                PatternKind::Tool => "use a-z A-Z 0-9 _ . - / and the wildcards * and ?",
            }));
        }
        let mut folded = String::with_capacity(text.len());
        for c in text.chars() {
            if !(c == '*' && folded.ends_with('*')) {
                folded.push(c);
            }
        }
        Pattern::new(&folded).map(Self).map_err(|_| invalid("not a valid glob"))
    }

    fn matches(&self, name: &str) -> bool {
        self.0.matches(name)
    }
}

fn host_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')
}

fn tool_byte(b: u8) -> bool {
    host_byte(b) || b == b'/'
}

// === impl HostPattern ===

/// One entry of a host grant: a glob over host names, or `@` and a glob
/// over host tags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostPattern {
    on_tags: bool,
    glob: Glob,
}

impl HostPattern {
    /// Whether the host named `name` carrying `tags` matches.
    pub fn matches(&self, name: &str, tags: &[String]) -> bool {
        match self.on_tags {
            false => self.glob.matches(name),
            true => tags.iter().any(|t| self.glob.matches(t)),
        }
    }
}

impl GrantPattern for HostPattern {
    const KIND: PatternKind = PatternKind::Host;
}

impl FromStr for HostPattern {
    type Err = GrantError;

    fn from_str(s: &str) -> Result<Self, GrantError> {
        let (on_tags, text) = match s.strip_prefix('@') {
            Some(tag) => (true, tag),
            None => (false, s),
        };
        Ok(Self { on_tags, glob: Glob::new(PatternKind::Host, text, s, host_byte)? })
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.on_tags { "@" } else { "" };
        write!(f, "{at}{}", self.glob.0)
    }
}

// === impl ToolPattern ===

/// One entry of a tool grant: a tool name or a glob over tool names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToolPattern(Glob);

impl ToolPattern {
    /// Whether the tool named `name` matches.
    pub fn matches(&self, name: &str) -> bool {
        self.0.matches(name)
    }
}

impl GrantPattern for ToolPattern {
    const KIND: PatternKind = PatternKind::Tool;
}

impl FromStr for ToolPattern {
    type Err = GrantError;

    fn from_str(s: &str) -> Result<Self, GrantError> {
        Glob::new(PatternKind::Tool, s, s, tool_byte).map(Self)
    }
}

impl fmt::Display for ToolPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.0)
    }
}
