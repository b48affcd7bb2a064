//! JSON objects edited member by member without parsing the members.
//!
//! The hub adds a few notes (`host`, `via`, a line of text) to results
//! that may carry megabytes of file content. Parsing such a result into a
//! `Value` and writing it out again costs more than the rest of the hop;
//! [`RawObject`] keeps every member as the bytes that came, in their order,
//! so only the notes are new.

use herd_proto::MemberName;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

/// A JSON object whose members stay unparsed, in their original order,
/// except those taken apart for an edit ([`RawObject::object_mut`],
/// [`RawObject::list_mut`]). Written out in one pass.
#[derive(Debug, Default)]
pub(crate) struct RawObject<'a> {
    members: Vec<(Cow<'a, str>, Member<'a>)>,
}

#[derive(Debug)]
enum Member<'a> {
    Raw(Cow<'a, RawValue>),
    Object(RawObject<'a>),
    List(Vec<Cow<'a, RawValue>>),
}

impl<'a> RawObject<'a> {
    /// Reads an object; `None` if `json` is not one.
    pub(crate) fn parse(json: &'a RawValue) -> Option<Self> {
        serde_json::from_str(json.get()).ok()
    }

    /// The member `key`, if present and not taken apart.
    pub(crate) fn get(&self, key: &str) -> Option<&RawValue> {
        match self.member(key)? {
            Member::Raw(value) => Some(value.as_ref()),
            Member::Object(_) | Member::List(_) => None,
        }
    }

    /// Sets `key`, in place if present, else at the end.
    pub(crate) fn set(&mut self, key: &str, value: Box<RawValue>) {
        match self.member_mut(key) {
            Some(slot) => *slot = Member::Raw(Cow::Owned(value)),
            None => self.members.push((Cow::Owned(key.to_owned()), Member::Raw(Cow::Owned(value)))),
        }
    }

    /// The member `key` as an object to edit; `None` if absent or not an
    /// object.
    pub(crate) fn object_mut(&mut self, key: &str) -> Option<&mut RawObject<'a>> {
        let slot = self.member_mut(key)?;
        if let Member::Raw(Cow::Borrowed(raw)) = slot {
            *slot = Member::Object(RawObject::parse(raw)?);
        }
        match slot {
            Member::Object(object) => Some(object),
            Member::Raw(_) | Member::List(_) => None,
        }
    }

    /// The member `key` as a list of elements to edit; `None` if absent or
    /// not an array.
    pub(crate) fn list_mut(&mut self, key: &str) -> Option<&mut Vec<Cow<'a, RawValue>>> {
        let slot = self.member_mut(key)?;
        if let Member::Raw(Cow::Borrowed(raw)) = slot {
            let items: Vec<&'a RawValue> = serde_json::from_str(raw.get()).ok()?;
            *slot = Member::List(items.into_iter().map(Cow::Borrowed).collect());
        }
        match slot {
            Member::List(items) => Some(items),
            Member::Raw(_) | Member::Object(_) => None,
        }
    }

    /// Removes every member named `key`; the value of the last one, as
    /// JSON readers take it, unless it was taken apart.
    pub(crate) fn remove(&mut self, key: &str) -> Option<Cow<'a, RawValue>> {
        let mut last = None;
        self.members.retain_mut(|(k, v)| {
            if *k != key {
                return true;
            }
            last = match std::mem::replace(v, Member::List(Vec::new())) {
                Member::Raw(raw) => Some(raw),
                Member::Object(_) | Member::List(_) => None,
            };
            false
        });
        last
    }

    /// Whether some name occurs twice.
    pub(crate) fn has_duplicates(&self) -> bool {
        self.members.iter().enumerate().any(|(i, (k, _))| self.members[..i].iter().any(|(earlier, _)| earlier == k))
    }

    /// The object as JSON.
    pub(crate) fn to_raw(&self) -> Box<RawValue> {
        to_raw(self)
    }

    fn member(&self, key: &str) -> Option<&Member<'a>> {
        self.members.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    fn member_mut(&mut self, key: &str) -> Option<&mut Member<'a>> {
        self.members.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v)
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
            match value {
                Member::Raw(raw) => map.serialize_entry(key, raw.as_ref())?,
                Member::Object(object) => map.serialize_entry(key, object)?,
                Member::List(items) => map.serialize_entry(key, items)?,
            }
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
                while let Some((MemberName(key), value)) = map.next_entry::<MemberName<'a>, &'de RawValue>()? {
                    members.push((key, Member::Raw(Cow::Borrowed(value))));
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
    fn members_taken_apart_are_edited_and_written_back_in_place() {
        let source = raw(r#"{"a":1,"s":{"x":"\u00e9","y":[1]},"list":[{"k":1}, 2],"z":null}"#);
        let mut object = RawObject::parse(&source).unwrap_or_default();
        let nested = object.object_mut("s").unwrap();
        nested.set("y", raw("2"));
        nested.set("host", to_raw("h"));
        object.list_mut("list").unwrap().push(Cow::Owned(raw("3")));
        assert!(object.object_mut("a").is_none(), "a number is no object");
        assert!(object.list_mut("z").is_none(), "null is no list");
        assert!(object.get("s").is_none(), "taken apart");
        assert_eq!(
            object.to_raw().get(),
            r#"{"a":1,"s":{"x":"\u00e9","y":2,"host":"h"},"list":[{"k":1},2,3],"z":null}"#
        );
    }

    #[test]
    fn remove_takes_the_last_of_a_repeated_name() {
        let source = raw(r#"{"host":"a","x":1,"host":"b"}"#);
        let mut object = RawObject::parse(&source).unwrap_or_default();
        assert!(object.has_duplicates());
        assert_eq!(object.remove("host").as_deref().map(RawValue::get), Some(r#""b""#));
        assert!(!object.has_duplicates());
        assert!(object.remove("host").is_none());
        assert_eq!(object.to_raw().get(), r#"{"x":1}"#);
    }

    #[test]
    fn escaped_member_names_are_kept() {
        let source = raw(r#"{"a\"b":1}"#);
        let object = RawObject::parse(&source).unwrap_or_default();
        assert_eq!(object.get("a\"b").map(RawValue::get), Some("1"));
        assert_eq!(object.to_raw().get(), r#"{"a\"b":1}"#);
    }

    #[test]
    fn what_is_not_an_object_is_refused() {
        for json in ["[1]", "\"text\"", "null", "3"] {
            assert!(RawObject::parse(&raw(json)).is_none(), "{json}");
        }
    }
}
