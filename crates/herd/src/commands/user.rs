//! `herd user add|list|set|disable`: who may use herd, in which role, on
//! which hosts, with which tools.

use super::admin::Access;
use super::client::print_table;
use crate::cli::UserCommand;
use anyhow::{Context as _, bail};
use herd_admin::{AddUser, SetUser, patterns_arg};
use herd_auth::{HostPattern, Role, ToolPattern};
use herd_store::User;

pub(crate) async fn run(command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Add { name, role, hosts, tools, target } => {
            role.parse::<Role>()?;
            let req =
                AddUser { name, role, hosts: host_grant(hosts.as_deref())?, tools: tool_grant(tools.as_deref())? };
            let user = Access::open(&target, true).await?.add_user(&req).await?;
            println!("added user {}", describe(&user));
        }
        UserCommand::List { json, target } => {
            let users = Access::open(&target, false).await?.list_users().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&users)?);
                return Ok(());
            }
            let mut rows = vec![["NAME", "ROLE", "HOSTS", "TOOLS", "STATE", "CREATED"].map(String::from).to_vec()];
            for u in &users {
                let state = if u.disabled { "disabled" } else { "enabled" };
                let created = short_time(u.created_at);
                rows.push(vec![
                    u.name.clone(),
                    u.role.to_string(),
                    list(&u.hosts),
                    list(&u.tools),
                    state.into(),
                    created,
                ]);
            }
            print_table(&rows);
        }
        UserCommand::Set { name, role, hosts, tools, enable, target } => {
            if let Some(role) = &role {
                role.parse::<Role>()?;
            }
            let req = SetUser {
                role,
                hosts: host_grant(hosts.as_deref())?,
                tools: tool_grant(tools.as_deref())?,
                disabled: enable.then_some(false),
            };
            if req == SetUser::default() {
                bail!("nothing to change: give --role, --hosts, --tools or --enable");
            }
            let user = Access::open(&target, false).await?.set_user(&name, &req).await?;
            println!("changed user {}", describe(&user));
        }
        UserCommand::Disable { name, target } => {
            let user = Access::open(&target, false).await?.disable_user(&name).await?;
            println!("disabled user {}: their tokens are refused from now on", user.name);
        }
    }
    Ok(())
}

fn host_grant(text: Option<&str>) -> anyhow::Result<Option<Vec<String>>> {
    text.map(patterns_arg::<HostPattern>).transpose().context("--hosts")
}

fn tool_grant(text: Option<&str>) -> anyhow::Result<Option<Vec<String>>> {
    text.map(patterns_arg::<ToolPattern>).transpose().context("--tools")
}

/// `alice (operator; hosts gpu*,@lab; tools *)`.
fn describe(user: &User) -> String {
    let state = if user.disabled { "; disabled" } else { "" };
    format!("{} ({}; hosts {}; tools {}{state})", user.name, user.role, list(&user.hosts), list(&user.tools))
}

/// A grant list as the command line writes it: `*` for everything.
fn list(patterns: &[String]) -> String {
    if patterns.is_empty() { "*".to_owned() } else { patterns.join(",") }
}

/// `2026-05-20 12:34:56` (UTC), for tables.
pub(crate) fn short_time(at: herd_store::Timestamp) -> String {
    at.to_string().get(..19).unwrap_or_default().replace('T', " ")
}
