//! Reloading the registry while the hub runs: on SIGHUP, and when the file
//! changes on disk. Client sessions are not touched; a file that does not
//! load is reported and the registry in force stays.

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

/// Watches the file's directory (editors replace files by renaming) and
/// signals changes that touch the file.
fn watch_file(path: &Path, tx: mpsc::UnboundedSender<()>) -> std::io::Result<notify::RecommendedWatcher> {
    let name = path.file_name().map(|n| n.to_owned());
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        if event.kind.is_access() {
            return;
        }
        if event.paths.iter().any(|p| p.file_name() == name.as_deref()) {
            let _ = tx.send(());
        }
    })
    .map_err(std::io::Error::other)?;
    watcher.watch(&dir, RecursiveMode::NonRecursive).map_err(std::io::Error::other)?;
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
