//! Putting a server on disk, in its own directory, and saying how to run it.
//!
//! Each server gets `<servers dir>/<name>/`. npm packages are installed
//! there (`npm install --prefix`), PyPI packages into a virtualenv there
//! (`uv venv`, `uv pip install`), git repositories are cloned into `src/`.
//! Every installer runs as an argument vector; each untrusted value comes
//! after `--`, so it cannot read as an option even if validation missed
//! something. A stamp file records what was installed, so a restart or an
//! agent restart does not install again.
//!
//! Installers inherit the agent's environment without its secrets
//! ([`ChildEnv`]): an npm lifecycle script or a Python build backend runs
//! code of the package being installed.
//!
//! Installer output goes to the server's ring, so `servers_logs` shows why
//! an install failed.
//!
//! Credentials in a git URL are used for the clone and kept nowhere: the
//! stamp and the ring see the URL redacted, and the checkout's `origin`
//! is set to the redacted URL once the clone is done (the server runs in
//! that directory and could read its `.git/config`).

mod manifest;
mod step;

use crate::child::Launch;
use crate::ring::Ring;
use crate::spec::{ServerSpec, Source};
use herd_tools::ChildEnv;
use std::path::{Path, PathBuf};
use std::time::Duration;
use step::Step;

const STAMP: &str = ".herd-installed";

/// Where an install happens and what its steps may use.
pub(crate) struct Place<'a> {
    /// The server's own directory.
    pub(crate) dir: &'a Path,
    /// Where installer output goes.
    pub(crate) ring: &'a Ring,
    /// The limit of each installer step.
    pub(crate) timeout: Duration,
    /// What installers inherit of the agent's environment.
    pub(crate) inherited: &'a ChildEnv,
}

/// Installs `spec` (validated as `source`) in `place`.
pub(crate) async fn install(spec: &ServerSpec, source: &Source, place: Place<'_>) -> Result<Launch, String> {
    let Place { dir, ring, timeout, inherited } = place;
    tokio::fs::create_dir_all(dir).await.map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let step = Step { cwd: dir, ring, timeout, inherited };
    let stamp = source.describe();
    let fresh = read_stamp(dir).await.as_deref() == Some(stamp.as_str());
    if fresh {
        ring.note(&format!("{stamp}: already installed"));
    }
    let (program, cwd) = match source {
        Source::Npm { package, bin } => {
            if !fresh {
                npm_install(&step, dir, package).await?;
            }
            (manifest::npm_bin(dir, package, bin.as_deref()).await?, dir.to_path_buf())
        }
        Source::Pypi { package, bin } => {
            if !fresh {
                venv(&step, dir).await?;
                step.run("uv", &["pip", "install", "--quiet", "--python", &python(dir), "--", package]).await?;
            }
            let bin = bin.clone().unwrap_or_else(|| manifest::pypi_name(package));
            (dir.join(".venv/bin").join(bin), dir.to_path_buf())
        }
        Source::Git { url, branch, command } => {
            let src = dir.join("src");
            if !fresh {
                clone(&step, &src, url, branch.as_deref()).await?;
            }
            project(&step, dir, &src, command.as_deref(), fresh).await?
        }
        Source::Dir { path, command } => project(&step, dir, path, command.as_deref(), true).await?,
        Source::Command { program } => (PathBuf::from(program), dir.to_path_buf()),
    };
    if !fresh {
        write_stamp(dir, &stamp).await;
    }
    let (program, mut args) = manifest::interpreted(program);
    args.extend(spec.args.iter().cloned());
    Ok(Launch { program, args, cwd, env: spec.env.clone() })
}

/// How to run a checkout or directory: `command` inside it, or what its
/// manifest says (installing its dependencies first unless `ready`).
async fn project(
    step: &Step<'_>,
    dir: &Path,
    src: &Path,
    command: Option<&str>,
    ready: bool,
) -> Result<(PathBuf, PathBuf), String> {
    if let Some(command) = command {
        let local = src.join(command);
        let program = if command.contains('/') && local.exists() { local } else { PathBuf::from(command) };
        return Ok((program, src.to_path_buf()));
    }
    if src.join("package.json").exists() {
        if !ready {
            let src_text = src.display().to_string();
            step.in_dir(src).run("npm", &npm_flags(&["install", "--prefix", &src_text])).await?;
        }
        return Ok((manifest::node_entry(src).await?, src.to_path_buf()));
    }
    if src.join("pyproject.toml").exists() {
        let script = manifest::python_script(src).await?;
        if !ready {
            venv(step, dir).await?;
            let src_text = src.display().to_string();
            step.run("uv", &["pip", "install", "--quiet", "--python", &python(dir), "--", &src_text]).await?;
        }
        return Ok((dir.join(".venv/bin").join(script), src.to_path_buf()));
    }
    Err(format!("{}: no package.json or pyproject.toml; say how to run it with `command`", src.display()))
}

fn npm_flags<'a>(head: &[&'a str]) -> Vec<&'a str> {
    let mut args = head.to_vec();
    args.extend(["--no-audit", "--no-fund", "--no-update-notifier", "--loglevel=error", "--omit=dev"]);
    args
}

async fn npm_install(step: &Step<'_>, dir: &Path, package: &str) -> Result<(), String> {
    let manifest = dir.join("package.json");
    if !manifest.exists() {
        let body = "{ \"name\": \"herd-server\", \"private\": true }\n";
        tokio::fs::write(&manifest, body).await.map_err(|e| format!("cannot write {}: {e}", manifest.display()))?;
    }
    let dir_text = dir.display().to_string();
    let mut args = npm_flags(&["install", "--prefix", &dir_text]);
    args.extend(["--", package]);
    step.run("npm", &args).await
}

async fn venv(step: &Step<'_>, dir: &Path) -> Result<(), String> {
    let venv = dir.join(".venv").display().to_string();
    step.run("uv", &["venv", "--quiet", "--allow-existing", "--", &venv]).await
}

fn python(dir: &Path) -> String {
    dir.join(".venv/bin/python").display().to_string()
}

async fn clone(step: &Step<'_>, src: &Path, url: &str, branch: Option<&str>) -> Result<(), String> {
    if src.exists() {
        tokio::fs::remove_dir_all(src).await.map_err(|e| format!("cannot clear {}: {e}", src.display()))?;
    }
    let src_text = src.display().to_string();
    let mut args = vec!["clone", "--quiet", "--depth", "1"];
    if let Some(branch) = branch {
        args.extend(["--branch", branch]);
    }
    args.extend(["--", url, &src_text]);
    step.git().run("git", &args).await?;
    let shown = herd_proto::redact_url(url);
    if shown != url {
        step.in_dir(src).git().run("git", &["remote", "set-url", "origin", &shown]).await?;
    }
    Ok(())
}

async fn read_stamp(dir: &Path) -> Option<String> {
    tokio::fs::read_to_string(dir.join(STAMP)).await.ok().map(|s| s.trim_end().to_owned())
}

async fn write_stamp(dir: &Path, stamp: &str) {
    if let Err(err) = tokio::fs::write(dir.join(STAMP), format!("{stamp}\n")).await {
        tracing::warn!(dir = %dir.display(), %err, "could not record the install");
    }
}

#[cfg(test)]
mod tests;
