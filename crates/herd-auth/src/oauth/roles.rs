//! From a token's claims to a role and a grant.
//!
//! `roles_claim` names the claim (`roles`, `groups`, `scope`, or a dotted
//! path such as `realm_access.roles`); its values are an array of strings or
//! one space-separated string, as `scope` is. Each value found in
//! `[auth.oauth.roles]` gives a role and a grant. When several match, the
//! most powerful role wins (admin, operator, viewer, agent) and the grants
//! of every match with that role are joined. When none matches,
//! `default_role` applies, and without one the token gets no principal:
//! 403 `insufficient_scope`.

use super::{OAuthConfig, TokenProblem};
use crate::{Grant, HostGrant, Role, ToolGrant};
use serde::Deserialize;
use serde_json::{Map, Value};

#[cfg(test)]
mod tests;

/// At most this many claim values are looked at.
const MAX_CLAIM_VALUES: usize = 256;

/// The role and grant one claim value gives.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleMapping {
    /// The role.
    pub role: Role,
    /// The hosts granted (default: every host).
    #[serde(default)]
    pub hosts: HostGrant,
    /// The tools granted (default: every tool).
    #[serde(default)]
    pub tools: ToolGrant,
}

impl RoleMapping {
    /// `role` on every host and every tool.
    pub fn new(role: Role) -> Self {
        Self { role, hosts: HostGrant::all(), tools: ToolGrant::all() }
    }
}

/// The values of `claim`: a top-level member of that name, else the member
/// found by walking the dotted path. A missing claim has no values.
pub(crate) fn claim_values<'a>(claims: &'a Map<String, Value>, claim: &str) -> Result<Vec<&'a str>, TokenProblem> {
    let found = claims.get(claim).or_else(|| {
        let mut parts = claim.split('.');
        let first = claims.get(parts.next()?)?;
        parts.try_fold(first, |value, part| value.get(part))
    });
    match found {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(text)) => Ok(text.split_whitespace().take(MAX_CLAIM_VALUES).collect()),
        Some(Value::Array(items)) => Ok(items.iter().filter_map(Value::as_str).take(MAX_CLAIM_VALUES).collect()),
        Some(_) => Err(TokenProblem::BadClaim(claim.chars().take(64).collect())),
    }
}

/// The role and grant `values` give under `config`, or why none.
pub(crate) fn map_roles(config: &OAuthConfig, values: &[&str]) -> Result<(Role, Grant), String> {
    let matches: Vec<&RoleMapping> = values.iter().filter_map(|v| config.roles.get(*v)).collect();
    let Some(best) = matches.iter().map(|m| m.role).max() else {
        return match &config.default_role {
            Some(default) => Ok((default.role, grant_of(default))),
            None => Err(format!("no value of the {} claim maps to a herd role", config.roles_claim)),
        };
    };
    let grant = matches
        .iter()
        .filter(|m| m.role == best)
        .map(|m| grant_of(m))
        .reduce(|a, b| Grant { hosts: a.hosts.union(&b.hosts), tools: a.tools.union(&b.tools) });
    Ok((best, grant.unwrap_or_default()))
}

fn grant_of(mapping: &RoleMapping) -> Grant {
    Grant { hosts: mapping.hosts.clone(), tools: mapping.tools.clone() }
}
