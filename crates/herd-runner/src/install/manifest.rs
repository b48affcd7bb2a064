//! Reading package manifests to find the program a package runs.

use std::path::{Path, PathBuf};

/// The package name of an npm spec: `@scope/name@1.2` -> `@scope/name`.
pub(super) fn npm_name(spec: &str) -> &str {
    let (scope, rest) = match spec.strip_prefix('@') {
        Some(rest) => (true, rest),
        None => (false, spec),
    };
    let end = rest.find('@').unwrap_or(rest.len());
    if scope { &spec[..end + 1] } else { &spec[..end] }
}

/// The distribution name of a PyPI requirement: `pkg[x]>=1` -> `pkg`.
pub(super) fn pypi_name(spec: &str) -> String {
    let end = spec.find(['[', '=', '<', '>', '!', '~', ',']).unwrap_or(spec.len());
    spec[..end].to_owned()
}

async fn read_json(path: &Path) -> Result<serde_json::Value, String> {
    let text = tokio::fs::read_to_string(path).await.map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The executable an installed npm package offers, under
/// `node_modules/.bin`: the one named `bin`, else the one named like the
/// package, else the only one.
pub(super) async fn npm_bin(dir: &Path, spec: &str, bin: Option<&str>) -> Result<PathBuf, String> {
    let name = npm_name(spec);
    let manifest = read_json(&dir.join("node_modules").join(name).join("package.json")).await?;
    let short = name.rsplit('/').next().unwrap_or(name);
    let chosen = match manifest.get("bin") {
        Some(serde_json::Value::String(_)) => bin.unwrap_or(short).to_owned(),
        Some(serde_json::Value::Object(bins)) => {
            let pick = bin.or_else(|| bins.contains_key(short).then_some(short));
            match (pick, bins.len()) {
                (Some(pick), _) if bins.contains_key(pick) => pick.to_owned(),
                (None, 1) => bins.keys().next().cloned().unwrap_or_default(),
                _ => {
                    let names: Vec<&str> = bins.keys().map(String::as_str).collect();
                    return Err(format!("{name} offers {names:?}; choose one with `bin`"));
                }
            }
        }
        _ => return Err(format!("{name} declares no executable (`bin` in its package.json)")),
    };
    Ok(dir.join("node_modules/.bin").join(chosen))
}

/// The script a Node project runs: its first `bin`, else `main`.
pub(super) async fn node_entry(src: &Path) -> Result<PathBuf, String> {
    let manifest = read_json(&src.join("package.json")).await?;
    let entry = match manifest.get("bin") {
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(serde_json::Value::Object(bins)) => bins.values().find_map(|v| v.as_str().map(str::to_owned)),
        _ => None,
    };
    let entry = entry.or_else(|| manifest.get("main").and_then(|m| m.as_str()).map(str::to_owned));
    let entry = entry.ok_or_else(|| format!("{}: package.json has no bin or main", src.display()))?;
    let path = src.join(&entry);
    if !path.starts_with(src) || entry.contains("..") {
        return Err(format!("{}: entry {entry:?} leaves the project", src.display()));
    }
    Ok(path)
}

/// The first console script a Python project declares.
pub(super) async fn python_script(src: &Path) -> Result<String, String> {
    let path = src.join("pyproject.toml");
    let text = tokio::fs::read_to_string(&path).await.map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let doc: toml::Table = text.parse().map_err(|e| format!("{}: {e}", path.display()))?;
    let scripts = doc.get("project").and_then(|p| p.get("scripts")).and_then(|s| s.as_table());
    let script = scripts.and_then(|s| s.keys().next()).cloned();
    let script = script.ok_or_else(|| format!("{}: no [project.scripts]; give `command`", path.display()))?;
    if script.contains('/') || script.starts_with('.') {
        return Err(format!("{}: script name {script:?} is not a plain name", path.display()));
    }
    Ok(script)
}

/// Scripts that need an interpreter named: `x.js` runs as `node x.js`,
/// `x.py` as `python3 x.py`; anything else runs itself.
pub(super) fn interpreted(program: PathBuf) -> (PathBuf, Vec<String>) {
    let ext = program.extension().and_then(|e| e.to_str()).unwrap_or_default();
    let interpreter = match ext {
        "js" | "mjs" | "cjs" => "node",
        "py" => "python3",
        _ => return (program, Vec::new()),
    };
    (PathBuf::from(interpreter), vec![program.display().to_string()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_names_lose_their_versions() {
        assert_eq!(
            npm_name("@modelcontextprotocol/server-everything@2025.9.25"),
            "@modelcontextprotocol/server-everything"
        );
        assert_eq!(npm_name("@scope/pkg"), "@scope/pkg");
        assert_eq!(npm_name("pkg@^1"), "pkg");
        assert_eq!(npm_name("pkg"), "pkg");
        assert_eq!(pypi_name("mcp-server-time[cli]>=0.6,<1"), "mcp-server-time");
        assert_eq!(pypi_name("mcp-server-time==0.6.2"), "mcp-server-time");
    }

    #[test]
    fn scripts_get_their_interpreter() {
        assert_eq!(interpreted("/x/a.js".into()), ("node".into(), vec!["/x/a.js".to_owned()]));
        assert_eq!(interpreted("/x/a.py".into()), ("python3".into(), vec!["/x/a.py".to_owned()]));
        assert_eq!(interpreted("/x/bin/tool".into()), ("/x/bin/tool".into(), vec![]));
    }
}
