//! `herd init hub|agent`: the setup of `herd_init`, and what to run next.
//! Secrets made by a run are printed once, on stdout; the rest of the
//! report goes to stderr.

use crate::cli::{InitAgentArgs, InitCommand, InitHubArgs};
use crate::home;
use anyhow::Context as _;
use herd_init::agent::{AgentInit, AgentReport};
use herd_init::hub::{AGENTS_USER, HubInit, HubReport, JOIN_TOKEN_TTL};
use herd_init::install::{Install, Role};
use std::path::Path;

pub(crate) async fn run(command: InitCommand) -> anyhow::Result<()> {
    match command {
        InitCommand::Hub(args) => hub(args).await,
        InitCommand::Agent(args) => agent(args).await,
    }
}

async fn hub(args: InitHubArgs) -> anyhow::Result<()> {
    let home = absolute(&home::path(args.home)?)?;
    let init = HubInit { home: home.clone(), listen: args.listen, sans: args.sans, force: args.common.force };
    let report = herd_init::hub::init(&init).await?;
    print_hub(&report, &home, args.listen);
    if args.common.install {
        install(Role::Hub, &home, &args.common)?;
    }
    Ok(())
}

async fn agent(args: InitAgentArgs) -> anyhow::Result<()> {
    let home = absolute(&home::path(args.home)?)?;
    let init = AgentInit {
        home: home.clone(),
        hub: args.hub,
        token: args.token,
        ca_sha256: args.ca_sha256,
        name: args.name.unwrap_or_else(herd_init::hostname),
        listen: args.listen,
        sans: args.sans,
        force: args.common.force,
    };
    let report = herd_init::agent::init(&init).await?;
    print_agent(&report, &init);
    if args.common.install {
        install(Role::Agent, &home, &args.common)?;
    }
    Ok(())
}

fn install(role: Role, home: &Path, common: &crate::cli::InitCommon) -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("cannot tell where this herd binary is")?;
    let args = Install {
        role,
        home: home.to_owned(),
        unit_dir: common.unit_dir.clone(),
        start: !common.no_start,
        force: common.force,
        exe,
    };
    let installed = herd_init::install::install(&args)?;
    let what = if installed.written { "installed" } else { "already installed, unchanged:" };
    eprintln!("service {what} {}; {}", installed.path.display(), installed.note);
    Ok(())
}

/// `path` from the root, so the files written name it wherever they are read.
fn absolute(path: &Path) -> anyhow::Result<std::path::PathBuf> {
    std::path::absolute(path).with_context(|| format!("cannot resolve {}", path.display()))
}

fn print_hub(report: &HubReport, home: &Path, listen: std::net::SocketAddr) {
    let files = &report.files;
    let url = &report.url;
    let origin = url.trim_end_matches("/mcp");
    let ca = files.ca_cert.display();
    if report.changes.is_empty() {
        eprintln!("nothing to change: {} is already set up for `herd hub`", home.display());
    } else {
        eprintln!("herd hub set up in {}; wrote:", home.display());
        for path in &report.changes.written {
            eprintln!("  {}", path.display());
        }
    }
    let start = format!(
        "herd hub --home {home} --config {hosts} --listen {listen} --tls-cert {cert} --tls-key {key}",
        home = home.display(),
        hosts = files.hosts.display(),
        cert = files.cert.display(),
        key = files.key.display(),
    );
    let admin = report.admin_token.as_deref();
    let token = admin.unwrap_or("<an admin's token>");
    let json = serde_json::json!({ "mcpServers": { "herd": {
        "type": "http", "url": url, "headers": { "Authorization": format!("Bearer {token}") }
    }}});
    let mut out = String::new();
    if let Some(admin) = admin {
        out.push_str(&format!("\nAdmin token (user admin; shown only this once, stored hashed):\n  {admin}\n"));
    }
    out.push_str(&format!(
        "\nStart the hub (or run this again with --install):\n  {start}\n\
         \nMCP clients (they must trust the fleet CA {ca}; for Claude Code and other Node programs,\n\
         export NODE_EXTRA_CA_CERTS={ca} where they run; for Python ones, SSL_CERT_FILE):\n  \
         Claude Code: claude mcp add --transport http herd {url} --header \"Authorization: Bearer {token}\"\n  \
         JSON (.mcp.json, Cursor's mcp.json): {json}\n  \
         CLI: export HERD_URL={url} HERD_CA={ca} HERD_TOKEN=...\n"
    ));
    let join = match report.join_token.as_deref() {
        Some(join) => format!(
            "\nJoin agents: on each agent's machine run (the token works for {JOIN_TOKEN_TTL}; make more with\n\
             `herd token create --user {AGENTS_USER} --expires 1d --home {home}`):\n  \
             herd init agent --hub {origin} --token {join} --ca-sha256 {fp}\n",
            home = home.display(),
            fp = report.fingerprint,
        ),
        None => format!(
            "\nJoin agents: make a token with `herd token create --user {AGENTS_USER} --expires 1d --home {home}`, then on\n\
             each agent's machine run:\n  herd init agent --hub {origin} --token TOKEN --ca-sha256 {fp}\n",
            home = home.display(),
            fp = report.fingerprint,
        ),
    };
    out.push_str(&join);
    out.push_str(&format!("\nFleet CA SHA-256: {}\n", report.fingerprint));
    print!("{out}");
}

fn print_agent(report: &AgentReport, init: &AgentInit) {
    let files = &report.files;
    if report.changes.is_empty() {
        eprintln!("nothing to change: {} is already set up for `herd agent`", init.home.display());
    } else {
        eprintln!("herd agent {} set up in {}; wrote:", init.name, init.home.display());
        for path in &report.changes.written {
            eprintln!("  {}", path.display());
        }
    }
    let mut out = format!(
        "\nIts certificate names {names}.\n\
         \nStart the agent (or run this again with --install):\n  \
         set -a; . {env}; set +a; herd agent\n",
        names = report.names.join(", "),
        env = files.env.display(),
    );
    match &report.hosts_entry {
        Some(entry) => out.push_str(&format!(
            "\nOn the hub, add this host to its hosts.toml (the hub picks it up when the file is saved;\n\
             the token is this agent's, also in {env}, 0600):\n\n{entry}",
            env = files.env.display(),
        )),
        None => out.push_str(&format!(
            "\nThe hub's hosts.toml entry for {name} was printed when its token was made; the token is\n\
             HERD_TOKEN in {env}.\n",
            name = init.name,
            env = files.env.display(),
        )),
    }
    print!("{out}");
}
