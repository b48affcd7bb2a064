//! Users of herd: who they are, their role and the grants that narrow it.
//!
//! This crate only keeps users; what a role or a grant allows is decided by
//! the policy elsewhere. A user is never deleted, only disabled, so audit
//! records and tokens keep naming someone.

/// The one definition of roles, with the policy that gives them meaning.
pub use herd_auth::Role;

use crate::open::on_db;
use crate::rows::Columns;
use crate::{Backend, Result, Store, StoreError, Timestamp, check};
use serde::{Deserialize, Serialize};

/// A user of herd.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Store-assigned id.
    pub id: i64,
    /// Unique name, `^[a-zA-Z0-9_.@-]{1,64}$`.
    pub name: String,
    /// What the user may do.
    pub role: Role,
    /// Host patterns (`gpu*`, `@lab`) the user is narrowed to; empty: not
    /// narrowed.
    pub hosts: Vec<String>,
    /// Tool patterns (`read_*`) the user is narrowed to; empty: not narrowed.
    pub tools: Vec<String>,
    /// A disabled user's tokens are refused.
    pub disabled: bool,
    /// When the user was added.
    pub created_at: Timestamp,
}

/// A user to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// Unique name, `^[a-zA-Z0-9_.@-]{1,64}$`.
    pub name: String,
    /// What the user may do.
    pub role: Role,
    /// Host patterns; empty: not narrowed.
    pub hosts: Vec<String>,
    /// Tool patterns; empty: not narrowed.
    pub tools: Vec<String>,
}

impl NewUser {
    /// A user with `role` and no grants.
    pub fn new(name: impl Into<String>, role: Role) -> Self {
        Self { name: name.into(), role, hosts: Vec::new(), tools: Vec::new() }
    }
}

/// What [`Store::set_user`] changes; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserChange {
    /// A new role.
    pub role: Option<Role>,
    /// New host patterns (an empty list removes the narrowing).
    pub hosts: Option<Vec<String>>,
    /// New tool patterns (an empty list removes the narrowing).
    pub tools: Option<Vec<String>>,
    /// Disable or enable the user.
    pub disabled: Option<bool>,
}

/// The columns of `users u`, aliased `u_*` so they can be joined with other
/// tables; read back by [`user_from`]. `user_columns!(returning)` names them
/// unqualified, as SQLite wants in a `RETURNING` clause.
macro_rules! user_columns {
    () => {
        "u.id AS u_id, u.name AS u_name, u.role AS u_role, u.hosts AS u_hosts, u.tools AS u_tools, \
         u.disabled AS u_disabled, u.created_at AS u_created_at"
    };
    (returning) => {
        "id AS u_id, name AS u_name, role AS u_role, hosts AS u_hosts, tools AS u_tools, \
         disabled AS u_disabled, created_at AS u_created_at"
    };
}
pub(crate) use user_columns;

pub(crate) fn user_from(row: &impl Columns) -> Result<User> {
    Ok(User {
        id: row.int("u_id")?,
        name: row.text("u_name")?,
        role: row.text("u_role")?.parse()?,
        hosts: row.list("u_hosts")?,
        tools: row.list("u_tools")?,
        disabled: row.flag("u_disabled")?,
        created_at: row.time("u_created_at")?,
    })
}

fn json_list(list: &[String]) -> String {
    serde_json::Value::from(list).to_string()
}

impl Store {
    /// Adds a user. [`StoreError::Conflict`] when the name is taken.
    pub async fn add_user(&self, new: &NewUser) -> Result<User> {
        check::name("user name", &new.name)?;
        check::grants("hosts", &new.hosts)?;
        check::grants("tools", &new.tools)?;
        let created_at = Timestamp::now();
        let (hosts, tools) = (json_list(&new.hosts), json_list(&new.tools));
        const SQL: &str = "INSERT INTO users (name, role, hosts, tools, disabled, created_at) \
                           VALUES ($1, $2, $3, $4, FALSE, $5) RETURNING id";
        let id: i64 = self
            .bounded(async {
                on_db!(self, pool => sqlx::query_scalar(SQL)
                    .bind(&new.name)
                    .bind(new.role.as_str())
                    .bind(&hosts)
                    .bind(&tools)
                    .bind(created_at.unix_millis())
                    .fetch_one(pool)
                    .await)
                .map_err(|e| StoreError::from_write(e, || format!("user {:?}", new.name)))
            })
            .await?;
        Ok(User {
            id,
            name: new.name.clone(),
            role: new.role,
            hosts: new.hosts.clone(),
            tools: new.tools.clone(),
            disabled: false,
            created_at,
        })
    }

    /// The user called `name`, if any.
    pub async fn user_by_name(&self, name: &str) -> Result<Option<User>> {
        const SQL: &str = concat!("SELECT ", user_columns!(), " FROM users u WHERE u.name = $1");
        self.bounded(async {
            on_db!(self, pool => sqlx::query(SQL).bind(name).fetch_optional(pool).await?.map(|r| user_from(&r)).transpose())
        })
        .await
    }

    /// Every user, by name.
    pub async fn list_users(&self) -> Result<Vec<User>> {
        const SQL: &str = concat!("SELECT ", user_columns!(), " FROM users u ORDER BY u.name");
        self.bounded(async {
            on_db!(self, pool => sqlx::query(SQL).fetch_all(pool).await?.iter().map(user_from).collect())
        })
        .await
    }

    /// How many users exist (zero on a fresh store: time to add the first
    /// admin).
    pub async fn count_users(&self) -> Result<u64> {
        let n: i64 = self
            .bounded(async {
                Ok(on_db!(self, pool => sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(pool).await)?)
            })
            .await?;
        Ok(n.unsigned_abs())
    }

    /// Changes the role, grants or disabled flag of the user called `name`
    /// and returns the user as it now is. [`StoreError::LastAdmin`] when
    /// the change would disable or demote the last enabled admin; the check
    /// and the change are one statement, run while no other change to users
    /// can commit, so two admins demoting each other at once cannot leave
    /// none.
    pub async fn set_user(&self, name: &str, change: &UserChange) -> Result<User> {
        if let Some(hosts) = &change.hosts {
            check::grants("hosts", hosts)?;
        }
        if let Some(tools) = &change.tools {
            check::grants("tools", tools)?;
        }
        let hosts = change.hosts.as_deref().map(json_list);
        let tools = change.tools.as_deref().map(json_list);
        // The row is changed only when, afterwards, some enabled admin is
        // left: the user stays one, was not one, or another one exists.
        const SQL: &str = concat!(
            "UPDATE users SET role = COALESCE($2, role), hosts = COALESCE($3, hosts), ",
            "tools = COALESCE($4, tools), disabled = COALESCE($5, disabled) WHERE name = $1 AND (",
            "(COALESCE($2, role) = 'admin' AND NOT COALESCE($5, disabled)) ",
            "OR role <> 'admin' OR disabled ",
            "OR EXISTS (SELECT 1 FROM users o WHERE o.role = 'admin' AND NOT o.disabled AND o.name <> $1)",
            ") RETURNING ",
            user_columns!(returning)
        );
        // SQLite takes its one writer's lock before the statement reads;
        // PostgreSQL reads a snapshot, so concurrent changes to users wait
        // for this one to commit (readers are not blocked).
        let lock = match self.backend() {
            Backend::Postgres => Some("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE"),
            Backend::Sqlite => None,
        };
        let changed = self
            .bounded(async {
                on_db!(self, pool => {
                    let mut tx = pool.begin().await?;
                    if let Some(lock) = lock {
                        sqlx::query(lock).execute(&mut *tx).await?;
                    }
                    let row = sqlx::query(SQL)
                        .bind(name)
                        .bind(change.role.map(Role::as_str))
                        .bind(&hosts)
                        .bind(&tools)
                        .bind(change.disabled)
                        .fetch_optional(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    row.map(|r| user_from(&r)).transpose()
                })
            })
            .await?;
        match changed {
            Some(user) => Ok(user),
            None if self.user_by_name(name).await?.is_some() => Err(StoreError::LastAdmin),
            None => Err(StoreError::NotFound(format!("user {name:?}"))),
        }
    }

    /// Disables the user called `name`: every token of theirs is refused
    /// from then on.
    pub async fn disable_user(&self, name: &str) -> Result<User> {
        self.set_user(name, &UserChange { disabled: Some(true), ..UserChange::default() }).await
    }
}
