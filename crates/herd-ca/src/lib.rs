//! The fleet's certificate authority.
//!
//! A fleet trusts one CA that `herd init hub` makes on the hub's machine:
//! the hub's own certificate is issued by it, and every agent that joins
//! (`herd init agent`) sends the hub a certificate signing request for a key
//! it made itself and never sends anywhere. The hub checks the request
//! ([`FleetCa::sign_request`]: only DNS names and IP addresses, nothing
//! wildcard, nothing the hub itself answers to, no CA) and issues a
//! short-lived server certificate. The hub then reaches its agents over
//! `https://` checked against this CA alone.
//!
//! An agent trusts the hub before it has any certificate by the CA's
//! [`Fingerprint`] (SHA-256 of the CA certificate's DER), which the
//! operator copies from `herd init hub`'s output: the CA the hub serves is
//! accepted only when its fingerprint matches.
//!
//! Certificates are made with `rcgen` (ECDSA P-256); nothing shells out.

mod fingerprint;
mod names;
mod request;
#[cfg(test)]
mod tests;

pub use fingerprint::{BadFingerprint, Fingerprint};
pub use names::{NameError, check_name};
pub use request::{SignedRequest, certificate_names, certificate_names_der, new_request, verify_issued};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PublicKeyData as _,
};
use time::{Duration, OffsetDateTime};

/// How long the fleet CA is valid.
pub const CA_VALIDITY: Duration = Duration::days(3650);
/// How long the hub's certificate is valid.
pub const HUB_VALIDITY: Duration = Duration::days(825);
/// How long an agent's certificate is valid; `herd init agent --force`
/// renews it.
pub const AGENT_VALIDITY: Duration = Duration::days(365);
/// Clock skew tolerated between the hub and its agents: certificates are
/// valid from this long before they are made.
const BACKDATE: Duration = Duration::minutes(5);

/// Why a certificate could not be made, loaded or signed.
#[derive(Debug, thiserror::Error)]
pub enum CaError {
    /// The CA certificate or key is not PEM of the kind expected.
    #[error("{what} is not a valid PEM {kind}: {source}")]
    Pem {
        /// Which file or field.
        what: String,
        /// What it should hold.
        kind: &'static str,
        /// What the parser said.
        #[source]
        source: rcgen::Error,
    },
    /// The key does not belong to the certificate.
    #[error("the CA key does not belong to the CA certificate")]
    KeyMismatch,
    /// The certificate is not a CA's.
    #[error("the certificate is not a CA certificate")]
    NotCa,
    /// A certificate signing request that cannot be read or whose signature
    /// does not hold.
    #[error("the certificate signing request is not valid: {0}")]
    BadRequest(String),
    /// A name the request asks for is refused.
    #[error(transparent)]
    Name(#[from] NameError),
    /// rcgen failed to make or sign a certificate.
    #[error("cannot make the certificate: {0}")]
    Make(#[source] rcgen::Error),
}

/// A certificate and its private key, both PEM.
#[derive(Clone)]
pub struct Issued {
    /// The certificate.
    pub cert_pem: String,
    /// Its private key (keep it 0600).
    pub key_pem: String,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued").field("cert_pem", &self.cert_pem).field("key_pem", &"<redacted>").finish()
    }
}

/// The fleet CA: its certificate and the key that signs with it.
pub struct FleetCa {
    cert_pem: String,
    cert_der: Vec<u8>,
    issuer: Issuer<'static, KeyPair>,
    /// Names the hub answers to, refused in agents' requests.
    reserved: Vec<String>,
}

impl std::fmt::Debug for FleetCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FleetCa").field("fingerprint", &self.fingerprint()).finish_non_exhaustive()
    }
}

impl FleetCa {
    /// A new CA, named after `fleet` (the hub's host name).
    pub fn generate(fleet: &str) -> Result<Self, CaError> {
        let key = KeyPair::generate().map_err(CaError::Make)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, format!("herd fleet CA ({fleet})"));
        params.distinguished_name.push(DnType::OrganizationName, "herd");
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let now = OffsetDateTime::now_utc();
        params.not_before = now - BACKDATE;
        params.not_after = now + CA_VALIDITY;
        let cert = params.self_signed(&key).map_err(CaError::Make)?;
        let issuer = Issuer::new(params, key);
        Ok(Self { cert_pem: cert.pem(), cert_der: cert.der().to_vec(), issuer, reserved: Vec::new() })
    }

    /// The CA of `cert_pem` with its key `key_pem`; refused when the key is
    /// not the certificate's or the certificate is no CA.
    pub fn load(cert_pem: &str, key_pem: &str) -> Result<Self, CaError> {
        let pem = |what: &str, kind, source| CaError::Pem { what: what.to_owned(), kind, source };
        let key = KeyPair::from_pem(key_pem).map_err(|e| pem("the CA key", "private key", e))?;
        let cert_der = request::pem_der(cert_pem, "CERTIFICATE")
            .ok_or_else(|| pem("the CA certificate", "certificate", rcgen::Error::CouldNotParseCertificate))?;
        let (_, parsed) = x509_parser::parse_x509_certificate(&cert_der)
            .map_err(|_| pem("the CA certificate", "certificate", rcgen::Error::CouldNotParseCertificate))?;
        if parsed.tbs_certificate.subject_pki.subject_public_key.data.as_ref() != key.der_bytes() {
            return Err(CaError::KeyMismatch);
        }
        if !parsed.is_ca() {
            return Err(CaError::NotCa);
        }
        let issuer =
            Issuer::from_ca_cert_pem(cert_pem, key).map_err(|e| pem("the CA certificate", "certificate", e))?;
        Ok(Self { cert_pem: cert_pem.to_owned(), cert_der, issuer, reserved: Vec::new() })
    }

    /// This CA, refusing `names` (the hub's own, from its certificate) in
    /// agents' requests. Loopback names stay allowed: every machine has them.
    pub fn reserving(mut self, names: impl IntoIterator<Item = String>) -> Self {
        self.reserved = names.into_iter().filter(|n| !names::is_loopback(n)).map(|n| n.to_ascii_lowercase()).collect();
        self
    }

    /// The CA certificate, PEM: what hubs and agents trust.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The CA's private key, PEM (keep it 0600).
    pub fn key_pem(&self) -> String {
        self.issuer.key().serialize_pem()
    }

    /// SHA-256 of the CA certificate.
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of_der(&self.cert_der)
    }

    /// A server certificate for the hub, with its own new key, for `names`
    /// (DNS names or IP addresses).
    pub fn issue_hub(&self, names: &[String]) -> Result<Issued, CaError> {
        for name in names {
            check_name(name)?;
        }
        let key = KeyPair::generate().map_err(CaError::Make)?;
        let common = names.first().map_or("herd hub", String::as_str);
        let params = leaf_params(common, names, HUB_VALIDITY)?;
        let cert = params.signed_by(&key, &self.issuer).map_err(CaError::Make)?;
        Ok(Issued { cert_pem: cert.pem(), key_pem: key.serialize_pem() })
    }

    /// Signs an agent's certificate signing request for host `name`: the
    /// certificate names `name` and the request's own names, once each
    /// checked ([`check_name`], and none the hub answers to), and nothing
    /// else the request asks for (key usages, CA status) is taken from it.
    pub fn sign_request(&self, name: &str, csr_pem: &str) -> Result<SignedRequest, CaError> {
        check_name(name)?;
        let request = rcgen::CertificateSigningRequestParams::from_pem(csr_pem)
            .map_err(|e| CaError::BadRequest(e.to_string()))?;
        if matches!(request.params.is_ca, IsCa::Ca(_)) {
            return Err(NameError::CaRequested.into());
        }
        let mut wanted = vec![name.to_ascii_lowercase()];
        for san in &request.params.subject_alt_names {
            let text = names::san_text(san)?;
            if !wanted.contains(&text) {
                wanted.push(text);
            }
        }
        if wanted.len() > names::MAX_NAMES {
            return Err(NameError::TooMany(wanted.len()).into());
        }
        for text in &wanted {
            check_name(text)?;
            if self.reserved.contains(text) {
                return Err(NameError::Reserved(text.clone()).into());
            }
        }
        let params = leaf_params(name, &wanted, AGENT_VALIDITY)?;
        let cert = params.signed_by(&request.public_key, &self.issuer).map_err(CaError::Make)?;
        Ok(SignedRequest { cert_pem: cert.pem(), names: wanted, not_after: params.not_after.unix_timestamp() })
    }
}

/// A server (and client) certificate's parameters: `common` as its common
/// name, `names` as its subject alternative names, valid from a little
/// before now for `validity`.
fn leaf_params(common: &str, names: &[String], validity: Duration) -> Result<CertificateParams, CaError> {
    let mut params = CertificateParams::new(names.to_vec())
        .map_err(|e| CaError::Name(NameError::Invalid { name: names.join(", "), why: e.to_string() }))?;
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, common);
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
    params.use_authority_key_identifier_extension = true;
    let now = OffsetDateTime::now_utc();
    params.not_before = now - BACKDATE;
    params.not_after = now + validity;
    Ok(params)
}
