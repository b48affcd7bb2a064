//! Request ids, kept as the exact JSON text the peer sent.
//!
//! JSON-RPC lets an id be a string or a number. A proxy that parses numbers
//! into machine integers rewrites `9.0` as `9` or loses digits of a large
//! one; the peer then cannot match its answer. herd compares and echoes ids by
//! their raw text instead.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::fmt;
use std::hash::{Hash, Hasher};

/// A JSON-RPC request id: a JSON string or number, stored as its raw text.
#[derive(Clone)]
pub struct RequestId(Box<RawValue>);

impl RequestId {
    /// Wraps a raw JSON value, accepting only strings and numbers.
    pub fn from_raw(raw: Box<RawValue>) -> Option<Self> {
        match raw.get().as_bytes().first() {
            Some(b'"' | b'-' | b'0'..=b'9') => Some(Self(raw)),
            _ => None,
        }
    }

    /// A numeric id, as herd allocates for its own outbound requests.
    pub fn number(n: u64) -> Self {
        Self(RawValue::from_string(n.to_string()).expect("an integer is valid JSON"))
    }

    /// A string id.
    pub fn string(s: &str) -> Self {
        let text = serde_json::to_string(s).expect("a string serializes");
        Self(RawValue::from_string(text).expect("a serialized string is valid JSON"))
    }

    /// The id's JSON text, e.g. `"abc"` (with quotes) or `9.0`.
    pub fn as_json(&self) -> &str {
        self.0.get()
    }

    /// The raw value, for embedding in another message.
    pub fn as_raw(&self) -> &RawValue {
        &self.0
    }

    /// The id as an integer when it is one (used to match herd's own ids).
    pub fn as_u64(&self) -> Option<u64> {
        self.0.get().parse().ok()
    }
}

impl PartialEq for RequestId {
    fn eq(&self, other: &Self) -> bool {
        self.0.get() == other.0.get()
    }
}

impl Eq for RequestId {}

impl Hash for RequestId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.get().hash(state);
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.get())
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.get())
    }
}

impl Serialize for RequestId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for RequestId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        Self::from_raw(raw).ok_or_else(|| serde::de::Error::custom("id must be a string or a number"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_keep_their_exact_text() {
        let id: RequestId = serde_json::from_str("9.0").unwrap();
        assert_eq!(id.as_json(), "9.0");
        assert_ne!(id, RequestId::number(9));
        assert_eq!(serde_json::to_string(&id).unwrap(), "9.0");
    }

    #[test]
    fn only_strings_and_numbers_are_ids() {
        assert!(serde_json::from_str::<RequestId>("null").is_err());
        assert!(serde_json::from_str::<RequestId>("{}").is_err());
        assert!(serde_json::from_str::<RequestId>("true").is_err());
        assert_eq!(RequestId::string("a\"b").as_json(), r#""a\"b""#);
        assert_eq!(RequestId::number(7).as_u64(), Some(7));
    }
}
