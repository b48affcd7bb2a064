//! The policy, tested as tables: every role against every kind of host
//! grant, tool grant and annotation, with the expected verdicts written as
//! data beside the cases; then properties tying lists to calls.

use super::hub::{HUB_TOOLS, HubTool};
use super::*;
use crate::{Grant, Identity, TokenId};
use serde_json::json;

// === the universe the tables range over ===

/// Hosts: name and tags.
const HOSTS: &[(&str, &[&str])] = &[("gpu1", &["lab"]), ("gpu2", &[]), ("db1", &["lab"]), ("ws1", &["home"])];

/// Host grants, with the hosts each covers.
const HOST_GRANTS: &[(&str, &[&str])] = &[
    ("*", &["gpu1", "gpu2", "db1", "ws1"]),
    ("gpu1", &["gpu1"]),
    ("gpu*", &["gpu1", "gpu2"]),
    ("@lab", &["gpu1", "db1"]),
    ("gpu?,@home", &["gpu1", "gpu2", "ws1"]),
    ("nothing*", &[]),
];

/// Tool names.
const TOOLS: &[&str] =
    &["read_file", "list_dir", "search_files", "shell", "shell_bg", "write_file", "edit_file", "query"];

/// Tool grants, with the tools each covers.
const TOOL_GRANTS: &[(&str, &[&str])] = &[
    ("*", TOOLS),
    ("read_*", &["read_file"]),
    ("shell", &["shell"]),
    ("list_dir,read_file", &["read_file", "list_dir"]),
    ("nothing*", &[]),
];

/// Every value `readOnlyHint` can take, as the policy sees it.
const ANNOTATIONS: [Option<bool>; 3] = [Some(true), Some(false), None];

/// What each role may do, as the product describes it.
struct RoleRule {
    role: Role,
    /// Allowed whatever the grants say.
    everything: bool,
    /// May act on hosts at all (tools, resources, prompts, completions).
    on_hosts: bool,
    /// Restricted to tools annotated `readOnlyHint: true`.
    read_only_tools: bool,
}

const ROLE_RULES: &[RoleRule] = &[
    RoleRule { role: Role::Admin, everything: true, on_hosts: true, read_only_tools: false },
    RoleRule { role: Role::Operator, everything: false, on_hosts: true, read_only_tools: false },
    RoleRule { role: Role::Viewer, everything: false, on_hosts: true, read_only_tools: true },
    RoleRule { role: Role::Agent, everything: false, on_hosts: false, read_only_tools: false },
];

fn principal(role: Role, hosts: &str, tools: &str) -> Principal {
    let identity = Identity::User { user_id: UserId(1), name: "u".into(), token_id: TokenId("tok_1".into()) };
    Principal::new(identity, role, Grant::parse(Some(hosts), Some(tools)).unwrap())
}

fn tags(list: &[&str]) -> Vec<String> {
    list.iter().map(|t| (*t).to_owned()).collect()
}

/// Every principal of the universe.
fn principals() -> Vec<Principal> {
    let mut all = Vec::new();
    for rule in ROLE_RULES {
        for (hosts, _) in HOST_GRANTS {
            for (tools, _) in TOOL_GRANTS {
                all.push(principal(rule.role, hosts, tools));
            }
        }
    }
    all
}

// === tables ===

#[test]
fn tool_calls_follow_role_host_grant_tool_grant_and_annotation() {
    let mut checked = 0;
    for rule in ROLE_RULES {
        for (host_grant, covered_hosts) in HOST_GRANTS {
            for (tool_grant, covered_tools) in TOOL_GRANTS {
                let p = principal(rule.role, host_grant, tool_grant);
                for (host_name, host_tags) in HOSTS {
                    let host_tags = tags(host_tags);
                    let host = Host { name: host_name, tags: &host_tags };
                    for tool_name in TOOLS {
                        for read_only in ANNOTATIONS {
                            let expected = if rule.everything {
                                Decision::Allow
                            } else if !rule.on_hosts {
                                Decision::Deny(Missing::AgentRole)
                            } else if !covered_hosts.contains(host_name) {
                                Decision::Deny(Missing::HostGrant((*host_name).into()))
                            } else if !covered_tools.contains(tool_name) {
                                Decision::Deny(Missing::ToolGrant((*tool_name).into()))
                            } else if rule.read_only_tools && read_only != Some(true) {
                                Decision::Deny(Missing::ReadOnlyTool(rule.role))
                            } else {
                                Decision::Allow
                            };
                            let action = Action::CallTool { host, tool: Tool { name: tool_name, read_only } };
                            assert_eq!(
                                allows(&p, &action),
                                expected,
                                "{} hosts={host_grant} tools={tool_grant} {host_name} {tool_name} {read_only:?}",
                                rule.role
                            );
                            checked += 1;
                        }
                    }
                }
            }
        }
    }
    assert_eq!(checked, 4 * 6 * 5 * 4 * 8 * 3);
}

#[test]
fn resources_prompts_completions_and_host_visibility_follow_the_host_grant_only() {
    for rule in ROLE_RULES {
        for (host_grant, covered_hosts) in HOST_GRANTS {
            // The tool grant covers nothing: it must not matter here.
            let p = principal(rule.role, host_grant, "nothing*");
            for (host_name, host_tags) in HOSTS {
                let host_tags = tags(host_tags);
                let host = Host { name: host_name, tags: &host_tags };
                let expected = if rule.everything {
                    Decision::Allow
                } else if !rule.on_hosts {
                    Decision::Deny(Missing::AgentRole)
                } else if covered_hosts.contains(host_name) {
                    Decision::Allow
                } else {
                    Decision::Deny(Missing::HostGrant((*host_name).into()))
                };
                for action in
                    [Action::SeeHost(host), Action::ReadResource(host), Action::GetPrompt(host), Action::Complete(host)]
                {
                    assert_eq!(allows(&p, &action), expected, "{} {host_grant} {action:?}", rule.role);
                }
            }
        }
    }
}

#[test]
fn hub_tools_are_offered_by_what_they_reach() {
    assert!(HUB_TOOLS.iter().filter_map(|(_, hub)| hub.target()).all(|t| TOOLS.contains(&t.name)));
    for rule in ROLE_RULES {
        for (tool_grant, covered_tools) in TOOL_GRANTS {
            let p = principal(rule.role, "nothing*", tool_grant);
            for (name, hub) in HUB_TOOLS {
                let expected = match (rule.everything, rule.on_hosts, hub.target()) {
                    (true, _, _) => Decision::Allow,
                    (false, false, _) => Decision::Deny(Missing::AgentRole),
                    (false, true, None) => Decision::Allow,
                    (false, true, Some(t)) if !covered_tools.contains(&t.name) => {
                        Decision::Deny(Missing::ToolGrant(t.name.into()))
                    }
                    (false, true, Some(t)) if rule.read_only_tools && !t.read_only => {
                        Decision::Deny(Missing::ReadOnlyTool(rule.role))
                    }
                    (false, true, Some(_)) => Decision::Allow,
                };
                assert_eq!(allows(&p, &Action::HubTool(*hub)), expected, "{} tools={tool_grant} {name}", rule.role);
            }
        }
    }
}

#[test]
fn models_admin_tasks_and_channels() {
    let owner = UserId(1);
    let someone_else = UserId(2);
    let public = Model { name: "qwen", owner: Some(someone_else), visibility: Visibility::Public };
    let mine = Model { name: "mine", owner: Some(owner), visibility: Visibility::Private };
    let theirs = Model { name: "theirs", owner: Some(someone_else), visibility: Visibility::Private };
    let orphan = Model { name: "orphan", owner: None, visibility: Visibility::Private };
    let private = |name: &str| Decision::Deny(Missing::PrivateModel(name.into()));
    let agent = Decision::Deny(Missing::AgentRole);
    let admin_only = Decision::Deny(Missing::AdminRole);
    let allow = Decision::Allow;
    let gpu1 = Host::named("gpu1");
    let ws1 = Host::named("ws1");
    // Operators and viewers alike, but for channels: an operator's own
    // workstation joins within the operator's grant.
    let user_row = |role| {
        let channel = match role {
            Role::Operator => [Decision::Allow, Decision::Deny(Missing::HostGrant("ws1".into()))],
            _ => [Decision::Deny(Missing::ChannelRole(role)), Decision::Deny(Missing::ChannelRole(role))],
        };
        let [channel_gpu1, channel_ws1] = channel;
        let join = Decision::Deny(Missing::JoinRole(role));
        [
            allow.clone(),
            allow.clone(),
            private("theirs"),
            private("orphan"),
            admin_only.clone(),
            admin_only.clone(),
            admin_only.clone(),
            channel_gpu1,
            channel_ws1,
            join.clone(),
            join,
        ]
    };
    // role, then: public, own private, another's private, ownerless private,
    // each admin task, channel as gpu1 and as ws1 (the grant is `gpu*`),
    // a certificate as gpu1 and as ws1.
    let mut agent_row: [Decision; 11] = std::array::from_fn(|_| agent.clone());
    agent_row[7] = Decision::Allow;
    agent_row[8] = Decision::Deny(Missing::HostGrant("ws1".into()));
    agent_row[9] = Decision::Allow;
    agent_row[10] = Decision::Deny(Missing::HostGrant("ws1".into()));
    let table = [
        (Role::Admin, std::array::from_fn(|_| Decision::Allow)),
        (Role::Operator, user_row(Role::Operator)),
        (Role::Viewer, user_row(Role::Viewer)),
        (Role::Agent, agent_row),
    ];
    for (role, expected) in table {
        let p = principal(role, "gpu*", "*");
        let actions = [
            Action::UseModel(public),
            Action::UseModel(mine),
            Action::UseModel(theirs),
            Action::UseModel(orphan),
            Action::Administer(AdminTask::ManageUsers),
            Action::Administer(AdminTask::ManageTokens),
            Action::Administer(AdminTask::ReadAudit),
            Action::ConnectChannel { host: gpu1 },
            Action::ConnectChannel { host: ws1 },
            Action::JoinFleet { host: gpu1 },
            Action::JoinFleet { host: ws1 },
        ];
        for (action, expected) in actions.iter().zip(expected) {
            assert_eq!(allows(&p, action), expected, "{role} {action:?}");
        }
    }
}

#[test]
fn denials_name_the_missing_permission() {
    let gpu2 = Host::named("gpu2");
    let shell = Tool { name: "shell", read_only: Some(false) };
    let read = Tool { name: "read_file", read_only: Some(true) };
    let denied = |p: &Principal, action: Action<'_>| allows(p, &action).into_result().unwrap_err().to_string();
    let viewer = principal(Role::Viewer, "*", "*");
    assert_eq!(
        denied(&viewer, Action::CallTool { host: gpu2, tool: shell }),
        "role viewer may only call tools annotated readOnlyHint: true"
    );
    let gpu1_only = principal(Role::Operator, "gpu1", "read_*");
    assert_eq!(denied(&gpu1_only, Action::CallTool { host: gpu2, tool: read }), "no grant for host gpu2");
    assert_eq!(
        denied(&gpu1_only, Action::CallTool { host: Host::named("gpu1"), tool: shell }),
        "no grant for tool shell"
    );
    assert_eq!(denied(&gpu1_only, Action::Administer(AdminTask::ReadAudit)), "admin role required");
    let agent = principal(Role::Agent, "*", "*");
    assert_eq!(
        denied(&agent, Action::CallTool { host: gpu2, tool: read }),
        "role agent may only connect an agent channel or join the fleet"
    );
    assert_eq!(
        denied(&viewer, Action::JoinFleet { host: gpu2 }),
        "role viewer may not get an agent certificate (agent or admin role required)"
    );
    assert_eq!(
        denied(&viewer, Action::ConnectChannel { host: gpu2 }),
        "role viewer may not connect an agent channel (agent, operator or admin role required)"
    );
    let model = Model { name: "qwen", owner: None, visibility: Visibility::Private };
    assert_eq!(denied(&viewer, Action::UseModel(model)), "model qwen is private to its owner");
    assert!(allows(&Principal::anonymous_admin(), &Action::CallTool { host: gpu2, tool: shell }).is_allowed());
}

// === properties: lists and calls agree ===

#[test]
fn a_filtered_tool_list_is_exactly_the_callable_tools() {
    let mut listing = Vec::new();
    for name in TOOLS {
        listing.push(json!({ "name": name, "annotations": { "readOnlyHint": true } }));
        listing.push(json!({ "name": name, "annotations": { "readOnlyHint": false } }));
        listing.push(json!({ "name": name, "annotations": { "readOnlyHint": "true" } }));
        listing.push(json!({ "name": name, "annotations": {} }));
        listing.push(json!({ "name": name }));
    }
    for p in principals() {
        for (host_name, host_tags) in HOSTS {
            let host_tags = tags(host_tags);
            let host = Host { name: host_name, tags: &host_tags };
            let mut shown = listing.clone();
            retain_tools(&p, host, &mut shown, |entry| Tool::from_listing(entry).unwrap());
            let callable: Vec<&Value> = listing
                .iter()
                .filter(|entry| {
                    let tool = Tool::from_listing(entry).unwrap();
                    allows(&p, &Action::CallTool { host, tool }).into_result().is_ok()
                })
                .collect();
            assert_eq!(shown.iter().collect::<Vec<_>>(), callable, "{p:?} {host_name}");
            if !allows(&p, &Action::SeeHost(host)).is_allowed() {
                assert!(shown.is_empty(), "{p:?} sees tools of hidden host {host_name}");
            }
        }
    }
}

#[test]
fn an_offered_hub_tool_can_be_called_on_every_visible_host_and_only_there() {
    for p in principals() {
        for (name, hub) in HUB_TOOLS {
            let offered = allows(&p, &Action::HubTool(*hub)).is_allowed();
            let Some(target) = hub.target() else {
                assert_eq!(offered, p.role() != Role::Agent, "{p:?} {name}");
                continue;
            };
            for (host_name, host_tags) in HOSTS {
                let host_tags = tags(host_tags);
                let host = Host { name: host_name, tags: &host_tags };
                let visible = allows(&p, &Action::SeeHost(host)).is_allowed();
                let callable = allows(&p, &Action::CallTool { host, tool: target.tool() }).is_allowed();
                assert_eq!(callable, offered && visible, "{p:?} {name} on {host_name}");
            }
        }
    }
}

#[test]
fn listing_entries_read_only_from_a_boolean_annotation() {
    let entry = |v: Value| Tool::from_listing(&v).map(|t| t.read_only);
    assert_eq!(entry(json!({ "name": "a", "annotations": { "readOnlyHint": true } })), Some(Some(true)));
    assert_eq!(entry(json!({ "name": "a", "annotations": { "readOnlyHint": 1 } })), Some(None));
    assert_eq!(entry(json!({ "name": "a", "annotations": null })), Some(None));
    assert_eq!(entry(json!({ "name": 5 })), None);
    assert_eq!(HubTool::named("remote_shell").and_then(|h| h.target()).map(|t| t.read_only), Some(false));
}
