//! Which names a fleet certificate may hold: DNS names and IP addresses a
//! host can really be reached by, nothing that would let one certificate
//! stand for many hosts.

use rcgen::SanType;
use std::net::IpAddr;

/// The most names one certificate may hold.
pub(crate) const MAX_NAMES: usize = 16;

/// Why a name is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Not a DNS name or IP address.
    #[error("{name:?} is not a host name or IP address: {why}")]
    Invalid {
        /// The name.
        name: String,
        /// What is wrong with it.
        why: String,
    },
    /// A wildcard would cover hosts that never asked.
    #[error("{0:?} is a wildcard; ask for each host name instead")]
    Wildcard(String),
    /// Subject alternative names of another kind than DNS or IP.
    #[error("the request asks for an {0} name; only DNS names and IP addresses are signed")]
    Kind(&'static str),
    /// Too many names.
    #[error("the request asks for {0} names; at most {MAX_NAMES} are signed")]
    TooMany(usize),
    /// A name the hub itself answers to.
    #[error("{0:?} is a name of the hub itself and is not given to agents")]
    Reserved(String),
    /// A request for a CA certificate.
    #[error("the request asks for a CA certificate; only server certificates are signed")]
    CaRequested,
}

/// Checks that `name` is a DNS name (letters, digits, hyphens, dots; no
/// wildcard) or an IP address that names one host.
pub fn check_name(name: &str) -> Result<(), NameError> {
    let invalid = |why: &str| NameError::Invalid { name: name.to_owned(), why: why.to_owned() };
    if let Ok(ip) = name.parse::<IpAddr>() {
        let broadcast = matches!(ip, IpAddr::V4(v4) if v4.is_broadcast());
        if ip.is_unspecified() || ip.is_multicast() || broadcast {
            return Err(invalid("it does not name one host"));
        }
        return Ok(());
    }
    if name.contains('*') {
        return Err(NameError::Wildcard(name.to_owned()));
    }
    if name.is_empty() || name.len() > 253 {
        return Err(invalid("it must be 1 to 253 characters"));
    }
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(invalid("each dot-separated part must be 1 to 63 characters"));
        }
        if !label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(invalid("only letters, digits, hyphens and dots are allowed"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(invalid("a part may not start or end with a hyphen"));
        }
    }
    Ok(())
}

/// Whether `name` only ever means the machine itself.
pub(crate) fn is_loopback(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower == "localhost" || lower.ends_with(".localhost") || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A requested subject alternative name as text, if it is of a kind that
/// is signed.
pub(crate) fn san_text(san: &SanType) -> Result<String, NameError> {
    match san {
        SanType::DnsName(name) => Ok(name.as_str().to_ascii_lowercase()),
        SanType::IpAddress(ip) => Ok(ip.to_string()),
        SanType::Rfc822Name(_) => Err(NameError::Kind("email")),
        SanType::URI(_) => Err(NameError::Kind("URI")),
        _ => Err(NameError::Kind("unsupported")),
    }
}
