//! What tells a client where to get a token: the RFC 9728 protected
//! resource metadata, and the `WWW-Authenticate` challenge of every 401
//! (and 403) that points at it.
//!
//! For the resource `https://hub.example.com/mcp` the document lives at
//! `https://hub.example.com/.well-known/oauth-protected-resource/mcp`
//! (RFC 9728 section 3.1: the well-known part goes between the host and
//! the resource's path).

use super::OAuthError;
use super::config::{ConfigError, OAuthConfig};
use serde_json::{Value, json};

/// Where the metadata document of `config`'s audience is served.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetadataLocation {
    /// The path to serve it at, e.g. `/.well-known/oauth-protected-resource/mcp`.
    pub path: String,
    /// Its full URL, for the `resource_metadata` challenge parameter.
    pub url: String,
}

const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

impl OAuthConfig {
    /// Where the metadata document is served.
    pub fn metadata_location(&self) -> Result<MetadataLocation, ConfigError> {
        let audience = self.audience_url()?;
        let resource_path = audience.path().trim_end_matches('/');
        let path = format!("{WELL_KNOWN}{resource_path}");
        let origin = audience.origin().ascii_serialization();
        Ok(MetadataLocation { url: format!("{origin}{path}"), path })
    }

    /// The RFC 9728 document: the resource, its one authorization server,
    /// bearer tokens in the `Authorization` header only, and the scopes
    /// when configured.
    pub fn metadata_document(&self) -> Value {
        let mut doc = json!({
            "resource": self.audience,
            "authorization_servers": [self.issuer],
            "bearer_methods_supported": ["header"],
        });
        if !self.scopes_supported.is_empty() {
            doc["scopes_supported"] = json!(self.scopes_supported);
        }
        doc
    }
}

/// The `WWW-Authenticate` value for a request without a usable token
/// (`error` absent: no token was sent) or one refused for `error`.
pub fn www_authenticate(metadata_url: &str, error: Option<&OAuthError>) -> String {
    let mut value = format!("Bearer resource_metadata=\"{}\"", quoted(metadata_url));
    if let Some((code, error)) = error.and_then(|e| e.error_code().map(|code| (code, e))) {
        let description = match error {
            OAuthError::InvalidToken(problem) => problem.to_string(),
            OAuthError::InsufficientScope(why) => why.clone(),
            OAuthError::KeysUnavailable => error.to_string(),
        };
        value.push_str(&format!(", error=\"{code}\", error_description=\"{}\"", quoted(&description)));
    }
    value
}

/// Text fit for a quoted-string parameter: RFC 6750 allows printable ASCII
/// but `"` and `\` in these values; anything else becomes `?`.
fn quoted(text: &str) -> String {
    text.chars()
        .take(300)
        .map(|c| if (c == ' ' || c.is_ascii_graphic()) && c != '"' && c != '\\' { c } else { '?' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::TokenProblem;

    #[test]
    fn the_document_sits_between_host_and_resource_path() {
        let config = OAuthConfig::new("https://idp", "https://hub.example.com:7800/mcp");
        let location = config.metadata_location().unwrap();
        assert_eq!(location.path, "/.well-known/oauth-protected-resource/mcp");
        assert_eq!(location.url, "https://hub.example.com:7800/.well-known/oauth-protected-resource/mcp");
        let root = OAuthConfig::new("https://idp", "https://hub.example.com/").metadata_location().unwrap();
        assert_eq!(root.url, "https://hub.example.com/.well-known/oauth-protected-resource");
    }

    #[test]
    fn the_document_names_resource_server_and_methods() {
        let mut config = OAuthConfig::new("https://idp.example.com", "https://hub.example.com/mcp");
        assert_eq!(
            config.metadata_document(),
            json!({
                "resource": "https://hub.example.com/mcp",
                "authorization_servers": ["https://idp.example.com"],
                "bearer_methods_supported": ["header"],
            })
        );
        config.scopes_supported = vec!["herd:read".into()];
        assert_eq!(config.metadata_document()["scopes_supported"], json!(["herd:read"]));
    }

    #[test]
    fn challenges_name_the_metadata_and_the_error() {
        let url = "https://hub/.well-known/oauth-protected-resource/mcp";
        assert_eq!(www_authenticate(url, None), format!("Bearer resource_metadata=\"{url}\""));
        let expired = OAuthError::InvalidToken(TokenProblem::Expired);
        assert_eq!(
            www_authenticate(url, Some(&expired)),
            format!(
                "Bearer resource_metadata=\"{url}\", error=\"invalid_token\", error_description=\"the token has expired\""
            )
        );
        let scope = OAuthError::InsufficientScope("no \"value\"\n maps".into());
        assert_eq!(
            www_authenticate(url, Some(&scope)),
            format!(
                "Bearer resource_metadata=\"{url}\", error=\"insufficient_scope\", \
                 error_description=\"no ?value?? maps\""
            )
        );
        assert_eq!(www_authenticate(url, Some(&OAuthError::KeysUnavailable)), www_authenticate(url, None));
    }
}
