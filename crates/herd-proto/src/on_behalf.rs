//! Who a hub forwards a request for.
//!
//! A hub calls an agent with its own credential, so the agent's transport
//! sees the hub, not the person behind the call. The hub therefore names
//! that person in the forwarded request's `params._meta` under
//! [`PRINCIPAL_META`], and the agent's audit attributes the call to them.
//! An agent believes the claim only from a caller it trusts to make it
//! ([`OnBehalfOf::trusted_from`]): anyone else could name anybody.
//!
//! The claim attributes; it does not authorize. The hub decided the call
//! with the principal's role and grant before forwarding it.

use herd_auth::{Identity, Principal, Role};
use serde::{Deserialize, Serialize};

/// `params._meta` key of the [`OnBehalfOf`] a hub adds to every request it
/// forwards to an agent.
pub const PRINCIPAL_META: &str = "herd/principal";

/// The principal a forwarded request was made by, as far as an audit
/// record names it (never a secret).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnBehalfOf {
    /// The herd user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The public id of the user's token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_id: Option<String>,
    /// The OAuth subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth_subject: Option<String>,
    /// The principal's role on the hub (`admin`, `operator`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

impl OnBehalfOf {
    /// What a hub says of `principal`.
    pub fn of(principal: &Principal) -> Self {
        let mut claim = Self { role: Some(principal.role().as_str().to_owned()), ..Self::default() };
        match principal.identity() {
            Identity::User { name, token_id, .. } => {
                claim.user = Some(name.clone());
                claim.token_id = Some(token_id.to_string());
            }
            Identity::OAuth { subject, .. } => claim.oauth_subject = Some(subject.clone()),
            Identity::Anonymous => {}
        }
        claim
    }

    /// Whether a request made by `caller` may name someone else: only a
    /// hub may, i.e. a caller holding the agent's own credential (the
    /// server's operator, seen as the anonymous admin) or an `agent`-role
    /// token. A herd user, even an admin, speaks only for themself.
    pub fn trusted_from(caller: &Principal) -> bool {
        match caller.identity() {
            Identity::Anonymous => caller.role() == Role::Admin,
            Identity::User { .. } | Identity::OAuth { .. } => caller.role() == Role::Agent,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use herd_auth::{Grant, TokenId, UserId};

    fn user(role: Role) -> Principal {
        let identity = Identity::User { user_id: UserId(1), name: "alice".into(), token_id: TokenId("tok_7".into()) };
        Principal::new(identity, role, Grant::all())
    }

    #[test]
    fn a_claim_names_the_principal_and_nothing_secret() {
        let claim = serde_json::to_value(OnBehalfOf::of(&user(Role::Viewer))).unwrap();
        assert_eq!(claim, serde_json::json!({ "user": "alice", "token_id": "tok_7", "role": "viewer" }));
        let anonymous = serde_json::to_value(OnBehalfOf::of(&Principal::anonymous_admin())).unwrap();
        assert_eq!(anonymous, serde_json::json!({ "role": "admin" }));
    }

    #[test]
    fn only_a_hub_credential_may_speak_for_someone_else() {
        assert!(OnBehalfOf::trusted_from(&Principal::anonymous_admin()));
        assert!(OnBehalfOf::trusted_from(&user(Role::Agent)));
        for role in [Role::Admin, Role::Operator, Role::Viewer] {
            assert!(!OnBehalfOf::trusted_from(&user(role)), "{role}");
        }
    }
}
