//! MCP servers added at run time (`herd servers add`, the `servers_*`
//! tools), kept so they come back after a restart.
//!
//! The store keeps each server's spec as the JSON its owner gave; what the
//! fields mean is the supervisor's business.

use crate::open::on_db;
use crate::rows::Columns;
use crate::{Result, Store, StoreError, Timestamp, check};
use serde::{Deserialize, Serialize};

/// Largest spec kept, in bytes of JSON.
pub const SPEC_CAP: usize = 64 * 1024;

/// A server added at run time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerRecord {
    /// Unique name, `^[a-zA-Z0-9_.@-]{1,64}$`.
    pub name: String,
    /// How to install and run it.
    pub spec: serde_json::Value,
    /// When it was last saved.
    pub updated_at: Timestamp,
}

impl Store {
    /// Saves the server `name` with `spec`, replacing any server of that name.
    pub async fn save_server(&self, name: &str, spec: &serde_json::Value) -> Result<()> {
        check::name("server name", name)?;
        let text = spec.to_string();
        if text.len() > SPEC_CAP {
            return Err(StoreError::invalid("server spec", format!("{} bytes; at most {SPEC_CAP}", text.len())));
        }
        const SQL: &str = "INSERT INTO servers (name, spec, updated_at) VALUES ($1, $2, $3) \
                           ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, updated_at = excluded.updated_at";
        self.bounded(async {
            on_db!(self, pool => sqlx::query(SQL)
                .bind(name)
                .bind(&text)
                .bind(Timestamp::now().unix_millis())
                .execute(pool)
                .await
                .map(|r| r.rows_affected()))?;
            Ok(())
        })
        .await
    }

    /// Forgets the server `name`.
    pub async fn remove_server(&self, name: &str) -> Result<()> {
        let removed = self
            .bounded(async {
                Ok(on_db!(self, pool => sqlx::query("DELETE FROM servers WHERE name = $1").bind(name).execute(pool).await?.rows_affected()))
            })
            .await?;
        if removed == 0 {
            return Err(StoreError::NotFound(format!("server {name:?}")));
        }
        Ok(())
    }

    /// Every saved server, by name.
    pub async fn list_servers(&self) -> Result<Vec<ServerRecord>> {
        const SQL: &str = "SELECT name, spec, updated_at FROM servers ORDER BY name";
        self.bounded(async {
            on_db!(self, pool => sqlx::query(SQL).fetch_all(pool).await?.iter().map(server_from).collect())
        })
        .await
    }
}

fn server_from(row: &impl Columns) -> Result<ServerRecord> {
    let spec = row.text("spec")?;
    Ok(ServerRecord {
        name: row.text("name")?,
        spec: serde_json::from_str(&spec).map_err(|e| StoreError::invalid("stored server spec", e.to_string()))?,
        updated_at: row.time("updated_at")?,
    })
}
