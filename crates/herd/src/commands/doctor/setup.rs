//! The files `herd init` wrote into a home: `hub.env` and `agent.env`
//! (how the service runs), and the TLS material they name.
//!
//! For each environment file found: it is private when it holds a token
//! (`agent.env`); the certificate it names reads, is not near its expiry
//! and, when the home holds the fleet CA (`tls/ca.pem`), was issued by
//! it; its key is private to its owner. A certificate that no longer
//! matches the CA is what a `--force` run on the hub (a new hub, a new CA)
//! leaves behind on agents, and no handshake would say so this plainly.

use super::{Finding, cert, files};
use std::path::Path;
use std::time::{Duration, SystemTime};

/// The findings for the `herd init` files under `home` (none when it has
/// none).
pub(super) fn init_files(home: &Path, now: SystemTime) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (role, name) in [("hub", "hub.env"), ("agent", "agent.env")] {
        let path = home.join(name);
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        let vars = env_vars(&text);
        if role == "agent" {
            findings.extend(files::secret_file(name, &path));
        } else {
            findings.push(Finding::ok(name, format!("{}", path.display())));
        }
        let (Some(cert), Some(key)) = (vars.get("HERD_TLS_CERT"), vars.get("HERD_TLS_KEY")) else { continue };
        findings.push(certificate(role, Path::new(cert), &home.join("tls/ca.pem"), now));
        let key_check = format!("{role} TLS key");
        findings.push(files::secret_file(&key_check, Path::new(key)).unwrap_or_else(|| {
            Finding::fail(&key_check, format!("{key} is missing"), format!("run `herd init {role}` again"))
        }));
    }
    findings
}

/// The certificate at `path` of the `role` server: readable, its expiry,
/// and issued by the CA at `ca` when that exists.
fn certificate(role: &str, path: &Path, ca: &Path, now: SystemTime) -> Finding {
    let check = format!("{role} certificate");
    let shown = path.display().to_string();
    let again = format!("run `herd init {role}` again with --force to make a new one");
    let Ok(pem) = std::fs::read_to_string(path) else {
        return Finding::fail(&check, format!("cannot read {shown}"), again);
    };
    let Some((_, not_after)) = herd_ca::certificate_names(&pem) else {
        return Finding::fail(&check, format!("{shown} holds no readable certificate"), again);
    };
    if let Ok(ca_pem) = std::fs::read_to_string(ca)
        && !herd_ca::verify_issued(&pem, &ca_pem)
    {
        let detail = format!("{shown} was not issued by the fleet CA {}", ca.display());
        return Finding::fail(&check, detail, again);
    }
    let until = u64::try_from(not_after).ok().map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s));
    cert::expiry(&check, &shown, until, now)
}

/// The `KEY=VALUE` lines of an environment file.
fn env_vars(text: &str) -> std::collections::BTreeMap<&str, &str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::doctor::Status;

    fn statuses(findings: &[Finding]) -> Vec<(String, Status)> {
        findings.iter().map(|f| (f.check.clone(), f.status)).collect()
    }

    #[test]
    fn a_home_from_init_checks_out_and_a_foreign_certificate_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path();
        let now = SystemTime::now();
        assert!(init_files(home, now).is_empty(), "a home without init files has nothing to check");

        let ca = herd_ca::FleetCa::generate("test fleet").unwrap();
        let issued = ca.issue_hub(&["hub.test".to_owned()]).unwrap();
        std::fs::create_dir_all(home.join("tls")).unwrap();
        let write = |name: &str, text: &str, mode: u32| {
            use std::os::unix::fs::PermissionsExt as _;
            let path = home.join(name);
            std::fs::write(&path, text).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        };
        write("tls/ca.pem", ca.cert_pem(), 0o644);
        write("tls/hub.pem", &issued.cert_pem, 0o644);
        write("tls/hub.key", &issued.key_pem, 0o600);
        let env = format!(
            "# written by herd init\nHERD_TLS_CERT={}\nHERD_TLS_KEY={}\n",
            home.join("tls/hub.pem").display(),
            home.join("tls/hub.key").display()
        );
        write("hub.env", &env, 0o644);
        let findings = init_files(home, now);
        assert!(findings.iter().all(|f| f.status == Status::Ok), "{findings:?}");
        assert_eq!(statuses(&findings).len(), 3, "{findings:?}");

        // A new CA in the home: the hub's certificate is no longer its.
        let other = herd_ca::FleetCa::generate("another fleet").unwrap();
        write("tls/ca.pem", other.cert_pem(), 0o644);
        write("tls/hub.key", &issued.key_pem, 0o644);
        let findings = init_files(home, now);
        let failed: Vec<_> = findings.iter().filter(|f| f.status == Status::Fail).collect();
        assert_eq!(failed.len(), 2, "{findings:?}");
        assert!(failed[0].detail.contains("was not issued by the fleet CA"), "{findings:?}");
        assert!(failed[1].detail.contains("open to other users"), "{findings:?}");

        // Four years on, the hub certificate (825 days) has expired.
        write("tls/ca.pem", ca.cert_pem(), 0o644);
        let later = now + Duration::from_secs(4 * 365 * 86_400);
        let expired = init_files(home, later);
        assert!(expired.iter().any(|f| f.detail.contains("expired")), "{expired:?}");
    }
}
