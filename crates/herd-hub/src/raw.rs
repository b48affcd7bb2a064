//! JSON objects edited member by member without parsing the members.
//!
//! The hub adds a few notes (`host`, `via`, a line of text) to results
//! that may carry megabytes of file content. Parsing such a result into a
//! `Value` and writing it out again costs more than the rest of the hop;
//! [`RawObject`] keeps every member as the bytes that came, in their order,
//! so only the notes are new.

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

/// A JSON object whose members stay unparsed, in their original order.
#[derive(Debug, Default)]
pub(crate) struct RawObject<'a> {
    members: Vec<(String, Cow<'a, RawValue>)>,
}

impl<'a> RawObject<'a> {
    /// Reads an object; `None` if `json` is not one.
    pub(crate) fn parse(json: &'a RawValue) -> Option<Self> {
        serde_json::from_str(json.get()).ok()
    }

    /// The member `key`, if present.
    pub(crate) fn get(&self, key: &str) -> Option<&RawValue> {
        self.members.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_ref())
    }

    /// Sets `key`, in place if present, else at the end.
    pub(crate) fn set(&mut self, key: &str, value: Box<RawValue>) {
        match self.members.iter_mut().find(|(k, _)| k == key) {
            Some((_, slot)) => *slot = Cow::Owned(value),
            None => self.members.push((key.to_owned(), Cow::Owned(value))),
        }
    }

    /// The object as JSON.
    pub(crate) fn to_raw(&self) -> Box<RawValue> {
        to_raw(self)
    }
}

/// `value` as JSON. Serializing the hub's own values cannot fail (string
/// keys, no non-finite floats); `null` stands in if it ever did.
pub(crate) fn to_raw<T: Serialize + ?Sized>(value: &T) -> Box<RawValue> {
    serde_json::value::to_raw_value(value).unwrap_or_else(|_| RawValue::NULL.to_owned())
}

impl Serialize for RawObject<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.members.len()))?;
        for (key, value) in &self.members {
            map.serialize_entry(key, value.as_ref())?;
        }
        map.end()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for RawObject<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Members<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for Members<'a> {
            type Value = RawObject<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut members = Vec::with_capacity(map.size_hint().unwrap_or(4));
                while let Some((key, value)) = map.next_entry::<String, &'de RawValue>()? {
                    members.push((key, Cow::Borrowed(value)));
                }
                Ok(RawObject { members })
            }
        }
        deserializer.deserialize_map(Members(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(json: &str) -> Box<RawValue> {
        RawValue::from_string(json.to_owned()).unwrap_or_else(|_| RawValue::NULL.to_owned())
    }

    #[test]
    fn members_keep_their_bytes_and_order_and_set_replaces_or_appends() {
        let source = raw(r#"{"z":1e999,"a":{"deep":[1, 2]},"s":"\u00e9\n"}"#);
        let mut object = RawObject::parse(&source).unwrap_or_default();
        assert_eq!(object.get("a").map(RawValue::get), Some(r#"{"deep":[1, 2]}"#));
        object.set("a", raw("true"));
        object.set("new", to_raw("x"));
        assert_eq!(object.to_raw().get(), r#"{"z":1e999,"a":true,"s":"\u00e9\n","new":"x"}"#);
    }

    #[test]
    fn what_is_not_an_object_is_refused() {
        for json in ["[1]", "\"text\"", "null", "3"] {
            assert!(RawObject::parse(&raw(json)).is_none(), "{json}");
        }
    }
}
