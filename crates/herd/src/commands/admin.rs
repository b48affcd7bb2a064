//! What `herd user`, `herd token` and `herd audit` share: reaching the
//! admin operations, either through a running hub's admin API (the
//! default: `HERD_URL`, an admin's `HERD_TOKEN`) or, with `--home DIR` or
//! `--database-url URL`, directly on the state database of the hub's
//! machine. Offline is chosen only by those flags, never by the
//! environment, so a verb never silently bypasses a running hub (whose
//! credential cache a revocation through the API clears at once).

mod api;

use crate::cli::AdminTarget;
use anyhow::{Context as _, bail};
use herd_admin::{AddUser, Admin, AuditQuery, CreateToken, CreatedToken, SetUser, TokenView};
use herd_store::{AuditRecord, User};

/// Where the admin operations run.
pub(crate) enum Access {
    /// On the state database, in this process.
    Offline(Admin),
    /// Through a hub's admin API.
    Online(api::AdminApi),
}

impl Access {
    /// The access `target` asks for. Offline, the database must exist
    /// unless `create` (adding the first user makes it).
    pub(crate) async fn open(target: &AdminTarget, create: bool) -> anyhow::Result<Self> {
        let database = match (&target.home, &target.database_url) {
            (Some(home), _) => {
                let path = herd_store::default_path(home);
                if !create && !path.exists() {
                    bail!("no herd state at {} (add a user first, or check --home)", path.display());
                }
                Some(path.to_str().context("--home must be a UTF-8 path")?.to_owned())
            }
            (None, Some(url)) => Some(url.clone()),
            (None, None) => None,
        };
        Ok(match database {
            Some(target) => {
                let store = herd_store::Store::open(&target)
                    .await
                    .with_context(|| format!("cannot open the state database {}", herd_proto::redact_url(&target)))?;
                Self::Offline(Admin::new(store, herd_admin::no_cache()))
            }
            None => Self::Online(api::AdminApi::new(&target.client)?),
        })
    }

    pub(crate) async fn list_users(&self) -> anyhow::Result<Vec<User>> {
        #[derive(serde::Deserialize)]
        struct Users {
            users: Vec<User>,
        }
        match self {
            Self::Offline(admin) => Ok(admin.list_users().await?),
            Self::Online(api) => Ok(api.get::<Users>(&["users"], &[]).await?.users),
        }
    }

    pub(crate) async fn add_user(&self, req: &AddUser) -> anyhow::Result<User> {
        match self {
            Self::Offline(admin) => Ok(admin.add_user(req).await?),
            Self::Online(api) => api.send(reqwest::Method::POST, &["users"], Some(req)).await,
        }
    }

    pub(crate) async fn set_user(&self, name: &str, req: &SetUser) -> anyhow::Result<User> {
        match self {
            Self::Offline(admin) => Ok(admin.set_user(name, req).await?),
            Self::Online(api) => api.send(reqwest::Method::PATCH, &["users", name], Some(req)).await,
        }
    }

    pub(crate) async fn disable_user(&self, name: &str) -> anyhow::Result<User> {
        match self {
            Self::Offline(admin) => Ok(admin.disable_user(name).await?),
            Self::Online(api) => api.send(reqwest::Method::POST, &["users", name, "disable"], None::<&()>).await,
        }
    }

    pub(crate) async fn list_tokens(&self, user: Option<&str>) -> anyhow::Result<Vec<TokenView>> {
        #[derive(serde::Deserialize)]
        struct Tokens {
            tokens: Vec<TokenView>,
        }
        match self {
            Self::Offline(admin) => Ok(admin.list_tokens(user).await?),
            Self::Online(api) => {
                let query: Vec<_> = user.map(|u| ("user", u.to_owned())).into_iter().collect();
                Ok(api.get::<Tokens>(&["tokens"], &query).await?.tokens)
            }
        }
    }

    pub(crate) async fn create_token(&self, req: &CreateToken) -> anyhow::Result<CreatedToken> {
        match self {
            Self::Offline(admin) => Ok(admin.create_token(req).await?),
            Self::Online(api) => api.send(reqwest::Method::POST, &["tokens"], Some(req)).await,
        }
    }

    pub(crate) async fn revoke_token(&self, id: &str) -> anyhow::Result<TokenView> {
        match self {
            Self::Offline(admin) => Ok(admin.revoke_token(id).await?),
            Self::Online(api) => api.send(reqwest::Method::DELETE, &["tokens", id], None::<&()>).await,
        }
    }

    pub(crate) async fn query_audit(&self, query: &AuditQuery) -> anyhow::Result<Vec<AuditRecord>> {
        match self {
            Self::Offline(admin) => Ok(admin.query_audit(query).await?),
            Self::Online(api) => api.audit(query).await,
        }
    }
}
