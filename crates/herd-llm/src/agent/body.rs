//! The one change the agent makes to a request body: `model` becomes the
//! provider's own model id. Every other member keeps its bytes and its
//! place, whatever serde_json's map ordering is.

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::fmt;

/// A JSON object's members in their order, each value as written.
struct Members(Vec<(String, Box<RawValue>)>);

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Object;
        impl<'de> Visitor<'de> for Object {
            type Value = Members;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut members = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some(member) = map.next_entry::<String, Box<RawValue>>()? {
                    members.push(member);
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(Object)
    }
}

/// `body` (a JSON object) with `model` set to `model`: in place when the
/// body names one, first otherwise.
pub(crate) fn with_model(body: &[u8], model: &str) -> Result<Vec<u8>, serde_json::Error> {
    let Members(members) = serde_json::from_slice(body)?;
    let model = serde_json::to_string(model)?;
    let mut out = Vec::with_capacity(body.len() + model.len());
    out.push(b'{');
    if !members.iter().any(|(key, _)| key == "model") {
        out.extend_from_slice(b"\"model\":");
        out.extend_from_slice(model.as_bytes());
        if !members.is_empty() {
            out.push(b',');
        }
    }
    for (i, (key, value)) in members.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut out, key)?;
        out.push(b':');
        let value = if key == "model" { model.as_str() } else { value.get() };
        out.extend_from_slice(value.as_bytes());
    }
    out.push(b'}');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_model_changes_and_everything_else_keeps_its_bytes_and_place() {
        let body =
            br#"{"zeta": 1.50, "model":"qwen3-8b","messages":[{"role":"user","content":"h\u00e9"}],"a":{"b" : true}}"#;
        let out = String::from_utf8(with_model(body, "qwen3:8b").unwrap()).unwrap();
        assert_eq!(
            out,
            r#"{"zeta":1.50,"model":"qwen3:8b","messages":[{"role":"user","content":"h\u00e9"}],"a":{"b" : true}}"#
        );
        let added = String::from_utf8(with_model(br#"{"input":"x"}"#, "m").unwrap()).unwrap();
        assert_eq!(added, r#"{"model":"m","input":"x"}"#);
        assert_eq!(with_model(b"{}", "m").unwrap(), br#"{"model":"m"}"#);
        for bad in [&b"[1]"[..], b"\"x\"", b"{\"a\":", b"nope", b"{} trailing"] {
            assert!(with_model(bad, "m").is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
