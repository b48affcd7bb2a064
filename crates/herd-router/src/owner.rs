//! Who a session belongs to, as far as the transport can tell.
//!
//! Sessions are capped per owner ([`RouterConfig::max_sessions_per_owner`])
//! as well as in total, so one client cannot take every session slot. An
//! authenticated transport keys the owner by the principal's subject (a
//! user, an OAuth subject), or by the bearer token it checked when the
//! principal names nobody; an unauthenticated one by the client's address.
//!
//! [`RouterConfig::max_sessions_per_owner`]: crate::RouterConfig::max_sessions_per_owner

use aws_lc_rs::digest;
use std::fmt;
use std::net::IpAddr;

/// The key of the per-owner session cap.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Owner(Key);

#[derive(Clone, PartialEq, Eq, Hash)]
enum Key {
    /// The first 16 bytes of the token's SHA-256: the token itself is never
    /// kept, shown or logged.
    Token([u8; 16]),
    /// A herd user, by id.
    User(i64),
    /// An OAuth subject: the first 16 bytes of the SHA-256 of issuer and
    /// subject (bounded size whatever the claims' lengths).
    Subject([u8; 16]),
    /// An IPv4 address, or the /64 an IPv6 address lies in (one host
    /// usually holds a whole /64).
    Address(IpAddr),
    /// This process's own caller (stdio).
    Local,
    /// A transport that knows nothing of its client.
    Unknown,
}

impl Owner {
    /// The holder of an accepted bearer token.
    pub fn bearer_token(token: &[u8]) -> Self {
        let hash = digest::digest(&digest::SHA256, token);
        let mut key = [0u8; 16];
        key.copy_from_slice(&hash.as_ref()[..16]);
        Self(Key::Token(key))
    }

    /// The principal's subject: a herd user (whichever of their tokens
    /// they use) or an OAuth subject; `None` for a principal that names
    /// nobody (anonymous).
    pub fn principal(principal: &herd_proto::Principal) -> Option<Self> {
        use herd_proto::Identity;
        match principal.identity() {
            Identity::User { user_id, .. } => Some(Self(Key::User(user_id.0))),
            Identity::OAuth { subject, issuer } => {
                let mut ctx = digest::Context::new(&digest::SHA256);
                for part in [issuer.as_bytes(), b"\0", subject.as_bytes()] {
                    ctx.update(part);
                }
                let mut key = [0u8; 16];
                key.copy_from_slice(&ctx.finish().as_ref()[..16]);
                Some(Self(Key::Subject(key)))
            }
            Identity::Anonymous => None,
        }
    }

    /// An unauthenticated client at `ip`.
    pub fn address(ip: IpAddr) -> Self {
        let ip = match ip {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
            },
            v4 @ IpAddr::V4(_) => v4,
        };
        Self(Key::Address(ip))
    }

    /// The process's own caller, on stdio.
    pub fn local() -> Self {
        Self(Key::Local)
    }

    /// A client the transport cannot tell apart from others.
    pub fn unknown() -> Self {
        Self(Key::Unknown)
    }
}

/// Safe to log: a token shows as a prefix of its digest.
impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Key::Token(key) => {
                f.write_str("token sha256:")?;
                key[..4].iter().try_for_each(|b| write!(f, "{b:02x}"))
            }
            Key::User(id) => write!(f, "user {id}"),
            Key::Subject(key) => {
                f.write_str("oauth subject sha256:")?;
                key[..4].iter().try_for_each(|b| write!(f, "{b:02x}"))
            }
            Key::Address(IpAddr::V6(net)) => write!(f, "address {net}/64"),
            Key::Address(ip) => write!(f, "address {ip}"),
            Key::Local => f.write_str("local caller"),
            Key::Unknown => f.write_str("unknown client"),
        }
    }
}

impl fmt::Debug for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Owner({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_told_apart_and_never_shown() {
        let a = Owner::bearer_token(b"herd_secret_a");
        assert_eq!(a, Owner::bearer_token(b"herd_secret_a"));
        assert_ne!(a, Owner::bearer_token(b"herd_secret_b"));
        let shown = format!("{a} {a:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.starts_with("token sha256:"), "{shown}");
    }

    #[test]
    fn addresses_group_ipv6_by_64_and_unmap_ipv4() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(Owner::address(ip("2001:db8::1")), Owner::address(ip("2001:db8::ffff:2")));
        assert_ne!(Owner::address(ip("2001:db8::1")), Owner::address(ip("2001:db8:0:1::1")));
        assert_eq!(Owner::address(ip("::ffff:10.0.0.1")), Owner::address(ip("10.0.0.1")));
        assert_ne!(Owner::address(ip("10.0.0.1")), Owner::address(ip("10.0.0.2")));
        assert_eq!(Owner::address(ip("2001:db8::1")).to_string(), "address 2001:db8::/64");
    }
}
