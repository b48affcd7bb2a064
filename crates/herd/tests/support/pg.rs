//! A real PostgreSQL server for the tests, one per test process.
//!
//! The first test of a process that needs PostgreSQL starts the server;
//! later tests of that process share it, each in a database of its own.
//! Starting is cheap: `initdb` runs once per machine into a template data
//! directory (under a file lock, so parallel test processes wait for one
//! another), and each process copies the template, starts `postgres` on a
//! free loopback port and waits for its "ready to accept connections" log
//! line.
//!
//! Nothing outlives the test process: `postgres` runs under a small `sh`
//! whose stdin is a pipe from this process. When the process exits, however
//! it exits (even SIGKILL), the pipe closes, `read` returns, and the shell
//! stops `postgres` and removes the data directory. A system PostgreSQL is
//! never touched. As root, the server runs as the `postgres` user (it
//! refuses to run as root).
//!
//! Binaries come from `HERD_PG_BIN`, else from `.cache/test-deps.env`, else
//! from the newest `/usr/lib/postgresql/*/bin`. Without them the tests fail
//! (they never pass by skipping): run `scripts/test-deps`.
//!
//! The store's tests and herd's (a hub on PostgreSQL) both use it.
#![allow(unreachable_pub)]

use std::io::{BufRead as _, BufReader};
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long `postgres` may take to say it is ready.
const READY_LIMIT: Duration = Duration::from_secs(60);

/// A running server. Kept in a static for the life of the process.
pub struct PgServer {
    port: u16,
    _child: Child,
    _lifeline: ChildStdin,
}

static SERVER: OnceLock<PgServer> = OnceLock::new();
static NEXT_DB: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// The process's server, started on first use.
pub fn server() -> &'static PgServer {
    SERVER.get_or_init(start)
}

impl PgServer {
    /// URL of database `db` as the superuser.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// A fresh, empty database; returns its URL.
    pub async fn create_database(&self) -> String {
        use sqlx::Connection as _;
        let name = format!("t{}_{}", std::process::id(), NEXT_DB.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        let mut admin = sqlx::PgConnection::connect(&self.url("postgres")).await.expect("connect to test postgres");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("create database");
        admin.close().await.ok();
        self.url(&name)
    }
}

/// Who runs `postgres`: `None` to run as ourselves, else (uid, gid).
fn run_as() -> Option<(u32, u32)> {
    if !nix::unistd::geteuid().is_root() {
        return None;
    }
    let user = nix::unistd::User::from_name("postgres")
        .expect("look up the postgres user")
        .expect("running as root: a `postgres` user is needed to run PostgreSQL (scripts/test-deps installs it)");
    Some((user.uid.as_raw(), user.gid.as_raw()))
}

fn bin_dir() -> PathBuf {
    let from_env = std::env::var_os("HERD_PG_BIN").map(PathBuf::from);
    let from_cache = || {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let cache = std::env::var_os("HERD_CACHE_DIR").map_or_else(|| root.join(".cache"), PathBuf::from);
        let text = std::fs::read_to_string(cache.join("test-deps.env")).ok()?;
        text.lines().find_map(|l| l.strip_prefix("export HERD_PG_BIN=")).map(|v| PathBuf::from(v.trim_matches('\'')))
    };
    let from_system = || {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| Some(e.ok()?.path().join("bin")))
            .filter(|d| d.join("initdb").exists())
            .collect();
        dirs.sort_by_key(|d| d.parent().and_then(|v| v.file_name()?.to_str()?.parse::<u32>().ok()));
        dirs.pop()
    };
    let dir = from_env.or_else(from_cache).or_else(from_system).unwrap_or_else(|| {
        panic!("PostgreSQL binaries not found (HERD_PG_BIN, .cache/test-deps.env, /usr/lib/postgresql/*/bin): run scripts/test-deps")
    });
    assert!(
        dir.join("initdb").exists() && dir.join("postgres").exists(),
        "no initdb/postgres in {}: run scripts/test-deps",
        dir.display()
    );
    dir
}

/// A command for `program`, run as `who` from a directory it can enter.
fn command(program: &Path, who: Option<(u32, u32)>, cwd: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.current_dir(cwd).env_remove("PGDATA").env("LC_ALL", "C");
    if let Some((uid, gid)) = who {
        cmd.uid(uid).gid(gid);
    }
    cmd
}

fn chown(path: &Path, who: Option<(u32, u32)>) {
    if let Some((uid, gid)) = who {
        std::os::unix::fs::chown(path, Some(uid), Some(gid)).expect("chown for postgres");
    }
}

/// The template data directory, made by `initdb` once per machine, user
/// and PostgreSQL installation.
fn template(bin: &Path, who: Option<(u32, u32)>) -> PathBuf {
    let tag: String = bin.to_string_lossy().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    let uid = nix::unistd::geteuid().as_raw();
    let dir = std::env::temp_dir().join(format!("herd-pg-template-{uid}{tag}"));
    let lock = std::fs::File::create(dir.with_extension("lock")).expect("create template lock");
    lock.lock().expect("lock template");
    if dir.join("PG_VERSION").exists() {
        return dir;
    }
    let work = dir.with_extension(format!("tmp{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir(&work).expect("create template dir");
    std::fs::set_permissions(&work, std::fs::Permissions::from_mode(0o700)).expect("chmod template");
    chown(&work, who);
    let out = command(&bin.join("initdb"), who, &std::env::temp_dir())
        .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions", "-D"])
        .arg(&work)
        .output()
        .expect("run initdb");
    assert!(
        out.status.success(),
        "initdb failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::rename(&work, &dir).expect("install template");
    dir
}

/// Runs `postgres` (the arguments), stops it when stdin closes or the shell
/// is signalled, and removes the data directory once it has exited. Exits
/// itself when `postgres` does (a port taken meanwhile, say), so the log
/// pipe closes and the caller can tell.
const LIFELINE: &str = r#"
exec 3<&0
"$@" &
pg=$!
trap 'kill -QUIT "$pg" 2>/dev/null' INT TERM HUP
{ read -r _ <&3; kill -QUIT "$pg" 2>/dev/null; } &
watcher=$!
while kill -0 "$pg" 2>/dev/null; do wait "$pg"; done
kill "$watcher" 2>/dev/null
wait "$watcher"
rm -rf "$HERD_PG_DIR"
"#;

fn start() -> PgServer {
    let bin = bin_dir();
    let who = run_as();
    let template = template(&bin, who);
    let mut last_log = Vec::new();
    for _attempt in 0..5 {
        let dir = tempfile::Builder::new().prefix("herd-pg-").tempdir().expect("temp dir").keep();
        chown(&dir, who);
        let data = dir.join("data");
        let copied = Command::new("cp").arg("-a").arg(&template).arg(&data).status().expect("run cp");
        assert!(copied.success(), "cannot copy {} to {}", template.display(), data.display());
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
        let mut child = command(Path::new("/bin/sh"), who, &dir)
            .env("HERD_PG_DIR", &dir)
            .arg("-c")
            .arg(LIFELINE)
            .arg("sh")
            .arg(bin.join("postgres"))
            .arg("-D")
            .arg(&data)
            .arg("-k")
            .arg(&dir)
            .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"])
            .args(["-c", "full_page_writes=off", "-c", "max_connections=50", "-c", "shared_buffers=16MB"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start postgres");
        let lifeline = child.stdin.take().expect("postgres stdin");
        let stderr = child.stderr.take().expect("postgres stderr");
        let (lines, log) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                // Once nobody listens, keep draining so postgres never blocks.
                let _ = lines.send(line);
            }
        });
        last_log.clear();
        let deadline = Instant::now() + READY_LIMIT;
        loop {
            match log.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) if line.contains("ready to accept connections") => {
                    return PgServer { port, _child: child, _lifeline: lifeline };
                }
                Ok(line) => last_log.push(line),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    panic!("postgres not ready within {READY_LIMIT:?}:\n{}", last_log.join("\n"))
                }
                // stderr closed: postgres exited (a port taken meanwhile, say); try again.
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        drop(lifeline);
        let _ = child.wait();
    }
    panic!("postgres did not start:\n{}", last_log.join("\n"));
}
