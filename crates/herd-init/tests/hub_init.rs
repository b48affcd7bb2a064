//! `herd_init::hub::init` on a temp home: what a first run writes, that
//! `force` replaces the hub's certificate and settings but never the CA,
//! and that the launchd plist it would install parses (Python's
//! `plistlib`, as launchd's format).

#![allow(clippy::unwrap_used)]

use herd_init::hub::{HubFiles, HubInit, init};
use herd_init::install::{Role, launchd_plist};
use std::path::Path;

fn args(home: &Path, sans: &[&str], force: bool) -> HubInit {
    HubInit {
        home: home.to_owned(),
        listen: "127.0.0.1:7800".parse().unwrap(),
        sans: sans.iter().map(|s| (*s).to_owned()).collect(),
        force,
    }
}

#[tokio::test]
async fn force_reissues_the_hub_certificate_and_keeps_the_ca() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("hub");
    let first = init(&args(&home, &["hub.lan"], false)).await.unwrap();
    assert!(first.admin_token.as_deref().is_some_and(|t| t.starts_with("herd_")));
    assert!(first.url.starts_with("https://hub.lan:7800/mcp"), "{}", first.url);
    let files = HubFiles::under(&home);
    let ca = std::fs::read(&files.ca_cert).unwrap();
    let hub_cert = std::fs::read(&files.cert).unwrap();

    let refused = init(&args(&home, &["hub2.lan"], false)).await.unwrap_err().to_string();
    assert!(refused.contains("hub.pem differs") && refused.contains("hub2.lan"), "{refused}");
    let forced = init(&args(&home, &["hub2.lan"], true)).await.unwrap();
    assert_eq!(forced.changes.written, vec![files.key.clone(), files.cert.clone()]);
    assert_eq!(forced.admin_token, None, "the state keeps its users; no token is made again");
    assert_eq!(forced.fingerprint, first.fingerprint);
    assert_eq!(std::fs::read(&files.ca_cert).unwrap(), ca, "the CA stays");
    assert_ne!(std::fs::read(&files.cert).unwrap(), hub_cert);
    let (names, _) = herd_ca::certificate_names(&std::fs::read_to_string(&files.cert).unwrap()).unwrap();
    assert_eq!(names.first().map(String::as_str), Some("hub2.lan"));
    assert!(herd_ca::verify_issued(&std::fs::read_to_string(&files.cert).unwrap(), &String::from_utf8(ca).unwrap()));
}

#[test]
fn the_installed_plists_parse() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../packaging");
    for (name, role) in [("dev.herd.hub.plist", Role::Hub), ("dev.herd.agent.plist", Role::Agent)] {
        let template = std::fs::read_to_string(root.join(name)).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, launchd_plist(&template, role, "/usr/local/var/herd", "/usr/local/bin/herd")).unwrap();
        let script = "import json, plistlib, sys; print(json.dumps(plistlib.load(open(sys.argv[1], 'rb'))))";
        let out = std::process::Command::new("python3").args(["-c", script]).arg(&path).output().unwrap();
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        let plist: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let program = plist["ProgramArguments"][2].as_str().unwrap();
        let word = if role == Role::Hub { "hub" } else { "agent" };
        let start = format!("set -a; . /usr/local/var/herd/{word}.env; set +a; exec /usr/local/bin/herd {word}");
        assert!(program.starts_with(&start), "{name}: {program}");
        assert!(!program.contains("--config"), "{name}: the settings come from the .env file: {program}");
        if role == Role::Hub {
            assert_eq!(plist["EnvironmentVariables"]["HERD_HOME"], "/usr/local/var/herd");
        }
    }
}
