//! `[auth.oauth]`: what herd needs to know about the identity provider.
//!
//! ```toml
//! [auth.oauth]
//! issuer = "https://idp.example.com/realms/lab"
//! audience = "https://hub.example.com/mcp"   # herd's canonical URL
//! roles_claim = "roles"                      # or "scope", or a path like "realm_access.roles"
//! default_role = { role = "viewer", hosts = ["@lab"] }   # optional; without it, no match is 403
//!
//! [auth.oauth.roles]
//! herd-admins = { role = "admin" }
//! lab-ops = { role = "operator", hosts = ["@lab"], tools = ["*"] }
//! ```
//!
//! [`OAuthConfig::check`] refuses what would make every token fail or trust
//! keys fetched in the clear.

use super::roles::RoleMapping;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;
use url::Url;

/// The resource server's settings.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthConfig {
    /// The provider's issuer identifier: tokens' `iss` must equal it, and
    /// `{issuer}/.well-known/openid-configuration` names its keys.
    pub issuer: String,
    /// The canonical URL of herd's MCP endpoint: tokens' `aud` must name it.
    pub audience: String,
    /// The claim whose values map to roles: an array of strings or a
    /// space-separated string (`scope`). Tried as a top-level name first,
    /// then as a dotted path into nested objects.
    #[serde(default = "default_roles_claim")]
    pub roles_claim: String,
    /// Claim value to role and grant.
    #[serde(default)]
    pub roles: BTreeMap<String, RoleMapping>,
    /// The role and grant of a token whose claim maps to nothing; without
    /// one, such a token is refused with 403 `insufficient_scope`.
    #[serde(default)]
    pub default_role: Option<RoleMapping>,
    /// The key set's URL, when the provider has no OpenID discovery.
    #[serde(default)]
    pub jwks_uri: Option<String>,
    /// Scopes to advertise in the protected resource metadata.
    #[serde(default)]
    pub scopes_supported: Vec<String>,
    /// Clock skew allowed on `exp` and `nbf`, in seconds.
    #[serde(default = "default_leeway")]
    pub leeway_secs: u64,
    /// The whole of one key fetch (discovery and key set) must finish
    /// within this.
    #[serde(skip, default = "default_fetch_timeout")]
    pub fetch_timeout: Duration,
    /// Keys are refetched at most this often, however many tokens name
    /// an unknown key.
    #[serde(skip, default = "default_refresh_interval")]
    pub key_refresh_interval: Duration,
    /// Keys older than this are refetched before use (a key the provider
    /// dropped stops being trusted); if that fails, the old keys serve on.
    #[serde(skip, default = "default_key_max_age")]
    pub key_max_age: Duration,
}

fn default_roles_claim() -> String {
    "roles".into()
}

fn default_leeway() -> u64 {
    30
}

fn default_fetch_timeout() -> Duration {
    Duration::from_secs(10)
}

fn default_refresh_interval() -> Duration {
    Duration::from_secs(30)
}

fn default_key_max_age() -> Duration {
    Duration::from_secs(3600)
}

/// At most this much clock skew may be allowed.
const MAX_LEEWAY_SECS: u64 = 300;

/// What is wrong with an `[auth.oauth]` section.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// `issuer` or `jwks_uri` is not an https URL (http only on loopback).
    #[error("auth.oauth.{field} {value:?}: {reason}")]
    Url {
        /// Which setting.
        field: &'static str,
        /// Its value.
        value: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// Nothing maps to a role: every token would be refused.
    #[error("auth.oauth: no `roles` entry and no `default_role`, so every token would be refused")]
    NoRoles,
    /// `roles_claim` is empty.
    #[error("auth.oauth.roles_claim is empty")]
    EmptyClaim,
    /// More skew than is sensible.
    #[error("auth.oauth.leeway_secs is {0}; at most {MAX_LEEWAY_SECS}")]
    Leeway(u64),
    /// The HTTP client could not be built.
    #[error("auth.oauth: cannot build the HTTP client for the identity provider: {0}")]
    Client(String),
}

impl OAuthConfig {
    /// A configuration with the defaults and no role mapping yet.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audience: audience.into(),
            roles_claim: default_roles_claim(),
            roles: BTreeMap::new(),
            default_role: None,
            jwks_uri: None,
            scopes_supported: Vec::new(),
            leeway_secs: default_leeway(),
            fetch_timeout: default_fetch_timeout(),
            key_refresh_interval: default_refresh_interval(),
            key_max_age: default_key_max_age(),
        }
    }

    /// Refuses settings that cannot work or are unsafe.
    pub fn check(&self) -> Result<(), ConfigError> {
        key_source_url("issuer", &self.issuer)?;
        if let Some(uri) = &self.jwks_uri {
            key_source_url("jwks_uri", uri)?;
        }
        self.audience_url()?;
        if self.roles_claim.trim().is_empty() {
            return Err(ConfigError::EmptyClaim);
        }
        if self.roles.is_empty() && self.default_role.is_none() {
            return Err(ConfigError::NoRoles);
        }
        if self.leeway_secs > MAX_LEEWAY_SECS {
            return Err(ConfigError::Leeway(self.leeway_secs));
        }
        Ok(())
    }

    /// The audience as a URL: absolute http(s), without a fragment.
    pub(crate) fn audience_url(&self) -> Result<Url, ConfigError> {
        let invalid = |reason| ConfigError::Url { field: "audience", value: self.audience.clone(), reason };
        let url = Url::parse(&self.audience).map_err(|_| invalid("not an absolute URL"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(invalid("not an http(s) URL"));
        }
        if url.fragment().is_some() {
            return Err(invalid("a resource URL has no fragment"));
        }
        Ok(url)
    }
}

/// A URL keys are fetched from (or through): https, or http on a loopback
/// host, so a network attacker cannot hand herd keys of their own.
pub(crate) fn key_source_url(field: &'static str, value: &str) -> Result<Url, ConfigError> {
    let invalid = |reason| ConfigError::Url { field, value: value.chars().take(200).collect(), reason };
    let url = Url::parse(value).map_err(|_| invalid("not an absolute URL"))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(name)) => name == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Err(invalid("names no host")),
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => return Err(invalid("must be https (http only on a loopback address)")),
        _ => return Err(invalid("must be an https URL")),
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("must have no query or fragment"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Role;

    fn with_admins(mut config: OAuthConfig) -> OAuthConfig {
        config.roles.insert("admins".into(), RoleMapping::new(Role::Admin));
        config
    }

    #[test]
    fn a_toml_section_parses_with_defaults() {
        let text = r#"
            issuer = "https://idp.example.com/realms/lab"
            audience = "https://hub.example.com/mcp"
            default_role = { role = "viewer", hosts = ["@lab"] }
            [roles]
            herd-admins = { role = "admin" }
            lab-ops = { role = "operator", hosts = ["gpu*", "@lab"], tools = ["read_*"] }
        "#;
        let config: OAuthConfig = toml::from_str(text).unwrap();
        config.check().unwrap();
        assert_eq!(config.roles_claim, "roles");
        assert_eq!(config.leeway_secs, 30);
        assert_eq!(config.key_refresh_interval, Duration::from_secs(30));
        let ops = &config.roles["lab-ops"];
        assert_eq!(
            (ops.role, ops.hosts.to_string(), ops.tools.to_string()),
            (Role::Operator, "gpu*,@lab".into(), "read_*".into())
        );
        assert_eq!(config.default_role.unwrap().role, Role::Viewer);
    }

    #[test]
    fn bad_sections_are_refused_with_the_setting_named() {
        let parse = |text: &str| toml::from_str::<OAuthConfig>(text).unwrap_err().to_string();
        let base = "issuer = \"https://idp\"\naudience = \"https://hub/mcp\"\n";
        assert!(parse(&format!("{base}[roles]\nx = {{ role = \"root\" }}\n")).contains("unknown role \"root\""));
        assert!(
            parse(&format!("{base}[roles]\nx = {{ role = \"admin\", hosts = [\"a b\"] }}\n")).contains("host pattern")
        );
        assert!(parse(&format!("{base}audiences = []\n")).contains("unknown field"));
    }

    #[test]
    fn checks_refuse_unsafe_or_useless_settings() {
        let check = |config: OAuthConfig| config.check().unwrap_err().to_string();
        let ok = with_admins(OAuthConfig::new("https://idp.example.com", "https://hub.example.com/mcp"));
        ok.check().unwrap();
        with_admins(OAuthConfig::new("http://127.0.0.1:9000", "http://127.0.0.1:7800/mcp")).check().unwrap();
        assert!(
            check(with_admins(OAuthConfig::new("http://idp.example.com", "https://hub/mcp"))).contains("must be https")
        );
        assert!(check(with_admins(OAuthConfig::new("idp.example.com", "https://hub/mcp"))).contains("issuer"));
        assert!(check(with_admins(OAuthConfig::new("https://idp?x=1", "https://hub/mcp"))).contains("query"));
        assert!(check(with_admins(OAuthConfig::new("https://idp", "hub/mcp"))).contains("audience"));
        assert!(check(with_admins(OAuthConfig::new("https://idp", "https://hub/mcp#x"))).contains("fragment"));
        assert_eq!(OAuthConfig::new("https://idp", "https://hub/mcp").check(), Err(ConfigError::NoRoles));
        let mut jwks = ok.clone();
        jwks.jwks_uri = Some("http://keys.example.com/jwks".into());
        assert!(check(jwks).contains("auth.oauth.jwks_uri"));
        let mut skew = ok.clone();
        skew.leeway_secs = 3600;
        assert_eq!(skew.check(), Err(ConfigError::Leeway(3600)));
        let mut claim = ok;
        claim.roles_claim = " ".into();
        assert_eq!(claim.check(), Err(ConfigError::EmptyClaim));
    }
}
