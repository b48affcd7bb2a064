//! The admin operations themselves, over a [`Store`]: the HTTP handlers
//! call them after checking the caller, and `herd user|token|audit
//! --home DIR` calls them directly on the hub's machine. Input is checked
//! here (roles and grants with herd-auth's parsers, durations with
//! [`parse_duration`]), so both paths refuse the same things the same way.

use crate::wire::{AddUser, AuditQuery, CreateToken, CreatedToken, SetUser, TokenView};
use crate::{AdminError, parse_duration, parse_time};
use herd_auth::{GrantError, GrantPattern, HostPattern, MAX_PATTERNS, Patterns, ToolPattern};
use herd_store::{AuditFilter, AuditRecord, NewUser, Store, Timestamp, TokenRecord, User, UserChange};
use std::collections::HashMap;
use std::sync::Arc;

/// What a change made stale, for a cache of resolved credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalidated<'a> {
    /// The token with this public id was revoked.
    Token(&'a str),
    /// A user changed (role, grants) or was disabled: every principal
    /// made from one of their tokens is stale.
    User {
        /// The store's id of the user.
        id: i64,
        /// Their name.
        name: &'a str,
    },
}

/// Called after every change that withdraws or alters access, once the
/// store has it. Cheap and non-blocking: it runs on the request path.
pub type OnRevoke = Arc<dyn Fn(Invalidated<'_>) + Send + Sync>;

/// An [`OnRevoke`] for a server that caches nothing.
pub fn no_cache() -> OnRevoke {
    Arc::new(|_| {})
}

/// Users, tokens and audit, managed over one store.
#[derive(Clone)]
pub struct Admin {
    store: Store,
    on_revoke: OnRevoke,
}

impl std::fmt::Debug for Admin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admin").field("store", &self.store).finish_non_exhaustive()
    }
}

/// A comma list of patterns as the command line takes it (`gpu*,@lab`;
/// `*` for everything), checked by herd-auth, as the list of patterns the
/// API takes (empty: everything).
pub fn patterns_arg<P: GrantPattern>(text: &str) -> Result<Vec<String>, GrantError> {
    let parsed: Patterns<P> = text.parse()?;
    Ok(parsed.patterns().iter().map(ToString::to_string).collect())
}

/// The list an API request gave, checked and normalized; `*` anywhere
/// means everything (the empty list).
fn patterns_list<P: GrantPattern>(list: &[String]) -> Result<Vec<String>, GrantError> {
    if list.len() > MAX_PATTERNS {
        return Err(GrantError::TooMany { kind: P::KIND, count: list.len() });
    }
    if list.iter().any(|entry| entry.trim() == "*") {
        return Ok(Vec::new());
    }
    list.iter().map(|entry| entry.trim().parse::<P>().map(|p| p.to_string())).collect()
}

fn store_role(text: &str) -> Result<herd_auth::Role, AdminError> {
    Ok(text.parse()?)
}

impl Admin {
    /// Admin operations over `store`, telling `on_revoke` what they make
    /// stale.
    pub fn new(store: Store, on_revoke: OnRevoke) -> Self {
        Self { store, on_revoke }
    }

    /// Every user, by name.
    pub async fn list_users(&self) -> Result<Vec<User>, AdminError> {
        Ok(self.store.list_users().await?)
    }

    /// Adds a user.
    pub async fn add_user(&self, req: &AddUser) -> Result<User, AdminError> {
        let new = NewUser {
            name: req.name.clone(),
            role: store_role(&req.role)?,
            hosts: patterns_list::<HostPattern>(req.hosts.as_deref().unwrap_or_default())?,
            tools: patterns_list::<ToolPattern>(req.tools.as_deref().unwrap_or_default())?,
        };
        Ok(self.store.add_user(&new).await?)
    }

    /// Changes a user's role, grants or disabled flag.
    pub async fn set_user(&self, name: &str, req: &SetUser) -> Result<User, AdminError> {
        let change = UserChange {
            role: req.role.as_deref().map(store_role).transpose()?,
            hosts: req.hosts.as_deref().map(patterns_list::<HostPattern>).transpose()?,
            tools: req.tools.as_deref().map(patterns_list::<ToolPattern>).transpose()?,
            disabled: req.disabled,
        };
        let user = self.store.set_user(name, &change).await?;
        (self.on_revoke)(Invalidated::User { id: user.id, name: &user.name });
        Ok(user)
    }

    /// Disables a user: their tokens are refused from then on.
    pub async fn disable_user(&self, name: &str) -> Result<User, AdminError> {
        let user = self.store.disable_user(name).await?;
        (self.on_revoke)(Invalidated::User { id: user.id, name: &user.name });
        Ok(user)
    }

    /// Every token, or those of `user`, oldest first.
    pub async fn list_tokens(&self, user: Option<&str>) -> Result<Vec<TokenView>, AdminError> {
        let records = self.store.list_tokens(user).await?;
        let names = self.user_names().await?;
        let now = Timestamp::now();
        Ok(records.iter().map(|r| view(r, &names, now)).collect())
    }

    /// Makes a token; the answer holds its secret, which nothing keeps.
    pub async fn create_token(&self, req: &CreateToken) -> Result<CreatedToken, AdminError> {
        let now = Timestamp::now();
        let expires_at = match &req.expires {
            Some(text) => Some(now.saturating_add(parse_duration(text).map_err(AdminError::time("expires"))?)),
            None => None,
        };
        let (record, secret) = self.store.create_token(&req.user, req.label.as_deref(), expires_at).await?;
        let token = TokenView::new(&record, req.user.clone(), now);
        Ok(CreatedToken { token, secret: secret.expose_secret().to_owned() })
    }

    /// Revokes token `id`; it fails on its next request.
    pub async fn revoke_token(&self, id: &str) -> Result<TokenView, AdminError> {
        let record = self.store.revoke_token(id).await?;
        (self.on_revoke)(Invalidated::Token(&record.id));
        let names = self.user_names().await?;
        Ok(view(&record, &names, Timestamp::now()))
    }

    /// The audit records `query` selects, oldest first.
    pub async fn query_audit(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, AdminError> {
        Ok(self.store.query_audit(&audit_filter(query, Timestamp::now())?).await?)
    }

    async fn user_names(&self) -> Result<HashMap<i64, String>, AdminError> {
        Ok(self.store.list_users().await?.into_iter().map(|u| (u.id, u.name)).collect())
    }
}

fn view(record: &TokenRecord, names: &HashMap<i64, String>, now: Timestamp) -> TokenView {
    let user = names.get(&record.user_id).cloned().unwrap_or_else(|| format!("#{}", record.user_id));
    TokenView::new(record, user, now)
}

/// The store's filter for `query`, relative times taken back from `now`.
pub fn audit_filter(query: &AuditQuery, now: Timestamp) -> Result<AuditFilter, AdminError> {
    let time = |text: &Option<String>, field| {
        text.as_deref().map(|t| parse_time(t, now).map_err(AdminError::time(field))).transpose()
    };
    Ok(AuditFilter {
        user: query.user.clone(),
        host: query.host.clone(),
        tool: query.tool.clone(),
        outcome: query.outcome.as_deref().map(str::parse).transpose()?,
        since: time(&query.since, "since")?,
        until: time(&query.until, "until")?,
        after_id: query.after_id,
        limit: query.limit,
    })
}
