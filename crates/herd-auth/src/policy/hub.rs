//! The hub's own tools, and what each one reaches.
//!
//! A hub tool is allowed by what it does on a host, never by its own name,
//! so a grant written for agent tools (`--tools read_*`) means the same
//! through the hub. [`HUB_TOOLS`] is the table:
//!
//! | hub tool | in `tools/list` | a call is decided as |
//! |---|---|---|
//! | `remote_list_hosts` | every role but agent | each host listed only if [`Action::SeeHost`](super::Action::SeeHost) |
//! | `remote_list_tools` | every role but agent | [`SeeHost`](super::Action::SeeHost) of `host`, then each tool listed only if [`CallTool`](super::Action::CallTool) |
//! | `remote_call` | every role but agent | [`CallTool`](super::Action::CallTool) of `tool` on `host`, with that tool's own annotation |
//! | `remote_<t>` for the seven agent tools | when the role and tool grant allow `t` | [`CallTool`](super::Action::CallTool) of `t` on `host` |
//! | `remote_shell_many` | when `shell` is allowed | [`CallTool`](super::Action::CallTool) of `shell` on each host; the others are skipped and named |
//!
//! The read-only flags are those of the agent tools' own definitions
//! (`read_file`, `list_dir` and `search_files` are read-only), so a call
//! is decided the same whether the agent or the ssh fallback serves it.

use super::Tool;

/// One of the hub's own tools, by what it reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HubTool {
    /// `remote_list_hosts`.
    ListHosts,
    /// `remote_list_tools`.
    ListTools,
    /// `remote_call`: whatever tool it names.
    Call,
    /// `remote_<tool>`: one agent tool on one host.
    OnHost(AgentTool),
    /// `remote_shell_many`: one agent tool on many hosts.
    OnHosts(AgentTool),
}

/// An agent tool a hub tool forwards to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AgentTool {
    /// Its name on the agent.
    pub name: &'static str,
    /// Whether its definition says `readOnlyHint: true`.
    pub read_only: bool,
}

impl AgentTool {
    const fn new(name: &'static str, read_only: bool) -> Self {
        Self { name, read_only }
    }

    /// The tool as the policy sees it.
    pub fn tool(&self) -> Tool<'static> {
        Tool { name: self.name, read_only: Some(self.read_only) }
    }
}

const SHELL: AgentTool = AgentTool::new("shell", false);

/// Every hub tool by name.
pub const HUB_TOOLS: &[(&str, HubTool)] = &[
    ("remote_list_hosts", HubTool::ListHosts),
    ("remote_list_tools", HubTool::ListTools),
    ("remote_call", HubTool::Call),
    ("remote_shell", HubTool::OnHost(SHELL)),
    ("remote_shell_bg", HubTool::OnHost(AgentTool::new("shell_bg", false))),
    ("remote_read_file", HubTool::OnHost(AgentTool::new("read_file", true))),
    ("remote_write_file", HubTool::OnHost(AgentTool::new("write_file", false))),
    ("remote_edit_file", HubTool::OnHost(AgentTool::new("edit_file", false))),
    ("remote_list_dir", HubTool::OnHost(AgentTool::new("list_dir", true))),
    ("remote_search_files", HubTool::OnHost(AgentTool::new("search_files", true))),
    ("remote_shell_many", HubTool::OnHosts(SHELL)),
];

impl HubTool {
    /// The hub tool called `name`, if it is one.
    pub fn named(name: &str) -> Option<Self> {
        HUB_TOOLS.iter().find(|(n, _)| *n == name).map(|(_, tool)| *tool)
    }

    /// The agent tool it forwards to, for the tools whose target is fixed.
    pub fn target(&self) -> Option<AgentTool> {
        match self {
            Self::OnHost(tool) | Self::OnHosts(tool) => Some(*tool),
            Self::ListHosts | Self::ListTools | Self::Call => None,
        }
    }
}

/// The agent tool a `remote_*` tool forwards to (`remote_shell` and
/// `remote_shell_many`: `shell`, not read-only); `None` for the hub tools
/// whose target depends on their arguments, and for other names.
pub fn hub_tool_target(name: &str) -> Option<AgentTool> {
    HubTool::named(name).and_then(|t| t.target())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarding_tools_reach_the_agent_tool_of_their_name() {
        for (name, tool) in HUB_TOOLS {
            if let HubTool::OnHost(target) = tool {
                assert_eq!(Some(target.name), name.strip_prefix("remote_"), "{name}");
            }
        }
        assert_eq!(hub_tool_target("remote_shell_many"), Some(SHELL));
        assert_eq!(hub_tool_target("remote_read_file"), Some(AgentTool::new("read_file", true)));
        assert_eq!(hub_tool_target("remote_call"), None);
        assert_eq!(hub_tool_target("shell"), None);
        assert_eq!(HubTool::named("remote_list_hosts"), Some(HubTool::ListHosts));
    }

    #[test]
    fn only_reading_agent_tools_are_read_only() {
        let read_only: Vec<&str> =
            HUB_TOOLS.iter().filter_map(|(_, t)| t.target()).filter(|t| t.read_only).map(|t| t.name).collect();
        assert_eq!(read_only, ["read_file", "list_dir", "search_files"]);
    }
}
