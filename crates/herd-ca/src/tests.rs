use super::*;

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn a_ca_reloads_from_its_files_and_refuses_a_foreign_key() {
    let ca = FleetCa::generate("hub1").unwrap();
    let again = FleetCa::load(ca.cert_pem(), &ca.key_pem()).unwrap();
    assert_eq!(again.fingerprint(), ca.fingerprint());
    assert_eq!(Fingerprint::of_pem(ca.cert_pem()), Some(ca.fingerprint()));
    let other = FleetCa::generate("hub2").unwrap();
    assert!(matches!(FleetCa::load(ca.cert_pem(), &other.key_pem()), Err(CaError::KeyMismatch)));
    let hub = ca.issue_hub(&names(&["hub1", "localhost", "127.0.0.1"])).unwrap();
    assert!(matches!(FleetCa::load(&hub.cert_pem, &hub.key_pem), Err(CaError::NotCa)));
    assert!(verify_issued(&hub.cert_pem, ca.cert_pem()));
    assert!(!verify_issued(&hub.cert_pem, other.cert_pem()));
    let (held, not_after) = certificate_names(&hub.cert_pem).unwrap();
    assert_eq!(held, names(&["hub1", "localhost", "127.0.0.1"]));
    assert!(not_after > time::OffsetDateTime::now_utc().unix_timestamp());
}

#[test]
fn fingerprints_read_the_way_people_copy_them() {
    let ca = FleetCa::generate("hub").unwrap();
    let shown = ca.fingerprint().to_string();
    assert_eq!(shown.len(), 64);
    let colons: Vec<String> = shown.as_bytes().chunks(2).map(|c| String::from_utf8_lossy(c).to_uppercase()).collect();
    for text in [shown.clone(), format!("sha256:{shown}"), colons.join(":")] {
        assert_eq!(text.parse::<Fingerprint>(), Ok(ca.fingerprint()), "{text}");
    }
    assert_eq!("abc".parse::<Fingerprint>(), Err(BadFingerprint));
    assert_eq!(format!("{}zz", &shown[..62]).parse::<Fingerprint>(), Err(BadFingerprint));
}

#[test]
fn a_request_is_signed_for_its_host_and_names_only() {
    let ca = FleetCa::generate("hub").unwrap().reserving(names(&["hub.lan", "localhost", "127.0.0.1"]));
    let (_key, csr) = new_request("ws1", &names(&["ws1.lan", "127.0.0.1"])).unwrap();
    let signed = ca.sign_request("ws1", &csr).unwrap();
    assert_eq!(signed.names, names(&["ws1", "ws1.lan", "127.0.0.1"]));
    assert_eq!(certificate_names(&signed.cert_pem).unwrap().0, signed.names);
}

#[test]
fn odd_requests_are_refused_with_the_reason() {
    let ca = FleetCa::generate("hub").unwrap().reserving(names(&["hub.lan", "localhost"]));
    let refused = |host: &str, requested: &[&str]| {
        // Requests that new_request would refuse are made by hand here.
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(names(requested)).unwrap();
        if requested.contains(&"CA") {
            params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
            params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        }
        let csr = params.serialize_request(&key).unwrap().pem().unwrap();
        ca.sign_request(host, &csr).unwrap_err().to_string()
    };
    assert!(refused("ws1", &["*.lan"]).contains("wildcard"));
    assert!(refused("ws1", &["hub.lan"]).contains("name of the hub itself"));
    assert!(refused("ws1", &["0.0.0.0"]).contains("does not name one host"));
    assert!(refused("ws1", &["CA"]).contains("CA certificate"));
    assert!(refused("ws 1", &[]).contains("not a host name"));
    let many: Vec<String> = (0..20).map(|i| format!("n{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    assert!(refused("ws1", &many).contains("at most 16"));
    assert!(ca.sign_request("ws1", "not a request").unwrap_err().to_string().contains("not valid"));
}
