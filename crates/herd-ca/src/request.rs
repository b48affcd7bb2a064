//! The agent's side of joining: a key made here and a request for it, and
//! reading back what a certificate names.

use crate::{CaError, NameError, check_name};
use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair};

/// What the hub answers to a signed request.
#[derive(Debug, Clone)]
pub struct SignedRequest {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The names it holds.
    pub names: Vec<String>,
    /// When it expires (Unix seconds).
    pub not_after: i64,
}

/// A new private key (PEM) and a certificate signing request (PEM) for it,
/// naming `host` and `names`.
pub fn new_request(host: &str, names: &[String]) -> Result<(String, String), CaError> {
    for name in names {
        check_name(name)?;
    }
    let key = KeyPair::generate().map_err(CaError::Make)?;
    let mut params = CertificateParams::new(names.to_vec())
        .map_err(|e| NameError::Invalid { name: names.join(", "), why: e.to_string() })?;
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, host);
    let csr = params.serialize_request(&key).map_err(CaError::Make)?;
    let csr_pem = csr.pem().map_err(CaError::Make)?;
    Ok((key.serialize_pem(), csr_pem))
}

/// The subject alternative names of the certificate in `pem` (DNS names
/// and IP addresses, as text) and when it expires (Unix seconds); `None`
/// when `pem` holds no readable certificate.
pub fn certificate_names(pem: &str) -> Option<(Vec<String>, i64)> {
    certificate_names_der(&pem_der(pem, "CERTIFICATE")?)
}

/// [`certificate_names`] of a DER certificate.
pub fn certificate_names_der(der: &[u8]) -> Option<(Vec<String>, i64)> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let mut names = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                x509_parser::extensions::GeneralName::DNSName(dns) => names.push(dns.to_ascii_lowercase()),
                x509_parser::extensions::GeneralName::IPAddress(bytes) => {
                    if let Ok(v4) = <[u8; 4]>::try_from(*bytes) {
                        names.push(std::net::Ipv4Addr::from(v4).to_string());
                    } else if let Ok(v6) = <[u8; 16]>::try_from(*bytes) {
                        names.push(std::net::Ipv6Addr::from(v6).to_string());
                    }
                }
                _ => {}
            }
        }
    }
    Some((names, cert.validity().not_after.timestamp()))
}

/// Whether the certificate `cert_pem` was issued by the CA `ca_pem`: its
/// issuer is the CA's subject and the CA's key verifies its signature.
pub fn verify_issued(cert_pem: &str, ca_pem: &str) -> bool {
    let (Some(cert), Some(ca)) = (pem_der(cert_pem, "CERTIFICATE"), pem_der(ca_pem, "CERTIFICATE")) else {
        return false;
    };
    let (Ok((_, cert)), Ok((_, ca))) =
        (x509_parser::parse_x509_certificate(&cert), x509_parser::parse_x509_certificate(&ca))
    else {
        return false;
    };
    cert.issuer() == ca.subject() && cert.verify_signature(Some(ca.public_key())).is_ok()
}

/// The DER of the first PEM block labelled `label` in `pem`.
pub(crate) fn pem_der(pem: &str, label: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin)? + begin.len();
    let stop = start + pem[start..].find(&end)?;
    let body: String = pem[start..stop].chars().filter(|c| !c.is_whitespace()).collect();
    base64::Engine::decode(&base64::engine::general_purpose::STANDARD, body).ok()
}
