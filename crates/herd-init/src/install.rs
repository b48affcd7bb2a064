//! `--install`: the service definition from `packaging/` for a home that
//! `herd init` set up, put where the service manager reads it, and
//! started.
//!
//! On Linux that is the systemd unit (`herd-hub.service`,
//! `herd-agent.service`) with the home's `.env` file as its
//! `EnvironmentFile=`, this binary as `ExecStart=`, the invoking user as
//! `User=`, and (for the hub's sandbox) the home writable; then
//! `systemctl daemon-reload` and `systemctl enable --now`, unless told not
//! to start or systemd is not running. On macOS it is the launchd plist,
//! loaded with `launchctl bootstrap`. The unit holds no secret: those stay
//! in the 0600 `.env` file.

use crate::files::{self, PUBLIC};
use crate::{InitError, utf8};
use std::path::{Path, PathBuf};
use std::process::Command;

const HUB_UNIT: &str = include_str!("../../../packaging/herd-hub.service");
const AGENT_UNIT: &str = include_str!("../../../packaging/herd-agent.service");
const HUB_PLIST: &str = include_str!("../../../packaging/dev.herd.hub.plist");
const AGENT_PLIST: &str = include_str!("../../../packaging/dev.herd.agent.plist");

/// Which service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `herd hub`.
    Hub,
    /// `herd agent`.
    Agent,
}

impl Role {
    fn word(self) -> &'static str {
        match self {
            Self::Hub => "hub",
            Self::Agent => "agent",
        }
    }
}

/// What to install.
#[derive(Debug, Clone)]
pub struct Install {
    /// Which service.
    pub role: Role,
    /// The home `herd init` set up.
    pub home: PathBuf,
    /// Where the unit goes (default: `/etc/systemd/system`, or launchd's
    /// directory).
    pub unit_dir: Option<PathBuf>,
    /// Enable and start it.
    pub start: bool,
    /// Replace a unit that differs.
    pub force: bool,
    /// The `herd` binary the service runs.
    pub exe: PathBuf,
}

/// What was installed.
#[derive(Debug)]
pub struct Installed {
    /// The unit or plist.
    pub path: PathBuf,
    /// Whether it was written by this run.
    pub written: bool,
    /// What happened about starting it.
    pub note: String,
}

/// Installs the service of `args`.
pub fn install(args: &Install) -> Result<Installed, InitError> {
    let home = utf8(&args.home)?;
    let exe = utf8(&args.exe)?;
    if let Some(bad) = [home, exe].into_iter().find(|p| p.chars().any(|c| c.is_whitespace() || c == '"' || c == '\\')) {
        return Err(InitError::Usage(format!("--install needs paths without spaces or quotes, not {bad:?}")));
    }
    let macos = cfg!(target_os = "macos");
    let (text, name, default_dir) = if macos {
        let (template, name) = match args.role {
            Role::Hub => (HUB_PLIST, "dev.herd.hub.plist"),
            Role::Agent => (AGENT_PLIST, "dev.herd.agent.plist"),
        };
        let dir = match args.role {
            Role::Hub => PathBuf::from("/Library/LaunchDaemons"),
            Role::Agent => std::env::var_os("HOME").map_or_else(
                || PathBuf::from("/Library/LaunchAgents"),
                |h| PathBuf::from(h).join("Library/LaunchAgents"),
            ),
        };
        (launchd_plist(template, args.role, home, exe), name, dir)
    } else {
        let (template, name) = match args.role {
            Role::Hub => (HUB_UNIT, "herd-hub.service"),
            Role::Agent => (AGENT_UNIT, "herd-agent.service"),
        };
        let (user, group) = invoking_user();
        (systemd_unit(template, args.role, home, exe, &user, &group), name, PathBuf::from("/etc/systemd/system"))
    };
    let dir = args.unit_dir.clone().unwrap_or(default_dir);
    let path = dir.join(name);
    let written = files::needs(&path, text.as_bytes(), args.force, "another home or binary")?;
    if written {
        files::make_dir(&dir, 0o755)?;
        files::write(&path, text.as_bytes(), PUBLIC)?;
    }
    let note = if !args.start {
        "not started (--no-start)".to_owned()
    } else if macos {
        start_launchd(args.role, &path)?
    } else {
        start_systemd(name)?
    };
    Ok(Installed { path, written, note })
}

/// The packaged unit `template`, made to run `exe` for `home`.
pub fn systemd_unit(template: &str, role: Role, home: &str, exe: &str, user: &str, group: &str) -> String {
    let word = role.word();
    let body = template.find("[Unit]").map_or(template, |at| &template[at..]);
    let under_home = ["/home/", "/root/", "/run/user/"].iter().any(|p| home.starts_with(p)) || home == "/root";
    // A private /tmp would hide a home that lies in the shared one.
    let under_tmp = ["/tmp/", "/var/tmp/"].iter().any(|p| home.starts_with(p));
    let mut out = format!(
        "# herd {word}, installed by `herd init {word} --install` for {home}\n\
         # (from packaging/herd-{word}.service). Settings: {home}/{word}.env.\n\n"
    );
    for line in body.lines() {
        let key = line.split('=').next().unwrap_or_default();
        let replaced = match key {
            "User" => format!("User={user}"),
            "Group" => format!("Group={group}"),
            "Environment" if line.starts_with("Environment=HERD_HOME=") => continue,
            "EnvironmentFile" => format!("EnvironmentFile={home}/{word}.env"),
            "ExecStart" => format!("ExecStart={exe} {word}"),
            "StateDirectory" | "StateDirectoryMode" => continue,
            "ProtectHome" if under_home => "ProtectHome=read-only".to_owned(),
            "PrivateTmp" if under_tmp => "PrivateTmp=no".to_owned(),
            "UMask" => format!("{line}\nReadWritePaths={home}"),
            _ => line.to_owned(),
        };
        out.push_str(&replaced);
        out.push('\n');
    }
    out
}

/// The packaged plist `template`, made to run `exe` for `home` with the
/// settings of its `.env` file.
pub fn launchd_plist(template: &str, role: Role, home: &str, exe: &str) -> String {
    let word = role.word();
    let mut out = String::new();
    let mut in_program = false;
    let mut after_home_key = false;
    for line in template.lines() {
        let trimmed = line.trim();
        if trimmed == "<key>ProgramArguments</key>" {
            in_program = true;
        }
        let replaced = if in_program && trimmed.starts_with("<string>") && trimmed.contains("exec /") {
            in_program = false;
            let indent = &line[..line.len() - line.trim_start().len()];
            // The packaged line's output redirection, if any, stays.
            let redirect = trimmed.find(" &gt;&gt;").map_or("", |at| &trimmed[at..trimmed.len() - "</string>".len()]);
            format!("{indent}<string>set -a; . {home}/{word}.env; set +a; exec {exe} {word}{redirect}</string>")
        } else if after_home_key && trimmed.starts_with("<string>") {
            after_home_key = false;
            let indent = &line[..line.len() - line.trim_start().len()];
            format!("{indent}<string>{home}</string>")
        } else {
            line.to_owned()
        };
        after_home_key = after_home_key || trimmed == "<key>HERD_HOME</key>";
        out.push_str(&replaced);
        out.push('\n');
    }
    out
}

/// The user and group running this, by name (their numbers when they have
/// none).
fn invoking_user() -> (String, String) {
    let uid = nix::unistd::geteuid();
    let gid = nix::unistd::getegid();
    let user = nix::unistd::User::from_uid(uid).ok().flatten().map_or_else(|| uid.to_string(), |u| u.name);
    let group = nix::unistd::Group::from_gid(gid).ok().flatten().map_or_else(|| gid.to_string(), |g| g.name);
    (user, group)
}

fn start_systemd(unit: &str) -> Result<String, InitError> {
    if !Path::new("/run/systemd/system").exists() {
        return Ok(format!("systemd is not running here: start it with `systemctl enable --now {unit}` where it is"));
    }
    run(Command::new("systemctl").arg("daemon-reload"))?;
    run(Command::new("systemctl").args(["enable", "--now", unit]))?;
    Ok(format!("enabled and started {unit}"))
}

fn start_launchd(role: Role, plist: &Path) -> Result<String, InitError> {
    let domain = match role {
        Role::Hub => "system".to_owned(),
        Role::Agent => format!("gui/{}", nix::unistd::getuid()),
    };
    run(Command::new("launchctl").arg("bootstrap").arg(&domain).arg(plist))?;
    Ok(format!("loaded into launchd ({domain})"))
}

fn run(command: &mut Command) -> Result<(), InitError> {
    let shown = format!("{command:?}");
    let out = command.output().map_err(|e| InitError::Install(format!("cannot run {shown}: {e}")))?;
    if out.status.success() {
        return Ok(());
    }
    Err(InitError::Install(format!("{shown} failed: {}", String::from_utf8_lossy(&out.stderr).trim())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hub_unit_runs_this_binary_with_the_homes_settings_and_keeps_its_sandbox() {
        let unit = systemd_unit(HUB_UNIT, Role::Hub, "/home/ops/hub", "/usr/bin/herd", "ops", "ops");
        for line in [
            "ExecStart=/usr/bin/herd hub",
            "EnvironmentFile=/home/ops/hub/hub.env",
            "User=ops",
            "ReadWritePaths=/home/ops/hub",
            "ProtectHome=read-only",
            "ProtectSystem=strict",
        ] {
            assert!(unit.lines().any(|l| l == line), "{line} missing:\n{unit}");
        }
        assert!(!unit.contains("StateDirectory") && !unit.contains("HERD_HOME="), "{unit}");
        let agent = systemd_unit(AGENT_UNIT, Role::Agent, "/var/lib/a", "/usr/bin/herd", "root", "root");
        assert!(agent.lines().any(|l| l == "ExecStart=/usr/bin/herd agent"), "{agent}");
        let in_tmp = systemd_unit(HUB_UNIT, Role::Hub, "/tmp/hub", "/usr/bin/herd", "ops", "ops");
        assert!(in_tmp.lines().any(|l| l == "PrivateTmp=no") && in_tmp.contains("ProtectHome=yes"), "{in_tmp}");
        assert!(!agent.contains("ProtectSystem"), "the agent stays unsandboxed");
    }

    #[test]
    fn the_plist_reads_the_homes_settings() {
        let plist = launchd_plist(HUB_PLIST, Role::Hub, "/usr/local/var/herd-hub", "/usr/local/bin/herd");
        assert!(
            plist.contains(
                "<string>set -a; . /usr/local/var/herd-hub/hub.env; set +a; exec /usr/local/bin/herd hub</string>"
            ),
            "{plist}"
        );
        assert!(plist.contains("<string>/usr/local/var/herd-hub</string>"), "{plist}");
        assert!(!plist.contains("HERD_TOKEN=\"$(cat"), "{plist}");
    }
}
