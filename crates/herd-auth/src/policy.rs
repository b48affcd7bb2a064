//! The one policy: [`allows`] decides every action of every principal.
//!
//! It is a pure function of plain data (no I/O, no clock, no lookups), so
//! the router can call it wherever it needs an answer and always get the
//! same one: when it merges a list (an entry is shown only when acting on
//! it would be allowed) and when it dispatches a call. Listing and calling
//! cannot disagree because they ask the same question.
//!
//! | role | may |
//! |---|---|
//! | `admin` | everything; grants do not narrow an admin |
//! | `operator` | every tool, resource, prompt and completion on granted hosts, within the tool grant |
//! | `viewer` | tools annotated `readOnlyHint: true` (a missing or false hint is not read-only), resources, prompts and completions, on granted hosts, within the tool grant |
//! | `agent` | connect an agent channel and get an agent certificate (as a granted host name); nothing else |
//!
//! Every role but `agent` may use public models and its own private ones;
//! only admins manage users and tokens and read the audit log. Resources,
//! prompts and completions only read, so a viewer has them; the tool grant
//! does not apply to them (it names tools).
//!
//! The hub's own tools are decided by what they reach (see [`hub`]): calling
//! `remote_shell` on `gpu1` is [`Action::CallTool`] of `shell` on `gpu1`.
//!
//! When several permissions are missing, the first of these is named: the
//! role's, the host grant, the tool grant, the read-only annotation.

pub mod hub;

#[cfg(test)]
mod tests;

use crate::{Principal, Role, UserId};
use hub::HubTool;
use serde_json::Value;

/// A host as the policy sees it: its name and tags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Host<'a> {
    /// The host's name in the fleet.
    pub name: &'a str,
    /// Its tags, matched by `@tag` grants.
    pub tags: &'a [String],
}

impl<'a> Host<'a> {
    /// A host without tags.
    pub fn named(name: &'a str) -> Self {
        Self { name, tags: &[] }
    }
}

/// A tool as the policy sees it: its name on the host, and whether its
/// definition says `readOnlyHint: true`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tool<'a> {
    /// The tool's name as the host's agent names it.
    pub name: &'a str,
    /// The definition's `annotations.readOnlyHint`; `None` when absent or
    /// not a boolean, which counts as not read-only.
    pub read_only: Option<bool>,
}

impl<'a> Tool<'a> {
    /// The name and read-only hint of a tool definition as a `tools/list`
    /// entry carries it; `None` when it has no string `name`.
    pub fn from_listing(entry: &'a Value) -> Option<Self> {
        let name = entry.get("name")?.as_str()?;
        let read_only = entry.get("annotations").and_then(|a| a.get("readOnlyHint")).and_then(Value::as_bool);
        Some(Self { name, read_only })
    }

    fn is_read_only(&self) -> bool {
        self.read_only == Some(true)
    }
}

/// Who may use a model besides admins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Visibility {
    /// Its owner only.
    Private,
    /// Every principal but agents.
    Public,
}

/// A model, pool or preset of the LLM relay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Model<'a> {
    /// What clients ask for.
    pub name: &'a str,
    /// The user whose agent published it.
    pub owner: Option<UserId>,
    /// Who may use it.
    pub visibility: Visibility,
}

/// What only admins may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdminTask {
    /// `herd user ...`
    ManageUsers,
    /// `herd token ...`
    ManageTokens,
    /// `herd audit ...`
    ReadAudit,
}

/// Something a principal wants to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action<'a> {
    /// Call (or see in a list) a tool on a host: an agent's own tool, a
    /// supervised server's, an exposed one, or the target of a hub tool.
    CallTool {
        /// Where the tool runs.
        host: Host<'a>,
        /// Which tool.
        tool: Tool<'a>,
    },
    /// See one of the hub's own tools in `tools/list`, or call one before
    /// its target is known; the target is then decided as its own action.
    HubTool(HubTool),
    /// See a host in `remote_list_hosts` and list its tools.
    SeeHost(Host<'a>),
    /// List or read a host's resources and resource templates.
    ReadResource(Host<'a>),
    /// List or get a host's prompts.
    GetPrompt(Host<'a>),
    /// Ask a host for completions of a prompt or resource argument.
    Complete(Host<'a>),
    /// List or use a model.
    UseModel(Model<'a>),
    /// Manage users or tokens, or read the audit log.
    Administer(AdminTask),
    /// Connect an agent's outbound channel, joining the fleet as `host`.
    ConnectChannel {
        /// The host the agent joins as.
        host: Host<'a>,
    },
    /// Get a certificate from the fleet CA for an agent serving as `host`
    /// (`herd init agent`).
    JoinFleet {
        /// The host the certificate names.
        host: Host<'a>,
    },
}

/// The answer to "may this principal do this?".
#[must_use]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead.
    Allow,
    /// No, for want of this.
    Deny(Missing),
}

impl Decision {
    /// Whether the action is allowed (what list filters ask).
    pub fn is_allowed(&self) -> bool {
        matches!(self, Self::Allow)
    }

    /// `Ok` when allowed, else the missing permission (what calls ask).
    pub fn into_result(self) -> Result<(), Missing> {
        match self {
            Self::Allow => Ok(()),
            Self::Deny(missing) => Err(missing),
        }
    }
}

/// The permission a denied action lacked; its `Display` names it, for the
/// error the caller sees and the audit record.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Missing {
    /// Users, tokens and audit are for admins.
    #[error("admin role required")]
    AdminRole,
    /// The agent role connects channels, joins the fleet, and does
    /// nothing else.
    #[error("role agent may only connect an agent channel or join the fleet")]
    AgentRole,
    /// Channels are for the agent and operator roles (and admins).
    #[error("role {0} may not connect an agent channel (agent, operator or admin role required)")]
    ChannelRole(Role),
    /// Joining the fleet is for the agent role (and admins).
    #[error("role {0} may not get an agent certificate (agent or admin role required)")]
    JoinRole(Role),
    /// The role only calls read-only tools.
    #[error("role {0} may only call tools annotated readOnlyHint: true")]
    ReadOnlyTool(Role),
    /// The host grant does not cover this host.
    #[error("no grant for host {0}")]
    HostGrant(String),
    /// The tool grant does not cover this tool.
    #[error("no grant for tool {0}")]
    ToolGrant(String),
    /// A private model of another user.
    #[error("model {0} is private to its owner")]
    PrivateModel(String),
}

/// Whether `principal` may do `action`, and if not, what it lacks.
pub fn allows(principal: &Principal, action: &Action<'_>) -> Decision {
    let role = principal.role();
    match (role, action) {
        (Role::Admin, _) => Decision::Allow,
        (Role::Agent, Action::ConnectChannel { host } | Action::JoinFleet { host }) => {
            on_host(principal, role, Some(host), None)
        }
        (Role::Agent, _) => Decision::Deny(Missing::AgentRole),
        (Role::Operator | Role::Viewer, action) => user_action(principal, role, action),
    }
}

/// The rules for operators and viewers.
fn user_action(principal: &Principal, role: Role, action: &Action<'_>) -> Decision {
    match action {
        Action::CallTool { host, tool } => on_host(principal, role, Some(host), Some(tool)),
        Action::HubTool(hub) => match hub.target() {
            Some(target) => on_host(principal, role, None, Some(&target.tool())),
            None => Decision::Allow,
        },
        Action::SeeHost(host) | Action::ReadResource(host) | Action::GetPrompt(host) | Action::Complete(host) => {
            on_host(principal, role, Some(host), None)
        }
        Action::UseModel(model) => match model.visibility {
            Visibility::Public => Decision::Allow,
            Visibility::Private if model.owner.is_some() && model.owner == principal.user_id() => Decision::Allow,
            Visibility::Private => Decision::Deny(Missing::PrivateModel(model.name.to_owned())),
        },
        Action::Administer(_) => Decision::Deny(Missing::AdminRole),
        // An operator's own workstation joins with the operator's token, so
        // the LLMs it publishes are theirs (private ones theirs alone).
        Action::ConnectChannel { host } if role == Role::Operator => on_host(principal, role, Some(host), None),
        Action::ConnectChannel { .. } => Decision::Deny(Missing::ChannelRole(role)),
        Action::JoinFleet { .. } => Decision::Deny(Missing::JoinRole(role)),
    }
}

/// The grant and annotation checks shared by everything done on a host;
/// a `None` host or tool skips its checks (a hub tool offered before its
/// host is known, a resource that is no tool).
fn on_host(principal: &Principal, role: Role, host: Option<&Host<'_>>, tool: Option<&Tool<'_>>) -> Decision {
    let grant = principal.grant();
    if let Some(host) = host
        && !grant.hosts.covers(host.name, host.tags)
    {
        return Decision::Deny(Missing::HostGrant(host.name.to_owned()));
    }
    if let Some(tool) = tool {
        if !grant.tools.covers(tool.name) {
            return Decision::Deny(Missing::ToolGrant(tool.name.to_owned()));
        }
        if role == Role::Viewer && !tool.is_read_only() {
            return Decision::Deny(Missing::ReadOnlyTool(role));
        }
    }
    Decision::Allow
}

/// Keeps the tools of `host` that `principal` may call: what a merged
/// `tools/list` shows of that host. `tool_of` reads an entry's name and
/// annotation (see [`Tool::from_listing`]).
pub fn retain_tools<T>(principal: &Principal, host: Host<'_>, tools: &mut Vec<T>, tool_of: impl Fn(&T) -> Tool<'_>) {
    tools.retain(|entry| allows(principal, &Action::CallTool { host, tool: tool_of(entry) }).is_allowed());
}

impl Principal {
    /// [`allows`] for this principal.
    pub fn allows(&self, action: &Action<'_>) -> Decision {
        allows(self, action)
    }
}
