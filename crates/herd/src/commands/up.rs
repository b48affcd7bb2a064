//! `herd up`: hub and local agent in one process on loopback, for one
//! machine (and whatever hosts `$HERD_HOME/hosts.toml` adds).
//!
//! The first run generates the client token and the agent's token under
//! `$HERD_HOME` (mode 0600, written atomically; a token file found open to
//! other users is narrowed to 0600 with a warning); later runs reuse them,
//! so a pasted client configuration keeps working. The state
//! (`$HERD_HOME/herd.db`) gets its first user, `admin`, whose token the
//! client token is (see `state`). A `hosts.toml` it
//! writes is 0600 too. The configuration to paste is printed on
//! stdout; logs go to stderr and never contain a token.
//!
//! The local agent supervises the servers of `$HERD_HOME/agent.toml` when
//! that file exists (the `herd agent --config` format; its token settings
//! do not apply, the local agent keeps the generated one), and the servers
//! loaded at run time, kept in the hub's state like `herd agent`'s.
//!
//! Every call through the hub is recorded in the audit log of that state
//! before it is answered.

use crate::cli::{ServeArgs, TlsArgs, UpArgs};
use crate::commands::{agent, hub};
use crate::home;
use crate::{server, state};
use herd_fleet::{Host, Registry, Secret};
use tokio_util::sync::CancellationToken;

pub(crate) async fn run(args: UpArgs) -> anyhow::Result<()> {
    let home = home::dir(args.home)?;
    let token = home::token(&home.join("token"))?;
    let agent_token = home::token(&home.join("agent.token"))?;
    let shutdown = CancellationToken::new();
    tokio::spawn(server::stop_on_signal(shutdown.clone()));

    let agent_args = serve_args(agent_token.clone(), TlsArgs::default());
    let agent_listener = server::bind(args.agent_listen).await?;
    let agent_url = format!("http://{}/mcp", agent_listener.local_addr()?);
    let agent_file = home.join("agent.toml");
    let agent_config =
        if agent_file.exists() { agent::AgentConfig::load(&agent_file)? } else { agent::AgentConfig::default() };
    let hosts_file = home.join("hosts.toml");
    if !hosts_file.exists() {
        // Private from the start: it is where tokens of other hosts go.
        home::create_private(&hosts_file, HOSTS_TEMPLATE.as_bytes())?;
    }
    let registry = Registry::load(&hosts_file)?;
    // The local agent's children see neither herd's tokens nor those of the hosts.
    let host_tokens = registry.hosts().iter().filter_map(|h| h.token.as_ref()).map(|t| t.expose().to_owned());
    let tokens: Vec<String> = [token.clone(), agent_token.clone()].into_iter().chain(host_tokens).collect();
    let servers_dir = agent_config.servers_dir.clone().unwrap_or_else(|| home.join("servers"));
    let child_env = agent::child_env(&agent_config, tokens.iter());
    // One store: the hub's users, tokens and audit, the local agent's servers.
    let sync = herd_admin::AuditSettings::load(&hosts_file)?.sync;
    let store = state::open(&home, args.state.database_url.as_deref(), sync).await?;
    let runner = agent::runner(servers_dir, child_env, Some(store.clone()));
    let local_scope = herd_guard::Scope::Host { name: "local".into(), tags: vec!["local".into()] };
    // Not audited here: every call reaches the local agent through the hub,
    // which records it in this same store.
    let agent_router = server::router("herd-agent", agent::backends(&runner, &local_scope, None));
    let agent_stop = shutdown.clone();
    let agent = tokio::spawn(async move {
        let extra = axum::Router::new();
        server::serve_http("agent", &agent_args, agent_listener, agent_router, extra, None, agent_stop).await
    });
    agent::start_servers(&runner, agent_config.servers.into_iter()).await?;

    let local = Host {
        name: "local".into(),
        url: Some(agent_url),
        token: Some(Secret::new(agent_token)),
        tags: vec!["local".into()],
        // This machine's own agent: the traffic never leaves it, whatever
        // address the agent listens on.
        insecure_http: true,
        ..Host::default()
    };
    let registry = registry.with_hosts([local.clone()])?;
    state::keep_admin_token(&store, Some(&token)).await?;
    let access = state::access(store, Some(&hosts_file))?;
    let hub_listener = server::bind(args.listen).await?;
    let scheme = if args.tls.tls_cert.is_some() { "https" } else { "http" };
    let url = format!("{scheme}://{}/mcp", hub_listener.local_addr()?);
    print_client_config(&url, &token, registry.len(), &hosts_file);
    let watch = Some((hosts_file.clone(), vec![local]));
    let hub_args = serve_args(token, args.tls);
    let hub = hub::new_hub(registry);
    let served = hub::serve(hub, &hub_args, hub_listener, watch, access, None, shutdown.clone()).await;
    shutdown.cancel();
    agent.await??;
    runner.shutdown().await;
    served
}

/// What a fresh `hosts.toml` says; the hub reloads the file when it changes.
const HOSTS_TEMPLATE: &str = "\
# More hosts for `herd up` (this machine is always there as `local`).
# Saved changes are picked up at once. Example:
#
# [[hosts]]
# name = \"gpu1\"
# url = \"https://gpu1.lan:7801/mcp\"  # its `herd agent --tls-cert ... --tls-key ...`
# ca = \"/path/to/ca.pem\"             # if its certificate is not from a public CA
# token_env = \"GPU1_TOKEN\"           # or token = \"...\"
# ssh = \"admin@gpu1.lan\"             # used when the agent is down
# tags = [\"lab\"]
";

fn serve_args(token: String, tls: TlsArgs) -> ServeArgs {
    ServeArgs {
        listen: None,
        stdio: false,
        token: Some(token),
        insecure_no_auth: false,
        allowed_hosts: Vec::new(),
        allowed_origins: Vec::new(),
        path: "/mcp".into(),
        tls,
    }
}

/// Prints what to paste into a client. Written with errors ignored: a
/// closed stdout must not take the running hub down.
fn print_client_config(url: &str, token: &str, hosts: usize, hosts_file: &std::path::Path) {
    use std::io::Write as _;
    let json = serde_json::json!({ "mcpServers": { "herd": {
        "type": "http", "url": url, "headers": { "Authorization": format!("Bearer {token}") }
    }}});
    let text = format!(
        "herd is up: {url} ({hosts} host(s); add more in {file})\n\n\
         Claude Code:\n  claude mcp add --transport http herd {url} --header \"Authorization: Bearer {token}\"\n\n\
         Other MCP clients (e.g. .mcp.json, Cursor's mcp.json):\n  {json}\n\n\
         CLI: export HERD_URL={url}   # herd hosts, herd exec local -- uptime\n\n\
         Status page: {page} (sign in with the token above)\n",
        file = hosts_file.display(),
        page = url.trim_end_matches("/mcp").to_owned() + "/ui",
    );
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}
