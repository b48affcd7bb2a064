//! Bearer tokens: made here, shown once, kept only as a SHA-256 digest.
//!
//! A token's secret is made by `herd_auth::token` (`herd_` and 256 random
//! bits; the prefix lets secret scanners find leaked ones). The store
//! keeps its digest, so a stolen database yields no usable token, and looks
//! it up by that digest: comparing digests of high-entropy secrets in an
//! index leaks nothing a timing attack could use. [`Store::token_by_hash`]
//! returns revoked and expired tokens too, with their user, so the caller
//! can say why it refuses one.

mod secret;

pub use secret::{TokenSecret, hash_secret};

use crate::open::on_db;
use crate::rows::Columns;
use crate::users::{user_columns, user_from};
use crate::{Result, Store, StoreError, Timestamp, User, check};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The shortest secret [`Store::import_token`] takes.
pub const MIN_IMPORTED_LEN: usize = 8;

/// How long [`Store::mark_token_used`] lets `last_used_at` lag behind.
pub const LAST_USED_GRANULARITY: Duration = Duration::from_secs(60);

/// A token as the store keeps it. Its digest is not serialized: listings
/// have no use for it, and for a token imported from a weak secret it would
/// be something to brute-force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// Public id (`tok_` and 12 base62 characters), safe to show and log.
    pub id: String,
    /// The user the token acts for.
    pub user_id: i64,
    /// What the owner called it.
    pub label: Option<String>,
    /// SHA-256 of the secret.
    #[serde(skip)]
    pub hash: [u8; 32],
    /// When it was made.
    pub created_at: Timestamp,
    /// When it stops working, if ever.
    pub expires_at: Option<Timestamp>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<Timestamp>,
    /// Roughly when it was last used (see [`Store::mark_token_used`]).
    pub last_used_at: Option<Timestamp>,
}

/// Whether a token may be used right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenStatus {
    /// Neither revoked nor expired.
    Active,
    /// Revoked (whether or not it has also expired).
    Revoked,
    /// Past its expiry time.
    Expired,
}

impl TokenRecord {
    /// The token's status at `now`.
    pub fn status(&self, now: Timestamp) -> TokenStatus {
        if self.revoked_at.is_some() {
            TokenStatus::Revoked
        } else if self.expires_at.is_some_and(|at| at <= now) {
            TokenStatus::Expired
        } else {
            TokenStatus::Active
        }
    }
}

/// The columns of `tokens t`, aliased `t_*`; `token_columns!(returning)`
/// names them unqualified for a `RETURNING` clause.
macro_rules! token_columns {
    () => {
        "t.id AS t_id, t.user_id AS t_user_id, t.label AS t_label, t.hash AS t_hash, t.created_at AS t_created_at, \
         t.expires_at AS t_expires_at, t.revoked_at AS t_revoked_at, t.last_used_at AS t_last_used_at"
    };
    (returning) => {
        "id AS t_id, user_id AS t_user_id, label AS t_label, hash AS t_hash, created_at AS t_created_at, \
         expires_at AS t_expires_at, revoked_at AS t_revoked_at, last_used_at AS t_last_used_at"
    };
}

fn token_from(row: &impl Columns) -> Result<TokenRecord> {
    let hash = row.bytes("t_hash")?;
    Ok(TokenRecord {
        id: row.text("t_id")?,
        user_id: row.int("t_user_id")?,
        label: row.opt_text("t_label")?,
        hash: hash.try_into().map_err(|_| StoreError::invalid("stored token hash", "not 32 bytes"))?,
        created_at: row.time("t_created_at")?,
        expires_at: row.opt_time("t_expires_at")?,
        revoked_at: row.opt_time("t_revoked_at")?,
        last_used_at: row.opt_time("t_last_used_at")?,
    })
}

impl Store {
    /// Makes a token for the user called `user` and returns it with its
    /// secret, which exists nowhere else: show it once.
    pub async fn create_token(
        &self,
        user: &str,
        label: Option<&str>,
        expires_at: Option<Timestamp>,
    ) -> Result<(TokenRecord, TokenSecret)> {
        let secret = secret::generate()?;
        let record = self.insert_token(user, label, hash_secret(secret.expose_secret()), expires_at).await?;
        Ok((record, secret))
    }

    /// Registers a secret made elsewhere (the `HERD_TOKEN` an operator gave
    /// `herd up`) as a token of `user`. The secret must be 8 to 512
    /// printable characters without spaces: short enough for the tokens
    /// existing setups were given, long enough to refuse a typo'd one.
    pub async fn import_token(
        &self,
        user: &str,
        label: Option<&str>,
        secret: &str,
        expires_at: Option<Timestamp>,
    ) -> Result<TokenRecord> {
        if !(MIN_IMPORTED_LEN..=512).contains(&secret.len()) || !secret.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(StoreError::invalid("token", "use 8 to 512 printable characters without spaces"));
        }
        self.insert_token(user, label, hash_secret(secret), expires_at).await
    }

    async fn insert_token(
        &self,
        user: &str,
        label: Option<&str>,
        hash: [u8; 32],
        expires_at: Option<Timestamp>,
    ) -> Result<TokenRecord> {
        if let Some(label) = label {
            check::text("label", label, 128)?;
        }
        let owner = self.user_by_name(user).await?.ok_or_else(|| StoreError::NotFound(format!("user {user:?}")))?;
        if owner.disabled {
            return Err(StoreError::invalid("user", format!("{user:?} is disabled")));
        }
        let record = TokenRecord {
            id: secret::public_id()?,
            user_id: owner.id,
            label: label.map(str::to_owned),
            hash,
            created_at: Timestamp::now(),
            expires_at,
            revoked_at: None,
            last_used_at: None,
        };
        const SQL: &str = "INSERT INTO tokens (id, user_id, label, hash, created_at, expires_at) \
                           VALUES ($1, $2, $3, $4, $5, $6)";
        self.bounded(async {
            on_db!(self, pool => sqlx::query(SQL)
                .bind(&record.id)
                .bind(record.user_id)
                .bind(&record.label)
                .bind(&record.hash[..])
                .bind(record.created_at.unix_millis())
                .bind(record.expires_at.map(Timestamp::unix_millis))
                .execute(pool)
                .await
                .map(|r| r.rows_affected()))
            .map_err(|e| StoreError::from_write(e, || "a token with this secret".to_owned()))
        })
        .await?;
        Ok(record)
    }

    /// The token whose secret has digest `hash`, with its user, revoked and
    /// expired ones included (check [`TokenRecord::status`] and
    /// [`User::disabled`]). One query.
    pub async fn token_by_hash(&self, hash: &[u8; 32]) -> Result<Option<(TokenRecord, User)>> {
        const SQL: &str = concat!(
            "SELECT ",
            token_columns!(),
            ", ",
            user_columns!(),
            " FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = $1"
        );
        self.bounded(async {
            on_db!(self, pool => sqlx::query(SQL)
                .bind(&hash[..])
                .fetch_optional(pool)
                .await?
                .map(|r| Ok((token_from(&r)?, user_from(&r)?)))
                .transpose())
        })
        .await
    }

    /// Every token, or those of the user called `user`, oldest first.
    pub async fn list_tokens(&self, user: Option<&str>) -> Result<Vec<TokenRecord>> {
        const ALL: &str = concat!("SELECT ", token_columns!(), " FROM tokens t ORDER BY t.created_at, t.id");
        const OF_USER: &str = concat!(
            "SELECT ",
            token_columns!(),
            " FROM tokens t JOIN users u ON u.id = t.user_id WHERE u.name = $1 ORDER BY t.created_at, t.id"
        );
        if let Some(name) = user
            && self.user_by_name(name).await?.is_none()
        {
            return Err(StoreError::NotFound(format!("user {name:?}")));
        }
        self.bounded(async {
            on_db!(self, pool => {
                let query = match user {
                    Some(name) => sqlx::query(OF_USER).bind(name),
                    None => sqlx::query(ALL),
                };
                query.fetch_all(pool).await?.iter().map(token_from).collect()
            })
        })
        .await
    }

    /// Revokes the token `id` (a token revoked before keeps its first
    /// revocation time) and returns it.
    pub async fn revoke_token(&self, id: &str) -> Result<TokenRecord> {
        const SQL: &str = concat!(
            "UPDATE tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1 RETURNING ",
            token_columns!(returning)
        );
        self.bounded(async {
            on_db!(self, pool => sqlx::query(SQL)
                .bind(id)
                .bind(Timestamp::now().unix_millis())
                .fetch_optional(pool)
                .await?
                .map(|r| token_from(&r))
                .transpose())
        })
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("token {id:?}")))
    }

    /// Records that token `id` was used at `at`. Writes only when the stored
    /// time is older than [`LAST_USED_GRANULARITY`], so calling it on every
    /// request costs a write a minute per token, not one per request.
    pub async fn mark_token_used(&self, id: &str, at: Timestamp) -> Result<()> {
        const SQL: &str =
            "UPDATE tokens SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)";
        let stale_before = at.saturating_sub(LAST_USED_GRANULARITY).unix_millis();
        self.bounded(async {
            on_db!(self, pool => sqlx::query(SQL).bind(id).bind(at.unix_millis()).bind(stale_before).execute(pool).await?.rows_affected());
            Ok(())
        })
        .await
    }
}
