//! The hub's state and how requests to it are authenticated: the store it
//! opens (`$HERD_HOME/herd.db`, or PostgreSQL with `--database-url`), the
//! first admin, and the `[auth.oauth]` table of its config file.
//!
//! A token given to a server from outside (`herd up`'s `$HERD_HOME/token`,
//! `HERD_TOKEN` of `herd hub`) keeps working: it is imported as a token of
//! user `admin`, made (role admin) when the store has no users yet. A token
//! the store already knows is left as it is, so one revoked stays revoked.

use anyhow::{Context as _, bail};
use herd_access::Access;
use herd_auth::oauth::OAuthConfig;
use herd_store::{Durability, NewUser, Role, Store, StoreOptions, hash_secret};
use std::path::Path;
use std::sync::Arc;

/// The first admin's name.
pub(crate) const ADMIN: &str = "admin";

/// Opens (and migrates) the store, the hub's or an agent's: `database_url`
/// when given, else the SQLite file in `home`, whose commits survive what
/// `durability` says (`[audit] sync`).
pub(crate) async fn open(home: &Path, database_url: Option<&str>, durability: Durability) -> anyhow::Result<Store> {
    let target = match database_url.filter(|u| !u.is_empty()) {
        Some(url) => url.to_owned(),
        None => herd_store::default_path(home).to_str().context("HERD_HOME is not valid UTF-8")?.to_owned(),
    };
    let shown = herd_proto::redact_url(&target).into_owned();
    let options = StoreOptions { durability, ..StoreOptions::default() };
    let store =
        Store::open_with(&target, &options).await.with_context(|| format!("cannot open the state at {shown}"))?;
    tracing::info!(state = %shown, "state opened");
    Ok(store)
}

/// Makes `token` a token of the admin (see the module docs). Without a
/// token, only says how to get in when nobody can.
pub(crate) async fn keep_admin_token(store: &Store, token: Option<&str>) -> anyhow::Result<()> {
    let users = store.count_users().await?;
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        if users == 0 {
            tracing::warn!(
                "no users yet: set HERD_TOKEN to make it the admin's token, or add one with `herd user add`"
            );
        }
        return Ok(());
    };
    if store.token_by_hash(&hash_secret(token)).await?.is_some() {
        return Ok(());
    }
    if users == 0 {
        store.add_user(&NewUser::new(ADMIN, Role::Admin)).await?;
        tracing::info!(user = ADMIN, "first admin created");
    } else {
        match store.user_by_name(ADMIN).await? {
            None => {
                tracing::warn!(
                    user = ADMIN,
                    "the given token is not imported: the store has users but none called admin"
                );
                return Ok(());
            }
            Some(admin) if admin.disabled => {
                tracing::warn!(user = ADMIN, "the given token is not imported: user admin is disabled");
                return Ok(());
            }
            Some(_) => {}
        }
    }
    let record = store
        .import_token(ADMIN, Some("imported server token"), token, None)
        .await
        .context("the server's token (HERD_TOKEN, --token or $HERD_HOME/token) cannot become the admin's token")?;
    tracing::info!(user = ADMIN, token = %record.id, "server token imported as the admin's");
    Ok(())
}

/// The hub's authenticator over `store`, with OAuth when `config_file`
/// has an `[auth.oauth]` table.
pub(crate) fn access(store: Store, config_file: Option<&Path>) -> anyhow::Result<Arc<Access>> {
    let access = Access::new(store);
    let oauth = match config_file {
        Some(path) => oauth_config(path)?,
        None => None,
    };
    let Some(oauth) = oauth else { return Ok(Arc::new(access)) };
    let audience = oauth.audience.clone();
    let access = access.with_oauth(oauth)?;
    tracing::info!(%audience, "OAuth access tokens accepted");
    Ok(Arc::new(access))
}

/// `[auth.oauth]` of the hub's TOML config file, if any. Read once at
/// start: a change needs a restart.
fn oauth_config(path: &Path) -> anyhow::Result<Option<OAuthConfig>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    // The seed's whitespace format has no tables, so no [auth] either.
    let Ok(file) = text.parse::<toml::Table>() else { return Ok(None) };
    let Some(auth) = file.get("auth") else { return Ok(None) };
    let toml::Value::Table(auth) = auth else { bail!("{}: [auth] must be a table", path.display()) };
    if let Some(other) = auth.keys().find(|k| *k != "oauth") {
        bail!("{}: unknown key auth.{other} (only [auth.oauth] is known)", path.display());
    }
    let Some(oauth) = auth.get("oauth") else { return Ok(None) };
    let config: OAuthConfig =
        oauth.clone().try_into().with_context(|| format!("{}: invalid [auth.oauth]", path.display()))?;
    config.check().with_context(|| format!("{}: invalid [auth.oauth]", path.display()))?;
    Ok(Some(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn temp_store() -> (Store, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        (open(dir.path(), None, Durability::Normal).await.unwrap(), dir)
    }

    #[tokio::test]
    async fn the_server_token_becomes_the_first_admins_once_and_a_revocation_holds() {
        let (store, _dir) = temp_store().await;
        let token = "a-server-token-from-before";
        keep_admin_token(&store, Some(token)).await.unwrap();
        let (record, admin) = store.token_by_hash(&hash_secret(token)).await.unwrap().expect("imported");
        assert_eq!((admin.name.as_str(), admin.role), (ADMIN, Role::Admin));
        // A restart imports nothing twice, and does not bring back a token
        // revoked in between.
        store.revoke_token(&record.id).await.unwrap();
        keep_admin_token(&store, Some(token)).await.unwrap();
        assert_eq!(store.list_tokens(Some(ADMIN)).await.unwrap().len(), 1);
        let (again, _) = store.token_by_hash(&hash_secret(token)).await.unwrap().unwrap();
        assert!(again.revoked_at.is_some(), "a revoked server token stays revoked");
        // Too short to be a credential: a clear error, not a silent skip.
        let (empty, _dir) = temp_store().await;
        let err = format!("{:#}", keep_admin_token(&empty, Some("short")).await.unwrap_err());
        assert!(err.contains("cannot become the admin's token") && !err.contains("short\""), "{err}");
    }

    #[tokio::test]
    async fn a_disabled_admin_gets_no_token_back() {
        let (store, _dir) = temp_store().await;
        keep_admin_token(&store, Some("first-server-token")).await.unwrap();
        store.add_user(&NewUser::new("another-admin", Role::Admin)).await.unwrap();
        store.disable_user(ADMIN).await.unwrap();
        keep_admin_token(&store, Some("second-server-token")).await.unwrap();
        assert_eq!(store.token_by_hash(&hash_secret("second-server-token")).await.unwrap(), None);
    }

    #[test]
    fn the_oauth_table_is_read_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hosts.toml");
        std::fs::write(&path, "[[hosts]]\nname = \"a\"\nssh = \"a\"\n").unwrap();
        assert_eq!(oauth_config(&path).unwrap(), None);
        std::fs::write(
            &path,
            "[auth.oauth]\nissuer = \"https://idp.example.com\"\naudience = \"https://hub.example.com/mcp\"\n\
             [auth.oauth.roles]\nops = { role = \"operator\" }\n",
        )
        .unwrap();
        let config = oauth_config(&path).unwrap().unwrap();
        assert_eq!(config.audience, "https://hub.example.com/mcp");
        std::fs::write(&path, "[auth.oauth]\nissuer = \"https://idp.example.com\"\naudience = \"https://hub/mcp\"\n")
            .unwrap();
        let err = format!("{:#}", oauth_config(&path).unwrap_err());
        assert!(err.contains("no `roles` entry"), "{err}");
        std::fs::write(&path, "[auth.ldap]\nx = 1\n").unwrap();
        assert!(oauth_config(&path).unwrap_err().to_string().contains("auth.ldap"));
    }
}
