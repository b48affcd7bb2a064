//! OAuth access tokens (`[auth.oauth]`): the validator, and the RFC 9728
//! document clients find the identity provider through.

use herd_auth::oauth::metadata::MetadataLocation;
use herd_auth::oauth::{ConfigError, OAuthConfig, OAuthError, OAuthValidator};
use herd_proto::Principal;
use herd_transport::http::AuthError;

/// The OAuth side of [`crate::Access`].
pub struct OAuth {
    validator: OAuthValidator,
    location: MetadataLocation,
    document: String,
}

impl OAuth {
    pub(crate) fn new(config: OAuthConfig) -> Result<Self, ConfigError> {
        let location = config.metadata_location()?;
        let document = config.metadata_document().to_string();
        Ok(Self { validator: OAuthValidator::new(config)?, location, document })
    }

    /// The metadata document's full URL, for `WWW-Authenticate`.
    pub fn metadata_url(&self) -> &str {
        &self.location.url
    }

    /// A route serving the metadata document at its well-known path,
    /// without authentication (clients read it to learn how to get a
    /// token).
    pub fn metadata_route(&self) -> axum::Router {
        let document = self.document.clone();
        let serve = move || {
            let document = document.clone();
            async move { ([(axum::http::header::CONTENT_TYPE, "application/json")], document) }
        };
        axum::Router::new().route(&self.location.path, axum::routing::get(serve))
    }

    pub(crate) async fn validate(&self, token: &str) -> Result<Principal, AuthError> {
        self.validator.validate(token).await.map_err(|error| match error {
            OAuthError::InvalidToken(problem) => AuthError::InvalidToken(problem.to_string()),
            OAuthError::InsufficientScope(why) => AuthError::InsufficientScope(why),
            OAuthError::KeysUnavailable => AuthError::Unavailable,
        })
    }
}
