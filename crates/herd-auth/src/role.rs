//! Roles: the four kinds of principal herd knows.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What kind of thing a principal may do (its grant says where).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "&'static str")]
pub enum Role {
    /// An agent's outbound channel: may connect it, nothing else.
    Agent,
    /// Only tools annotated `readOnlyHint: true`, resources, prompts and
    /// completions, on the granted hosts.
    Viewer,
    /// Every tool on the granted hosts.
    Operator,
    /// Everything, including users, tokens and audit.
    Admin,
}

impl Role {
    /// Every role, least powerful first.
    pub const ALL: [Role; 4] = [Role::Agent, Role::Viewer, Role::Operator, Role::Admin];

    /// The role's name as the command line and config files write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Operator => "operator",
            Self::Viewer => "viewer",
            Self::Agent => "agent",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is none of herd's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}: use admin, operator, viewer or agent")]
pub struct UnknownRole(String);

impl FromStr for Role {
    type Err = UnknownRole;

    /// Parses a role name, ignoring ASCII case.
    fn from_str(s: &str) -> Result<Self, UnknownRole> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownRole(s.chars().take(40).collect()))
    }
}

impl TryFrom<String> for Role {
    type Error = UnknownRole;

    fn try_from(s: String) -> Result<Self, UnknownRole> {
        s.parse()
    }
}

impl From<Role> for &'static str {
    fn from(role: Role) -> Self {
        role.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in Role::ALL {
            assert_eq!(role.to_string().parse::<Role>(), Ok(role));
        }
        assert_eq!(" Operator ".parse::<Role>(), Ok(Role::Operator));
    }

    #[test]
    fn unknown_roles_are_named_in_the_error() {
        let err = "root".parse::<Role>().unwrap_err();
        assert_eq!(err.to_string(), "unknown role \"root\": use admin, operator, viewer or agent");
    }
}
