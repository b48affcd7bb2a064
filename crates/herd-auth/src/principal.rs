//! Principals: who makes a request.
//!
//! Every request is made by a [`Principal`]: a herd user through one of
//! their tokens (the store resolves the token), the subject of an OAuth
//! access token (the [`oauth`](crate::oauth) validator maps its claims), or,
//! on a server started without authentication, [`Principal::anonymous_admin`].
//! A principal is made once per request by whoever checked the credential,
//! travels in the request's context, and is cheap to clone (one `Arc`).

use crate::{Grant, Role};
use std::fmt;
use std::sync::Arc;

/// A herd user's id, as the store numbers users.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(pub i64);

/// A token's public id as the store names it (`tok_` and 12 characters):
/// what `herd token revoke` takes and what audit records name. Safe to log.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TokenId(pub Arc<str>);

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Who a principal is, for logs, audit and session ownership.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Identity {
    /// A herd user, through one of their tokens.
    User {
        /// The user.
        user_id: UserId,
        /// The user's name.
        name: String,
        /// The token the request carried.
        token_id: TokenId,
    },
    /// The subject of an access token from the operator's identity provider.
    OAuth {
        /// The token's `sub` claim.
        subject: String,
        /// The token's `iss` claim.
        issuer: String,
    },
    /// Nobody in particular: a server started with authentication off.
    Anonymous,
}

/// Who makes a request, with what role and grant. Cheap to clone.
#[derive(Clone, PartialEq, Eq)]
pub struct Principal(Arc<Inner>);

#[derive(Debug, PartialEq, Eq)]
struct Inner {
    identity: Identity,
    role: Role,
    grant: Grant,
}

impl Principal {
    /// A principal with this identity, role and grant.
    pub fn new(identity: Identity, role: Role, grant: Grant) -> Self {
        Self(Arc::new(Inner { identity, role, grant }))
    }

    /// The principal of every request to a server that checks no
    /// credentials (`--insecure-no-auth`, loopback test fixtures): an admin
    /// with every host and every tool, so such a server behaves as it did
    /// before it knew about principals. Never use it as a fallback when a
    /// credential was presented and failed.
    pub fn anonymous_admin() -> Self {
        Self::new(Identity::Anonymous, Role::Admin, Grant::all())
    }

    /// Who this is.
    pub fn identity(&self) -> &Identity {
        &self.0.identity
    }

    /// What kind of thing it may do.
    pub fn role(&self) -> Role {
        self.0.role
    }

    /// Where it may do it.
    pub fn grant(&self) -> &Grant {
        &self.0.grant
    }

    /// The herd user behind it, if any.
    pub fn user_id(&self) -> Option<UserId> {
        match &self.0.identity {
            Identity::User { user_id, .. } => Some(*user_id),
            Identity::OAuth { .. } | Identity::Anonymous => None,
        }
    }

    /// Whether `other` is the same someone: the same user (through any of
    /// their tokens), the same OAuth subject of the same issuer, or both
    /// anonymous. A session belongs to the principal that opened it, and
    /// this is the test.
    pub fn same_subject(&self, other: &Principal) -> bool {
        match (&self.0.identity, &other.0.identity) {
            (Identity::User { user_id: a, .. }, Identity::User { user_id: b, .. }) => a == b,
            (Identity::OAuth { subject: a, issuer: ai }, Identity::OAuth { subject: b, issuer: bi }) => {
                a == b && ai == bi
            }
            (Identity::Anonymous, Identity::Anonymous) => true,
            _ => false,
        }
    }
}

impl fmt::Debug for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Principal")
            .field("identity", &self.0.identity)
            .field("role", &self.0.role)
            .field("hosts", &format_args!("{}", self.0.grant.hosts))
            .field("tools", &format_args!("{}", self.0.grant.tools))
            .finish()
    }
}

/// `user alice (token tok_…)`, `oauth subject S of ISSUER`, `anonymous`: who,
/// for log lines and error messages (never a secret).
impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0.identity {
            Identity::User { name, token_id, .. } => write!(f, "user {name} (token {token_id})"),
            Identity::OAuth { subject, issuer } => write!(f, "oauth subject {subject} of {issuer}"),
            Identity::Anonymous => f.write_str("anonymous"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: i64, token: i64) -> Principal {
        let token_id = TokenId(format!("tok_{token}").into());
        let identity = Identity::User { user_id: UserId(id), name: format!("u{id}"), token_id };
        Principal::new(identity, Role::Operator, Grant::all())
    }

    fn oauth(subject: &str, issuer: &str) -> Principal {
        let identity = Identity::OAuth { subject: subject.into(), issuer: issuer.into() };
        Principal::new(identity, Role::Viewer, Grant::all())
    }

    #[test]
    fn the_same_subject_is_the_same_user_or_the_same_oauth_subject_of_the_same_issuer() {
        assert!(user(1, 10).same_subject(&user(1, 11)));
        assert!(!user(1, 10).same_subject(&user(2, 10)));
        assert!(oauth("s", "https://a").same_subject(&oauth("s", "https://a")));
        assert!(!oauth("s", "https://a").same_subject(&oauth("s", "https://b")));
        assert!(!oauth("1", "https://a").same_subject(&user(1, 1)));
        assert!(Principal::anonymous_admin().same_subject(&Principal::anonymous_admin()));
        assert!(!Principal::anonymous_admin().same_subject(&user(1, 1)));
    }

    #[test]
    fn principals_display_who_they_are() {
        assert_eq!(user(3, 7).to_string(), "user u3 (token tok_7)");
        assert_eq!(oauth("svc", "https://idp").to_string(), "oauth subject svc of https://idp");
        assert_eq!(Principal::anonymous_admin().to_string(), "anonymous");
        let anon = Principal::anonymous_admin();
        assert_eq!((anon.role(), anon.grant()), (Role::Admin, &Grant::all()));
    }
}
