//! Reloading the registry while the hub runs: on SIGHUP, and when the file
//! changes on disk. Client sessions are not touched; a file that does not
//! load is reported and the registry in force stays. Hosts, `[health]` and
//! `[ssh]` settings all take effect at once (open connections keep the
//! timeouts they were opened with).

use crate::Hub;
use herd_fleet::{Host, Registry};
use notify::{RecursiveMode, Watcher};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Editors save in bursts (truncate, write, rename): wait this long after
/// the last event before reading the file.
const SETTLE: Duration = Duration::from_millis(200);

/// How often the file is checked for a change.
const POLL: Duration = Duration::from_secs(1);

/// Watches `path` (and SIGHUP) and reloads `hub`'s registry from it until
/// `shutdown`; `pinned` hosts are added to every version of the file (the
/// local agent of `herd up`). Returns once the watch is set up.
pub fn spawn_reloader(hub: Hub, path: PathBuf, pinned: Vec<Host>, shutdown: CancellationToken) -> std::io::Result<()> {
    let (tx, rx) = mpsc::unbounded_channel::<()>();
    let watcher = watch_file(&path, tx.clone())?;
    spawn_sighup(tx, shutdown.clone())?;
    tokio::spawn(async move {
        let _watcher = watcher;
        run(hub, path, pinned, rx, shutdown).await;
    });
    Ok(())
}

async fn run(
    hub: Hub,
    path: PathBuf,
    pinned: Vec<Host>,
    mut rx: mpsc::UnboundedReceiver<()>,
    shutdown: CancellationToken,
) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            got = rx.recv() => if got.is_none() { return },
        }
        // Let a burst of events settle into one reload.
        loop {
            match tokio::time::timeout(SETTLE, rx.recv()).await {
                Ok(Some(())) => continue,
                Ok(None) => return,
                Err(_) => break,
            }
        }
        match Registry::load(&path).and_then(|r| r.with_hosts(pinned.iter().cloned())) {
            Ok(registry) => {
                let hosts = registry.len();
                hub.reload(registry).await;
                tracing::info!(path = %path.display(), hosts, "registry reloaded");
            }
            Err(err) => tracing::error!(%err, "registry not reloaded; keeping the one in force"),
        }
    }
}

/// Checks the file for changes every [`POLL`] and signals when it changed,
/// appeared or went. Its contents are compared, not only its modification
/// time, which has whole seconds here: two saves within a second differ.
///
/// Polled rather than watched with inotify: a directory watch wakes on
/// every file opened in that directory, and a hub whose config sits next to
/// busy files (its own log, say) would spend a thread's worth of CPU
/// ignoring those events. Reading a small file once a second costs nothing
/// and catches in-place writes and replacements by rename alike.
fn watch_file(path: &Path, tx: mpsc::UnboundedSender<()>) -> std::io::Result<notify::PollWatcher> {
    let config = notify::Config::default().with_poll_interval(POLL).with_compare_contents(true);
    let mut watcher = notify::PollWatcher::new(
        move |event: notify::Result<notify::Event>| {
            if event.is_ok_and(|e| !e.kind.is_access()) {
                let _ = tx.send(());
            }
        },
        config,
    )
    .map_err(std::io::Error::other)?;
    watcher.watch(path, RecursiveMode::NonRecursive).map_err(std::io::Error::other)?;
    Ok(watcher)
}

fn spawn_sighup(tx: mpsc::UnboundedSender<()>, shutdown: CancellationToken) -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hup = signal(SignalKind::hangup())?;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                got = hup.recv() => {
                    if got.is_none() || tx.send(()).is_err() {
                        return;
                    }
                    tracing::info!("SIGHUP: reloading the registry");
                }
            }
        }
    });
    Ok(())
}
