//! `herd init agent`: an agent's key, its certificate from the fleet CA,
//! and its settings.
//!
//! ```text
//! HOME/agent.toml     name, hub, token_env (no secret)
//! HOME/agent.env      how `herd agent` runs (HERD_HOME, HERD_AGENT_CONFIG, HERD_LISTEN,
//!                     HERD_TLS_*) and HERD_TOKEN, the token the hub presents (0600)
//! HOME/tls/ca.pem     the fleet CA, as its fingerprint was given
//! HOME/tls/agent.pem  this agent's certificate   HOME/tls/agent.key  its key (0600, made here)
//! ```
//!
//! The join token is used for the one signing request and stored nowhere.

use crate::files::{self, Changes, PUBLIC, SECRET};
use crate::hub::url_host;
use crate::{InitError, join, toml_string, utf8};
use herd_ca::{Fingerprint, certificate_names, new_request, verify_issued};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The variable holding the agent's token (in `agent.env`).
const TOKEN_VAR: &str = "HERD_TOKEN";

/// What `herd init agent` was asked.
#[derive(Debug, Clone)]
pub struct AgentInit {
    /// The home (made 0700 when missing).
    pub home: PathBuf,
    /// The hub's URL.
    pub hub: String,
    /// The join token (an agent's or an admin's); never stored.
    pub token: String,
    /// The fleet CA's SHA-256, as `herd init hub` printed it.
    pub ca_sha256: Fingerprint,
    /// The host's name in the fleet.
    pub name: String,
    /// Where the agent listens.
    pub listen: SocketAddr,
    /// More names for its certificate (the first is the one the hub is
    /// told to dial).
    pub sans: Vec<String>,
    /// Replace files that differ and renew the certificate.
    pub force: bool,
}

/// The paths of an agent's setup.
#[derive(Debug, Clone)]
pub struct AgentFiles {
    /// `agent.toml`.
    pub config: PathBuf,
    /// `agent.env`.
    pub env: PathBuf,
    /// `tls/ca.pem`.
    pub ca: PathBuf,
    /// `tls/agent.pem`.
    pub cert: PathBuf,
    /// `tls/agent.key`.
    pub key: PathBuf,
}

impl AgentFiles {
    /// The files under `home`.
    pub fn under(home: &Path) -> Self {
        let tls = home.join("tls");
        Self {
            config: home.join("agent.toml"),
            env: home.join("agent.env"),
            ca: tls.join("ca.pem"),
            cert: tls.join("agent.pem"),
            key: tls.join("agent.key"),
        }
    }
}

/// What a run did.
#[derive(Debug)]
pub struct AgentReport {
    /// Files written.
    pub changes: Changes,
    /// The `[[hosts]]` entry for the hub's `hosts.toml`, with the agent's
    /// token: only when this run made the token.
    pub hosts_entry: Option<String>,
    /// The paths.
    pub files: AgentFiles,
    /// The names the certificate holds.
    pub names: Vec<String>,
}

/// Writes (or checks) the agent's setup under `args.home`.
pub async fn init(args: &AgentInit) -> Result<AgentReport, InitError> {
    let hub = join::hub_base(&args.hub)?;
    herd_ca::check_name(&args.name).map_err(|e| InitError::Usage(format!("--name: {e}")))?;
    let home = &args.home;
    files::make_dir(home, 0o700)?;
    files::make_dir(&home.join("tls"), 0o700)?;
    let paths = AgentFiles::under(home);
    let names = agent_names(args)?;

    let config = agent_toml(&args.name, hub.as_str());
    let write_config = files::needs(&paths.config, config.as_bytes(), args.force, "another name or hub")?;
    let existing_token = files::read(&paths.env)?.and_then(|text| env_value(&text, TOKEN_VAR));
    let made_token = existing_token.is_none();
    let token = existing_token.unwrap_or_else(new_token);
    let env = agent_env(home, &paths, args.listen, &token)?;
    let write_env = files::needs(&paths.env, env.as_bytes(), args.force, "another listen address or home")?;

    let ca_pem = match files::read(&paths.ca)? {
        Some(pem) if Fingerprint::of_pem(&pem) == Some(args.ca_sha256) => Some(pem),
        Some(pem) if !args.force => {
            let held = Fingerprint::of_pem(&pem).map_or("unreadable".to_owned(), |f| f.to_string());
            return Err(InitError::Differs {
                path: paths.ca.clone(),
                what: format!("it is the CA with SHA-256 {held}, not {}", args.ca_sha256),
            });
        }
        _ => None,
    };
    let cert_ok = match (&ca_pem, files::read(&paths.cert)?) {
        (Some(ca), Some(cert)) => {
            let (held, not_after) = certificate_names(&cert).unwrap_or_default();
            let fresh = not_after - crate::now() > crate::RENEW_BEFORE_SECS;
            let current = held == names && fresh && verify_issued(&cert, ca) && paths.key.exists();
            if !current && !args.force && held != names {
                return Err(InitError::Differs {
                    path: paths.cert.clone(),
                    what: format!("it names {}, these arguments {}", held.join(", "), names.join(", ")),
                });
            }
            current && !args.force
        }
        _ => false,
    };

    let mut changes = Changes::default();
    if !cert_ok {
        // Nothing is written before the hub has proved to hold the CA and
        // signed: a refused join leaves the home as it was.
        let (ca, served) = join::fetch_ca(&hub, args.ca_sha256).await?;
        join::check_hub_name(&hub, &served)?;
        let (key_pem, csr) = new_request(&args.name, &names)?;
        let signed = join::sign(&hub, &ca, &args.token, &args.name, &csr).await?;
        if !verify_issued(&signed.cert_pem, &ca) {
            return Err(InitError::Hub("the hub answered with a certificate its CA did not issue".into()));
        }
        if ca_pem.as_deref() != Some(ca.as_str()) {
            changes.write(&paths.ca, ca.as_bytes(), PUBLIC)?;
        }
        changes.write(&paths.key, key_pem.as_bytes(), SECRET)?;
        changes.write(&paths.cert, signed.cert_pem.as_bytes(), PUBLIC)?;
    }
    if write_config {
        changes.write(&paths.config, config.as_bytes(), PUBLIC)?;
    }
    if write_env {
        changes.write(&paths.env, env.as_bytes(), SECRET)?;
    }
    let dial = args.sans.first().cloned().unwrap_or_else(|| args.name.clone());
    let hosts_entry = made_token.then(|| {
        format!(
            "[[hosts]]\nname = {}\nurl = {}\ntoken = {}\n",
            toml_string(&args.name),
            toml_string(&format!("https://{}:{}/mcp", url_host(&dial), args.listen.port())),
            toml_string(&token)
        )
    });
    Ok(AgentReport { changes, hosts_entry, files: paths, names })
}

/// The certificate's names: the host's name (by default this machine's
/// host name), then `--san`s; each once, lowercase.
fn agent_names(args: &AgentInit) -> Result<Vec<String>, InitError> {
    let mut names: Vec<String> = Vec::new();
    for name in std::iter::once(args.name.clone()).chain(args.sans.iter().cloned()) {
        let name = name.to_ascii_lowercase();
        herd_ca::check_name(&name).map_err(|e| InitError::Usage(format!("--san: {e}")))?;
        if !names.contains(&name) {
            names.push(name);
        }
    }
    Ok(names)
}

fn agent_toml(name: &str, hub: &str) -> String {
    format!(
        "# This agent's settings; written by `herd init agent`.\n\
         name = {name}\n\
         # The hub it joined (and renews its certificate with).\n\
         hub = {hub}\n\
         # The token the hub presents, from agent.env (0600).\n\
         token_env = \"{TOKEN_VAR}\"\n",
        name = toml_string(name),
        hub = toml_string(hub.trim_end_matches('/')),
    )
}

fn agent_env(home: &Path, paths: &AgentFiles, listen: SocketAddr, token: &str) -> Result<String, InitError> {
    Ok(format!(
        "# How `herd agent` runs on this machine; written by `herd init agent`.\n\
         # Holds the agent's token: keep it 0600. Its systemd unit reads it (EnvironmentFile=).\n\
         HERD_HOME={home}\n\
         HERD_AGENT_CONFIG={config}\n\
         HERD_LISTEN={listen}\n\
         HERD_TLS_CERT={cert}\n\
         HERD_TLS_KEY={key}\n\
         {TOKEN_VAR}={token}\n",
        home = utf8(home)?,
        config = utf8(&paths.config)?,
        cert = utf8(&paths.cert)?,
        key = utf8(&paths.key)?,
    ))
}

/// The value of `var` in an environment file.
fn env_value(text: &str, var: &str) -> Option<String> {
    text.lines().find_map(|line| line.strip_prefix(var)?.strip_prefix('=')).map(str::to_owned).filter(|v| !v.is_empty())
}

/// A new agent token: 256 random bits, hex, after `herd_` (so secret
/// scanners find it).
fn new_token() -> String {
    let bytes: [u8; 32] = rand::random();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("herd_{hex}")
}
