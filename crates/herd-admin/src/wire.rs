//! What the admin API takes and gives, as JSON. The command line sends the
//! same requests, whether it calls a hub or the store on this machine, so
//! both paths check input the same way.
//!
//! Grants travel as lists of patterns (`["gpu*", "@lab"]`); an empty list,
//! or one holding `*`, grants everything. Users come back as the store has
//! them ([`herd_store::User`]); tokens as [`TokenView`], never with a
//! secret except once, in [`CreatedToken`].

use herd_store::{Timestamp, TokenRecord, TokenStatus};
use serde::{Deserialize, Serialize};

/// `POST /api/v1/users`: a user to add.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddUser {
    /// Unique name, `^[a-zA-Z0-9_.@-]{1,64}$`.
    pub name: String,
    /// `admin`, `operator`, `viewer` or `agent`.
    pub role: String,
    /// Host patterns; absent or empty: every host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosts: Option<Vec<String>>,
    /// Tool patterns; absent or empty: every tool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<String>>,
}

/// `PATCH /api/v1/users/{name}`: what to change; absent fields stay.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetUser {
    /// A new role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// New host patterns (empty or `["*"]`: every host).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosts: Option<Vec<String>>,
    /// New tool patterns (empty or `["*"]`: every tool).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<String>>,
    /// Disable (`true`) or enable again (`false`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
}

/// `POST /api/v1/tokens`: a token to make.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// The user it acts for.
    pub user: String,
    /// What the owner calls it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// How long it works (`30d`); absent: until revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// A token as listings show it: no digest, no secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenView {
    /// Public id (`tok_...`), what `herd token revoke` takes.
    pub id: String,
    /// The user it acts for.
    pub user: String,
    /// What the owner called it.
    pub label: Option<String>,
    /// `active`, `revoked` or `expired`.
    pub status: String,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it stops working, if ever.
    pub expires_at: Option<Timestamp>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<Timestamp>,
    /// Roughly when it was last used.
    pub last_used_at: Option<Timestamp>,
}

impl TokenView {
    /// The view of `record`, whose user is called `user`, as of `now`.
    pub fn new(record: &TokenRecord, user: String, now: Timestamp) -> Self {
        let status = match record.status(now) {
            TokenStatus::Active => "active",
            TokenStatus::Revoked => "revoked",
            TokenStatus::Expired => "expired",
        };
        Self {
            id: record.id.clone(),
            user,
            label: record.label.clone(),
            status: status.to_owned(),
            created_at: record.created_at,
            expires_at: record.expires_at,
            revoked_at: record.revoked_at,
            last_used_at: record.last_used_at,
        }
    }
}

/// The answer to `POST /api/v1/tokens`: the only place a secret appears.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedToken {
    /// The token.
    pub token: TokenView,
    /// Its secret (`herd_...`); nothing shows it again.
    pub secret: String,
}

impl std::fmt::Debug for CreatedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedToken").field("token", &self.token).field("secret", &"***").finish()
    }
}

/// `GET /api/v1/audit`: which records, as query parameters. Times are RFC
/// 3339 or a duration ago (`1h`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Made by this user.
    pub user: Option<String>,
    /// Sent to this host.
    pub host: Option<String>,
    /// Naming this tool, prompt or resource.
    pub tool: Option<String>,
    /// `ok`, `tool_error`, `rpc_error`, `denied`, `cancelled` or `timeout`.
    pub outcome: Option<String>,
    /// At or after this time.
    pub since: Option<String>,
    /// Before this time.
    pub until: Option<String>,
    /// At most this many records.
    pub limit: Option<u32>,
    /// Only records after this id, oldest first (following the log).
    pub after_id: Option<i64>,
}

impl AuditQuery {
    /// The query as `(name, value)` pairs, for a URL's query string.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let texts = [
            ("user", &self.user),
            ("host", &self.host),
            ("tool", &self.tool),
            ("outcome", &self.outcome),
            ("since", &self.since),
            ("until", &self.until),
        ];
        let mut pairs: Vec<_> = texts.into_iter().filter_map(|(k, v)| v.clone().map(|v| (k, v))).collect();
        pairs.extend(self.limit.map(|n| ("limit", n.to_string())));
        pairs.extend(self.after_id.map(|n| ("after_id", n.to_string())));
        pairs
    }
}
