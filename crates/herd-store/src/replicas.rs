//! What hub replicas sharing one store know of one another: who is up
//! (each replica heartbeats its row), the secrets they share (made once, by
//! whichever replica asks first), and which replica holds each agent's
//! channel. What these mean is `herd-replica`'s business.

use crate::open::on_db;
use crate::rows::Columns;
use crate::{Result, Store, StoreError, Timestamp, check};
use aws_lc_rs::rand;

/// One replica as it last said it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaRecord {
    /// Its id, as its session ids carry it.
    pub id: String,
    /// The address other replicas reach it at (`http://host:port`).
    pub address: String,
    /// When it joined.
    pub started_at: Timestamp,
    /// Its last heartbeat.
    pub heartbeat_at: Timestamp,
}

/// Which replica holds the channel of a host, and for whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelClaim {
    /// The host name the agent joined as.
    pub host: String,
    /// The replica its channel is open to.
    pub replica_id: String,
    /// The agent's channel session.
    pub session: String,
    /// The user whose token opened it, when a herd user did.
    pub owner_user_id: Option<i64>,
    /// That user's name (or the OAuth subject).
    pub owner_name: Option<String>,
    /// When the claim was last made.
    pub updated_at: Timestamp,
}

/// Longest replica id or address kept.
const FIELD_CAP: usize = 512;

fn bounded_text(what: &'static str, value: &str) -> Result<()> {
    if value.is_empty() || value.len() > FIELD_CAP || value.chars().any(char::is_control) {
        return Err(StoreError::invalid(what, format!("1 to {FIELD_CAP} printable characters")));
    }
    Ok(())
}

impl Store {
    /// Records that replica `id`, reached at `address`, is alive now.
    pub async fn heartbeat_replica(&self, id: &str, address: &str) -> Result<()> {
        bounded_text("replica id", id)?;
        bounded_text("replica address", address)?;
        const SQL: &str = "INSERT INTO replicas (id, address, started_at, heartbeat_at) VALUES ($1, $2, $3, $3) \
                           ON CONFLICT (id) DO UPDATE SET address = excluded.address, heartbeat_at = excluded.heartbeat_at";
        let now = Timestamp::now().unix_millis();
        self.bounded(async {
            on_db!(self, pool => sqlx::query(SQL).bind(id).bind(address).bind(now).execute(pool).await?.rows_affected());
            Ok(())
        })
        .await
    }

    /// The replicas that heartbeat at or after `since`, by id.
    pub async fn live_replicas(&self, since: Timestamp) -> Result<Vec<ReplicaRecord>> {
        const SQL: &str =
            "SELECT id, address, started_at, heartbeat_at FROM replicas WHERE heartbeat_at >= $1 ORDER BY id";
        self.bounded(async {
            on_db!(self, pool => sqlx::query(SQL)
                .bind(since.unix_millis())
                .fetch_all(pool)
                .await?
                .iter()
                .map(replica_from)
                .collect())
        })
        .await
    }

    /// Forgets replica `id` and the channels it held (it stops), and any
    /// replica silent since before `dead_before`.
    pub async fn remove_replica(&self, id: &str, dead_before: Timestamp) -> Result<()> {
        self.bounded(async {
            on_db!(self, pool => {
                sqlx::query("DELETE FROM channel_owners WHERE replica_id = $1").bind(id).execute(pool).await?;
                sqlx::query("DELETE FROM replicas WHERE id = $1 OR heartbeat_at < $2")
                    .bind(id)
                    .bind(dead_before.unix_millis())
                    .execute(pool)
                    .await?;
            });
            Ok(())
        })
        .await
    }

    /// The shared secret called `name`: made (32 random bytes, hex) by the
    /// first caller, the same for every later one, on every replica.
    pub async fn cluster_secret(&self, name: &str) -> Result<String> {
        check::name("secret name", name)?;
        let mut bytes = [0u8; 32];
        rand::fill(&mut bytes).map_err(|_| StoreError::invalid("random source", "the system RNG failed"))?;
        let fresh = hex::encode(bytes);
        const INSERT: &str = "INSERT INTO cluster_secrets (name, secret, created_at) VALUES ($1, $2, $3) \
                              ON CONFLICT (name) DO NOTHING";
        const SELECT: &str = "SELECT secret FROM cluster_secrets WHERE name = $1";
        let now = Timestamp::now().unix_millis();
        self.bounded(async {
            on_db!(self, pool => {
                sqlx::query(INSERT).bind(name).bind(&fresh).bind(now).execute(pool).await?;
                sqlx::query(SELECT).bind(name).fetch_one(pool).await?.text("secret")
            })
        })
        .await
    }

    /// Records that `claim.replica_id` holds the channel of `claim.host`,
    /// replacing any older claim (the agent reconnected elsewhere).
    pub async fn claim_channel(&self, claim: &ChannelClaim) -> Result<()> {
        bounded_text("host", &claim.host)?;
        bounded_text("replica id", &claim.replica_id)?;
        const SQL: &str = "INSERT INTO channel_owners \
                           (host, replica_id, session, owner_user_id, owner_name, updated_at) \
                           VALUES ($1, $2, $3, $4, $5, $6) \
                           ON CONFLICT (host) DO UPDATE SET replica_id = excluded.replica_id, \
                           session = excluded.session, owner_user_id = excluded.owner_user_id, \
                           owner_name = excluded.owner_name, updated_at = excluded.updated_at";
        self.bounded(async {
            on_db!(self, pool => sqlx::query(SQL)
                .bind(&claim.host)
                .bind(&claim.replica_id)
                .bind(&claim.session)
                .bind(claim.owner_user_id)
                .bind(&claim.owner_name)
                .bind(claim.updated_at.unix_millis())
                .execute(pool)
                .await?
                .rows_affected());
            Ok(())
        })
        .await
    }

    /// Drops the claim of `replica_id` on `host`, if it still holds it.
    pub async fn release_channel(&self, host: &str, replica_id: &str) -> Result<()> {
        const SQL: &str = "DELETE FROM channel_owners WHERE host = $1 AND replica_id = $2";
        self.bounded(async {
            on_db!(self, pool => sqlx::query(SQL).bind(host).bind(replica_id).execute(pool).await?.rows_affected());
            Ok(())
        })
        .await
    }

    /// Every claimed channel, by host.
    pub async fn channel_claims(&self) -> Result<Vec<ChannelClaim>> {
        const SQL: &str = "SELECT host, replica_id, session, owner_user_id, owner_name, updated_at \
                           FROM channel_owners ORDER BY host";
        self.bounded(async {
            on_db!(self, pool => sqlx::query(SQL).fetch_all(pool).await?.iter().map(claim_from).collect())
        })
        .await
    }
}

fn replica_from(row: &impl Columns) -> Result<ReplicaRecord> {
    Ok(ReplicaRecord {
        id: row.text("id")?,
        address: row.text("address")?,
        started_at: row.time("started_at")?,
        heartbeat_at: row.time("heartbeat_at")?,
    })
}

fn claim_from(row: &impl Columns) -> Result<ChannelClaim> {
    Ok(ChannelClaim {
        host: row.text("host")?,
        replica_id: row.text("replica_id")?,
        session: row.text("session")?,
        owner_user_id: row.opt_int("owner_user_id")?,
        owner_name: row.opt_text("owner_name")?,
        updated_at: row.time("updated_at")?,
    })
}
