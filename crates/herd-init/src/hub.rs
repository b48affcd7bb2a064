//! `herd init hub`: everything a hub needs under its home.
//!
//! ```text
//! HOME/hub.env       how `herd hub` runs (HERD_HOME, HERD_CONFIG, HERD_LISTEN, HERD_TLS_*)
//! HOME/hosts.toml    the registry: [tls] ca = the fleet CA, [fleet_ca] for signing
//! HOME/tls/ca.pem    the fleet CA certificate     HOME/tls/ca.key   its key (0600)
//! HOME/tls/hub.pem   the hub's certificate        HOME/tls/hub.key  its key (0600)
//! HOME/herd.db       users `admin` and `agents` (role agent), one token each
//! ```
//!
//! `hosts.toml` is written once and is the operator's afterwards (hosts are
//! added to it); the others are checked on every run.

use crate::files::{self, Changes, PUBLIC, SECRET};
use crate::{InitError, toml_string, utf8};
use herd_admin::{AddUser, Admin, CreateToken};
use herd_ca::{FleetCa, certificate_names};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The user agents join the fleet as.
pub const AGENTS_USER: &str = "agents";
/// The first admin.
pub const ADMIN_USER: &str = "admin";
/// How long the join token printed by the first run works.
pub const JOIN_TOKEN_TTL: &str = "1d";

/// What `herd init hub` was asked.
#[derive(Debug, Clone)]
pub struct HubInit {
    /// The home (made 0700 when missing).
    pub home: PathBuf,
    /// Where the hub listens.
    pub listen: SocketAddr,
    /// Names besides this machine's host name, `localhost` and `127.0.0.1`
    /// that the hub's certificate holds; the first is the one printed in
    /// URLs.
    pub sans: Vec<String>,
    /// Replace files that differ (never the CA).
    pub force: bool,
}

/// The paths of a hub's setup.
#[derive(Debug, Clone)]
pub struct HubFiles {
    /// `hub.env`.
    pub env: PathBuf,
    /// `hosts.toml`.
    pub hosts: PathBuf,
    /// `tls/ca.pem`.
    pub ca_cert: PathBuf,
    /// `tls/ca.key`.
    pub ca_key: PathBuf,
    /// `tls/hub.pem`.
    pub cert: PathBuf,
    /// `tls/hub.key`.
    pub key: PathBuf,
}

impl HubFiles {
    /// The files under `home`.
    pub fn under(home: &Path) -> Self {
        let tls = home.join("tls");
        Self {
            env: home.join("hub.env"),
            hosts: home.join("hosts.toml"),
            ca_cert: tls.join("ca.pem"),
            ca_key: tls.join("ca.key"),
            cert: tls.join("hub.pem"),
            key: tls.join("hub.key"),
        }
    }
}

/// What a run did and what to tell the operator.
#[derive(Debug)]
pub struct HubReport {
    /// Files written.
    pub changes: Changes,
    /// Secrets made by this run, shown once: the admin's token and the
    /// agents' join token.
    pub admin_token: Option<String>,
    /// The join token for `herd init agent`.
    pub join_token: Option<String>,
    /// The fleet CA's SHA-256.
    pub fingerprint: String,
    /// The hub's MCP URL.
    pub url: String,
    /// The paths.
    pub files: HubFiles,
}

/// Writes (or checks) the hub's setup under `args.home`.
pub async fn init(args: &HubInit) -> Result<HubReport, InitError> {
    let home = &args.home;
    files::make_dir(home, 0o700)?;
    files::make_dir(&home.join("tls"), 0o700)?;
    let paths = HubFiles::under(home);
    let mut changes = Changes::default();

    let names = hub_names(args)?;
    let env = hub_env(home, &paths, args.listen)?;
    let write_env = files::needs(&paths.env, env.as_bytes(), args.force, "another listen address or home")?;

    // The CA: made once, never replaced.
    let ca = match (files::read(&paths.ca_cert)?, files::read(&paths.ca_key)?) {
        (Some(cert), Some(key)) => Some(FleetCa::load(&cert, &key)?),
        (None, None) => None,
        (Some(_), None) => return Err(InitError::Usage(format!("{} is missing", paths.ca_key.display()))),
        (None, Some(_)) => return Err(InitError::Usage(format!("{} is missing", paths.ca_cert.display()))),
    };
    let hub_cert = files::read(&paths.cert)?;
    let reissue = match &hub_cert {
        None => true,
        Some(pem) => {
            let (held, not_after) = certificate_names(pem).unwrap_or_default();
            let issued_here = ca.as_ref().is_some_and(|ca| issued_by(pem, ca));
            if held == names && issued_here && paths.key.exists() {
                // Renewed by the run that finds it about to expire.
                not_after - crate::now() < crate::RENEW_BEFORE_SECS
            } else if args.force {
                true
            } else {
                return Err(InitError::Differs {
                    path: paths.cert.clone(),
                    what: format!("it names {}, these arguments {}", held.join(", "), names.join(", ")),
                });
            }
        }
    };

    let ca = match ca {
        Some(ca) => ca,
        None => {
            let ca = FleetCa::generate(&names[0])?;
            changes.write(&paths.ca_key, ca.key_pem().as_bytes(), SECRET)?;
            changes.write(&paths.ca_cert, ca.cert_pem().as_bytes(), PUBLIC)?;
            ca
        }
    };
    if reissue {
        let issued = ca.issue_hub(&names)?;
        changes.write(&paths.key, issued.key_pem.as_bytes(), SECRET)?;
        changes.write(&paths.cert, issued.cert_pem.as_bytes(), PUBLIC)?;
    }
    if write_env {
        changes.write(&paths.env, env.as_bytes(), PUBLIC)?;
    }
    if !paths.hosts.exists() {
        changes.write(&paths.hosts, hosts_toml(&paths)?.as_bytes(), SECRET)?;
    }
    let (admin_token, join_token) = first_users(home, &mut changes).await?;
    let port = args.listen.port();
    let url = format!("https://{}:{port}/mcp", url_host(&names[0]));
    Ok(HubReport { changes, admin_token, join_token, fingerprint: ca.fingerprint().to_string(), url, files: paths })
}

/// The hub certificate's names: the first `--san` (or the host name), then
/// the host name, `localhost`, `127.0.0.1`, the listen address when it is
/// one host's, and the other `--san`s; each once.
fn hub_names(args: &HubInit) -> Result<Vec<String>, InitError> {
    let mut names: Vec<String> = Vec::new();
    let listen_ip = args.listen.ip();
    let listen = (!listen_ip.is_unspecified() && !listen_ip.is_loopback()).then(|| listen_ip.to_string());
    let all = args.sans.iter().take(1).cloned().chain([crate::hostname(), "localhost".into(), "127.0.0.1".into()]);
    for name in all.chain(listen).chain(args.sans.iter().skip(1).cloned()) {
        let name = name.to_ascii_lowercase();
        herd_ca::check_name(&name).map_err(|e| InitError::Usage(format!("--san: {e}")))?;
        if !names.contains(&name) {
            names.push(name);
        }
    }
    Ok(names)
}

/// Whether the certificate `pem` was issued by `ca` (the CA's subject is its
/// issuer, and the CA's key verifies its signature).
fn issued_by(pem: &str, ca: &FleetCa) -> bool {
    herd_ca::verify_issued(pem, ca.cert_pem())
}

/// A host name or IP literal as a URL's host.
pub(crate) fn url_host(name: &str) -> String {
    if name.contains(':') { format!("[{name}]") } else { name.to_owned() }
}

fn hub_env(home: &Path, paths: &HubFiles, listen: SocketAddr) -> Result<String, InitError> {
    Ok(format!(
        "# How `herd hub` runs on this machine; written by `herd init hub`.\n\
         # Its systemd unit reads it (EnvironmentFile=); by hand: set -a; . {env}; set +a; herd hub\n\
         HERD_HOME={home}\n\
         HERD_CONFIG={hosts}\n\
         HERD_LISTEN={listen}\n\
         HERD_TLS_CERT={cert}\n\
         HERD_TLS_KEY={key}\n",
        env = utf8(&paths.env)?,
        home = utf8(home)?,
        hosts = utf8(&paths.hosts)?,
        cert = utf8(&paths.cert)?,
        key = utf8(&paths.key)?,
    ))
}

fn hosts_toml(paths: &HubFiles) -> Result<String, InitError> {
    let ca = toml_string(utf8(&paths.ca_cert)?);
    let key = toml_string(utf8(&paths.ca_key)?);
    Ok(format!(
        "# The fleet's hosts (reloaded when saved). Written once by `herd init hub`;\n\
         # yours to edit. Each `herd init agent` prints its entry, e.g.:\n\
         #\n\
         # [[hosts]]\n\
         # name = \"gpu1\"\n\
         # url = \"https://gpu1:7801/mcp\"\n\
         # token = \"herd_...\"        # the agent's token (this file is 0600)\n\
         # tags = [\"lab\"]\n\
         \n\
         [tls]\n\
         # Agents' certificates are checked against the fleet CA.\n\
         ca = {ca}\n\
         \n\
         [fleet_ca]\n\
         # The hub signs agents' certificate requests with it (POST /api/v1/certificates).\n\
         cert = {ca}\n\
         key = {key}\n"
    ))
}

/// Users `admin` and `agents` with a token each, made with the state (an
/// existing state is left alone); their secrets, shown once.
async fn first_users(home: &Path, changes: &mut Changes) -> Result<(Option<String>, Option<String>), InitError> {
    let path = herd_store::default_path(home);
    if path.exists() {
        // Its users are the operator's now: `herd user` and `herd token`
        // with --home manage them.
        return Ok((None, None));
    }
    let state = |e: &dyn std::fmt::Display| InitError::State(e.to_string());
    let store = herd_store::Store::open(utf8(&path)?).await.map_err(|e| state(&e))?;
    let admin = Admin::new(store.clone(), herd_admin::no_cache());
    let user = |name: &str, role: &str| AddUser { name: name.into(), role: role.into(), hosts: None, tools: None };
    admin.add_user(&user(ADMIN_USER, "admin")).await.map_err(|e| state(&e))?;
    admin.add_user(&user(AGENTS_USER, "agent")).await.map_err(|e| state(&e))?;
    let token = |user: &str, label: &str, expires: Option<&str>| CreateToken {
        user: user.into(),
        label: Some(label.into()),
        expires: expires.map(str::to_owned),
    };
    let admin_token = admin.create_token(&token(ADMIN_USER, "herd init hub", None)).await.map_err(|e| state(&e))?;
    let join = admin
        .create_token(&token(AGENTS_USER, "join (herd init agent)", Some(JOIN_TOKEN_TTL)))
        .await
        .map_err(|e| state(&e))?;
    store.close().await;
    changes.written.push(path);
    Ok((Some(admin_token.secret), Some(join.secret)))
}
