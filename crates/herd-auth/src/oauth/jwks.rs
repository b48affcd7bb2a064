//! The issuer's signing keys: discovered, fetched, cached, refetched.
//!
//! Keys come from the `jwks_uri` of the issuer's OpenID discovery document
//! (whose `issuer` must be the configured one), or from a configured
//! `jwks_uri`. They are fetched on first use and kept. A token naming a key
//! the cache lacks (the provider rotated its keys) triggers a refetch, but
//! fetches start at most once per `key_refresh_interval` whatever the cause,
//! so a flood of tokens with made-up key ids costs the provider one request
//! per interval. Keys older than `key_max_age` are refetched too; while
//! that fails, or while another request is fetching, the old keys serve.
//!
//! Each fetch (discovery and key set together) has one deadline, the
//! documents a size cap, and only asymmetric signing keys are kept: an
//! `oct` key, which would turn the public key set into an HMAC secret, is
//! dropped on arrival.

use super::ALGORITHMS;
use super::config::{ConfigError, OAuthConfig, key_source_url};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use parking_lot::Mutex;
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;
use url::Url;

#[cfg(test)]
mod tests;

/// A discovery document or key set larger than this is refused.
const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

/// At most this many keys of a key set are looked at.
const MAX_KEYS: usize = 64;

/// One signing key, with the algorithms it may verify.
pub(crate) struct Key {
    kid: Option<String>,
    pub(crate) algorithms: Vec<Algorithm>,
    pub(crate) decoding: DecodingKey,
}

/// The keys of one successful fetch.
#[derive(Default)]
struct KeySet {
    keys: Vec<Arc<Key>>,
    fetched: Option<Instant>,
}

impl KeySet {
    /// The key named `kid` that verifies `alg`; without a `kid`, the only
    /// key that verifies `alg`.
    fn find(&self, kid: Option<&str>, alg: Algorithm) -> Option<Arc<Key>> {
        let mut usable = self.keys.iter().filter(|k| k.algorithms.contains(&alg));
        match kid {
            Some(kid) => usable.find(|k| k.kid.as_deref() == Some(kid)).cloned(),
            None => match (usable.next(), usable.next()) {
                (Some(only), None) => Some(only.clone()),
                _ => None,
            },
        }
    }
}

/// Why no key could be had for a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyError {
    /// The key set is known and lacks the key.
    Unknown,
    /// No key set has ever been fetched.
    Unavailable,
}

/// Why a fetch failed; logged, never sent to a client.
#[derive(Debug, thiserror::Error)]
enum FetchError {
    #[error("GET {url}: {error}")]
    Http { url: Url, error: String },
    #[error("GET {url}: status {status}")]
    Status { url: Url, status: u16 },
    #[error("GET {url}: the document is larger than {MAX_DOCUMENT_BYTES} bytes")]
    TooLarge { url: Url },
    #[error("{what} is not valid JSON of the expected shape: {error}")]
    Json { what: &'static str, error: serde_json::Error },
    #[error("the discovery document names issuer {0:?}, not the configured one")]
    Issuer(String),
    #[error("{0}")]
    JwksUri(ConfigError),
    #[error("the key set holds no usable signing key (RS256, PS256, ES256 or EdDSA)")]
    NoUsableKeys,
    #[error("no answer within {0:?}")]
    Timeout(Duration),
}

/// Where the key set's URL comes from.
enum Source {
    /// Read `jwks_uri` from this discovery document.
    Discover(Url),
    /// Configured.
    Direct(Url),
}

/// The cache of an issuer's keys.
pub(crate) struct Jwks {
    client: reqwest::Client,
    issuer: String,
    source: Source,
    fetch_timeout: Duration,
    refresh_interval: Duration,
    max_age: Duration,
    keys: Mutex<Arc<KeySet>>,
    /// When the last fetch started; held while one runs.
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
    fetches: AtomicU64,
}

impl Jwks {
    /// The cache for `config`'s issuer (nothing is fetched yet).
    pub(crate) fn new(config: &OAuthConfig) -> Result<Self, ConfigError> {
        let source = match &config.jwks_uri {
            Some(uri) => Source::Direct(key_source_url("jwks_uri", uri)?),
            None => {
                let issuer = key_source_url("issuer", &config.issuer)?;
                let base = issuer.as_str().trim_end_matches('/');
                let discovery = Url::parse(&format!("{base}/.well-known/openid-configuration")).map_err(|_| {
                    ConfigError::Url { field: "issuer", value: config.issuer.clone(), reason: "not a base URL" }
                })?;
                Source::Discover(discovery)
            }
        };
        let client = reqwest::Client::builder()
            .connect_timeout(config.fetch_timeout)
            .timeout(config.fetch_timeout)
            .redirect(reqwest::redirect::Policy::limited(3))
            .build()
            .map_err(|e| ConfigError::Client(e.to_string()))?;
        Ok(Self {
            client,
            issuer: config.issuer.clone(),
            source,
            fetch_timeout: config.fetch_timeout,
            refresh_interval: config.key_refresh_interval,
            max_age: config.key_max_age,
            keys: Mutex::default(),
            last_fetch: tokio::sync::Mutex::new(None),
            fetches: AtomicU64::new(0),
        })
    }

    /// How many fetches have started.
    pub(crate) fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// The key to verify a token signed with `alg` under `kid`.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future mid-fetch abandons that fetch; it still counts
    /// against the refresh interval, and the cached keys are untouched.
    pub(crate) async fn key(&self, kid: Option<&str>, alg: Algorithm) -> Result<Arc<Key>, KeyError> {
        let set = self.keys.lock().clone();
        if let Some(key) = set.find(kid, alg) {
            if set.fetched.is_some_and(|at| at.elapsed() >= self.max_age) {
                // Old but known: refetch unless someone already is, and
                // use this key meanwhile.
                if let Ok(guard) = self.last_fetch.try_lock() {
                    self.fetch_if_due(guard).await;
                    return self.keys.lock().find(kid, alg).ok_or(KeyError::Unknown);
                }
            }
            return Ok(key);
        }
        self.fetch_if_due(self.last_fetch.lock().await).await;
        let set = self.keys.lock().clone();
        match set.find(kid, alg) {
            Some(key) => Ok(key),
            None if set.fetched.is_none() => Err(KeyError::Unavailable),
            None => Err(KeyError::Unknown),
        }
    }

    /// Fetches the keys unless a fetch started less than an interval ago.
    async fn fetch_if_due(&self, mut last_fetch: tokio::sync::MutexGuard<'_, Option<Instant>>) {
        if last_fetch.is_some_and(|at| at.elapsed() < self.refresh_interval) {
            return;
        }
        *last_fetch = Some(Instant::now());
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let fetched = tokio::time::timeout(self.fetch_timeout, self.fetch())
            .await
            .unwrap_or(Err(FetchError::Timeout(self.fetch_timeout)));
        match fetched {
            Ok(keys) => {
                tracing::info!(issuer = %self.issuer, keys = keys.len(), "fetched the identity provider's signing keys");
                *self.keys.lock() = Arc::new(KeySet { keys, fetched: Some(Instant::now()) });
            }
            Err(error) => {
                tracing::warn!(issuer = %self.issuer, %error, "cannot fetch the identity provider's signing keys");
            }
        }
    }

    async fn fetch(&self) -> Result<Vec<Arc<Key>>, FetchError> {
        let jwks_uri = match &self.source {
            Source::Direct(url) => url.clone(),
            Source::Discover(url) => self.discover(url).await?,
        };
        parse_key_set(&self.get(&jwks_uri).await?)
    }

    async fn discover(&self, url: &Url) -> Result<Url, FetchError> {
        #[derive(Deserialize)]
        struct Discovery {
            issuer: String,
            jwks_uri: String,
        }
        let body = self.get(url).await?;
        let doc: Discovery = serde_json::from_slice(&body)
            .map_err(|error| FetchError::Json { what: "the discovery document", error })?;
        if doc.issuer != self.issuer {
            return Err(FetchError::Issuer(doc.issuer.chars().take(200).collect()));
        }
        key_source_url("jwks_uri", &doc.jwks_uri).map_err(FetchError::JwksUri)
    }

    /// The body of a successful GET of `url`, refusing large ones.
    async fn get(&self, url: &Url) -> Result<Vec<u8>, FetchError> {
        let http = |error: reqwest::Error| FetchError::Http { url: url.clone(), error: error.to_string() };
        let mut response =
            self.client.get(url.clone()).header("accept", "application/json").send().await.map_err(http)?;
        if !response.status().is_success() {
            return Err(FetchError::Status { url: url.clone(), status: response.status().as_u16() });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(http)? {
            if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                return Err(FetchError::TooLarge { url: url.clone() });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

/// The usable keys of a JWK Set document.
fn parse_key_set(body: &[u8]) -> Result<Vec<Arc<Key>>, FetchError> {
    #[derive(Deserialize)]
    struct Document {
        keys: Vec<Value>,
    }
    let doc: Document =
        serde_json::from_slice(body).map_err(|error| FetchError::Json { what: "the key set", error })?;
    let keys: Vec<Arc<Key>> = doc.keys.iter().take(MAX_KEYS).filter_map(usable_key).map(Arc::new).collect();
    if keys.is_empty() {
        return Err(FetchError::NoUsableKeys);
    }
    Ok(keys)
}

/// A signing key of an accepted kind, or `None` (encryption keys, HMAC
/// keys, other curves, algorithms outside [`ALGORITHMS`], bad encodings).
fn usable_key(value: &Value) -> Option<Key> {
    let jwk: Jwk = serde_json::from_value(value.clone()).ok()?;
    if jwk.common.public_key_use.as_ref().is_some_and(|u| *u != PublicKeyUse::Signature) {
        return None;
    }
    let kind: &[Algorithm] = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => &[Algorithm::RS256, Algorithm::PS256],
        AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => &[Algorithm::ES256],
        AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => &[Algorithm::EdDSA],
        _ => return None,
    };
    let algorithms = match jwk.common.key_algorithm {
        Some(named) => {
            let alg = Algorithm::try_from(named).ok()?;
            (kind.contains(&alg) && ALGORITHMS.contains(&alg)).then(|| vec![alg])?
        }
        None => kind.to_vec(),
    };
    let decoding = DecodingKey::from_jwk(&jwk).ok()?;
    Some(Key { kid: jwk.common.key_id, algorithms, decoding })
}
