//! A real OpenSSH server on a loopback port, for tests of the SSH path.
//!
//! Self-contained (std only, plus `tempfile`), so any test crate can use it
//! with `#[path = "../../herd-fleet/tests/support/sshd.rs"] mod sshd;`.
//! [`Sshd::start`] runs `sshd -D -e` (the binary from `HERD_SSHD`, else
//! `/usr/sbin/sshd`; a missing binary fails the test with a pointer to
//! `scripts/test-deps`) with a temporary host key, an authorized ed25519
//! key for the current user, `StrictModes no`, `UsePAM no`, `PidFile none`,
//! listening on 127.0.0.1 only. Sessions get a `HOME` of their own (an
//! empty directory): the login shell reads no startup files of the user
//! running the tests, whose tools (a version manager's rehash lock, say)
//! could stall every login and would be killed mid-write by tests that
//! kill sessions. It writes a client `ssh_config` whose
//! alias reaches that server with strict host key checking in batch mode,
//! waits until the server sends its banner (bounded), and kills the server
//! and its session processes when dropped. Works as root and as a normal
//! user (the server runs as whoever runs the test).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running sshd and the client configuration that reaches it.
pub(crate) struct Sshd {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
    user: String,
}

impl Sshd {
    /// Starts a server.
    pub(crate) fn start() -> Self {
        Self::start_with("")
    }

    /// Starts a server with extra `sshd_config` lines (e.g. `SetEnv X=1`).
    pub(crate) fn start_with(extra_config: &str) -> Self {
        let sshd = std::env::var_os("HERD_SSHD").map_or_else(|| PathBuf::from("/usr/sbin/sshd"), PathBuf::from);
        assert!(
            sshd.is_file(),
            "sshd not found at {}: install it with scripts/test-deps (openssh-server) or set HERD_SSHD",
            sshd.display()
        );
        let user = output(Command::new("id").arg("-un"));
        let root = output(Command::new("id").arg("-u")) == "0";
        if root && !Path::new("/run/sshd").is_dir() {
            // sshd's privilege separation directory, needed when run as root.
            fs::create_dir_all("/run/sshd").expect("create /run/sshd");
        }
        let mut dir = tempfile::Builder::new().prefix("herd-sshd-").tempdir().expect("temp dir");
        let d = dir.path().to_path_buf();
        keygen(&d.join("host_key"));
        keygen(&d.join("client_key"));
        fs::copy(d.join("client_key.pub"), d.join("authorized_keys")).expect("authorized_keys");
        fs::create_dir(d.join("home")).expect("home");
        // sshd keeps only the first `SetEnv` line: merge the caller's into ours.
        let mut setenv = format!("SetEnv HOME={}/home", d.display());
        let mut extra = String::new();
        for line in extra_config.lines() {
            match line.strip_prefix("SetEnv ") {
                Some(vars) => setenv = format!("{setenv} {vars}"),
                None => extra = format!("{extra}{line}\n"),
            }
        }
        let config = format!(
            "ListenAddress 127.0.0.1\nHostKey {d}/host_key\nPidFile none\nUsePAM no\nStrictModes no\n\
             AuthorizedKeysFile {d}/authorized_keys\nPubkeyAuthentication yes\nPasswordAuthentication no\n\
             KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\nAllowUsers {user}\n\
             LogLevel VERBOSE\nMaxStartups 100\n{setenv}\n{extra}",
            d = d.display()
        );
        fs::write(d.join("sshd_config"), config).expect("sshd_config");

        let mut last_log = String::new();
        for _ in 0..5 {
            let port = free_port();
            let log = fs::File::create(d.join("sshd.log")).expect("sshd.log");
            let child = Command::new(&sshd)
                .args(["-D", "-e", "-f"])
                .arg(d.join("sshd_config"))
                .args(["-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .process_group(0)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", sshd.display()));
            let mut server = Self { child, dir, port, user: user.clone() };
            if server.wait_ready(Duration::from_secs(10)) {
                server.write_client_config();
                return server;
            }
            last_log = server.log();
            dir = server.stop();
        }
        panic!("sshd did not come up on a loopback port; its log:\n{last_log}");
    }

    /// Waits for the SSH banner; `false` if sshd exited or the deadline passed.
    fn wait_ready(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if self.child.try_wait().ok().flatten().is_some() {
                return false;
            }
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) {
                s.set_read_timeout(Some(Duration::from_secs(2))).ok();
                let mut banner = [0u8; 8];
                if s.read_exact(&mut banner).is_ok() && banner.starts_with(b"SSH-2.0") {
                    return true;
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    fn write_client_config(&self) {
        let d = self.dir.path();
        let host_key = fs::read_to_string(d.join("host_key.pub")).expect("host key");
        fs::write(d.join("known_hosts"), format!("[127.0.0.1]:{} {host_key}", self.port)).expect("known_hosts");
        fs::write(self.config_file(), "").expect("ssh_config");
        self.add_alias(self.alias(), self.port);
        self.add_alias(&self.other_alias(), self.port);
    }

    /// Adds `Host name` reaching 127.0.0.1:`port` with this server's keys,
    /// e.g. to point an alias at a port that refuses or never answers.
    pub(crate) fn add_alias(&self, name: &str, port: u16) {
        let d = self.dir.path().display();
        let block = format!(
            "Host {name}\n  HostName 127.0.0.1\n  Port {port}\n  User {user}\n  IdentityFile {d}/client_key\n  \
             IdentitiesOnly yes\n  UserKnownHostsFile {d}/known_hosts\n  GlobalKnownHostsFile /dev/null\n  \
             StrictHostKeyChecking yes\n  BatchMode yes\n  LogLevel ERROR\n",
            user = self.user
        );
        let mut f = fs::OpenOptions::new().append(true).open(self.config_file()).expect("ssh_config");
        f.write_all(block.as_bytes()).expect("ssh_config");
    }

    /// The client `ssh_config` (pass as `ssh -F`).
    pub(crate) fn config_file(&self) -> PathBuf {
        self.dir.path().join("ssh_config")
    }

    /// The alias that reaches this server.
    pub(crate) fn alias(&self) -> &str {
        "herd-test-sshd"
    }

    /// A second alias to the same server (a separate connection).
    pub(crate) fn other_alias(&self) -> String {
        format!("{}-b", self.alias())
    }

    /// The server's port.
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// The user the server logs in.
    pub(crate) fn user(&self) -> &str {
        &self.user
    }

    /// A scratch directory that lives as long as the server.
    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// What sshd logged so far.
    pub(crate) fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }

    /// Logins so far (each is one SSH connection).
    pub(crate) fn logins(&self) -> usize {
        self.log().lines().filter(|l| l.contains("Accepted publickey")).count()
    }

    /// Sends `signal` (e.g. `STOP`, `CONT`) to the server and every
    /// process it forked (sshd puts each connection in a session of its
    /// own): `STOP` makes the host look stalled. Linux only (reads /proc).
    pub(crate) fn signal(&self, signal: &str) {
        let mut pids = descendants(self.child.id());
        pids.push(self.child.id());
        let pids: Vec<String> = pids.iter().map(u32::to_string).collect();
        let status = Command::new("kill").args(["-s", signal, "--"]).args(&pids).status().expect("run kill");
        assert!(status.success(), "kill -s {signal} {pids:?} failed");
    }

    /// Kills every connection (and its sessions) but keeps the server
    /// listening: clients see their connection drop.
    pub(crate) fn drop_connections(&self) {
        let pids: Vec<String> = descendants(self.child.id()).iter().map(u32::to_string).collect();
        if !pids.is_empty() {
            let _ = Command::new("kill").args(["-s", "KILL", "--"]).args(&pids).status();
        }
    }

    fn kill_group(&mut self) {
        let pids: Vec<String> = descendants(self.child.id()).iter().map(u32::to_string).collect();
        if !pids.is_empty() {
            let _ = Command::new("kill").args(["-s", "CONT", "--"]).args(&pids).status();
            let _ = Command::new("kill").args(["-s", "KILL", "--"]).args(&pids).status();
        }
        let _ = Command::new("kill").args(["-s", "KILL", "--", &format!("-{}", self.child.id())]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn stop(mut self) -> tempfile::TempDir {
        self.kill_group();
        let dir = tempfile::Builder::new().prefix("herd-sshd-").tempdir().expect("temp dir");
        std::mem::replace(&mut self.dir, dir)
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.kill_group();
    }
}

/// Every process below `root`, from /proc.
fn descendants(root: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = fs::read_dir("/proc")
        .map(|dir| {
            dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
                .filter_map(|pid| {
                    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
                    let ppid = stat.rsplit_once(')')?.1.split_whitespace().nth(1)?.parse().ok()?;
                    Some((pid, ppid))
                })
                .collect()
        })
        .unwrap_or_default();
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(parents.iter().filter(|(_, ppid)| *ppid == parent).map(|(pid, _)| *pid));
        i += 1;
    }
    found.remove(0);
    found
}

fn keygen(path: &Path) {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .stdin(Stdio::null())
        .status()
        .expect("ssh-keygen (openssh-client) must be installed");
    assert!(status.success(), "ssh-keygen failed for {}", path.display());
}

fn output(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run id");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A loopback port nothing listens on (right now).
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}
