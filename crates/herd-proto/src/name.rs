//! Member names read without copying.
//!
//! serde's `Cow<str>` always copies what it reads. Messages are taken apart
//! member by member on every hop, and their names almost never hold
//! escapes, so [`MemberName`] borrows the name from the input when it can
//! and copies only when it must.

use serde::de::{Deserialize, Deserializer, Error, Visitor};
use std::borrow::Cow;
use std::fmt;

/// A JSON object member's name, borrowed from the input unless it holds
/// escapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberName<'a>(pub Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for MemberName<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Name<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for Name<'a> {
            type Value = MemberName<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E: Error>(self, name: &'de str) -> Result<Self::Value, E> {
                Ok(MemberName(Cow::Borrowed(name)))
            }
            fn visit_str<E: Error>(self, name: &str) -> Result<Self::Value, E> {
                Ok(MemberName(Cow::Owned(name.to_owned())))
            }
        }
        deserializer.deserialize_str(Name(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_are_borrowed_and_escaped_ones_decoded() {
        let plain: MemberName = serde_json::from_str(r#""method""#).unwrap_or(MemberName(Cow::Borrowed("")));
        assert!(matches!(plain.0, Cow::Borrowed("method")));
        let escaped: MemberName = serde_json::from_str(r#""a\"b""#).unwrap_or(MemberName(Cow::Borrowed("")));
        assert!(matches!(&escaped.0, Cow::Owned(name) if name == "a\"b"));
    }
}
