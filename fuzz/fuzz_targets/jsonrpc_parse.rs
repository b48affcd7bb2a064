//! Protects the JSON-RPC envelope parser every transport runs on untrusted
//! bytes: `check_depth` followed by `Message::parse`.
//!
//! Properties, for any input:
//! - neither function panics;
//! - a parse error still yields a well-formed JSON-RPC error response
//!   (`error_json` with the error's id and code);
//! - a parsed message survives a round trip: `to_json()` is one valid JSON
//!   object that parses back to the same kind, id, method and verbatim
//!   params/result/error/extra members, and a second round trip is
//!   byte-identical.

#![no_main]

use herd_proto::{Message, ResponseBody, check_depth, error_json};
use libfuzzer_sys::fuzz_target;

/// The depth limit both transports use by default.
const MAX_DEPTH: usize = 64;

fuzz_target!(|data: &[u8]| {
    if check_depth(data, MAX_DEPTH).is_err() {
        return;
    }
    let message = match Message::parse(data) {
        Ok(m) => m,
        Err(e) => {
            let text = error_json(e.id(), &e.to_rpc_error());
            if let Err(why) = herd_fuzz::check_response(&text) {
                panic!("error answer for {e:?} is malformed: {why}");
            }
            return;
        }
    };
    let json = message.to_json();
    // herd relays `result`, `error` and unknown members verbatim, so only
    // the envelope is herd's to get right: valid JSON, one object. (Syntax
    // only: JSON allows numbers like `-32e601` that `serde_json::Value`
    // refuses as out of range, and herd keeps them as written.)
    if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(&json) {
        panic!("to_json wrote invalid JSON ({e}): {json}");
    }
    assert!(json.starts_with('{') && json.ends_with('}'), "to_json wrote a non-object: {json}");
    let again = match Message::parse(json.as_bytes()) {
        Ok(m) => m,
        Err(e) => panic!("to_json output does not re-parse ({e}): {json}"),
    };
    assert_same(&message, &again, &json);
    assert_eq!(json, again.to_json(), "second round trip changed the text");
});

fn assert_same(a: &Message, b: &Message, json: &str) {
    match (a, b) {
        (Message::Request(x), Message::Request(y)) => {
            assert_eq!(x.id, y.id, "id changed: {json}");
            assert_eq!(x.method, y.method, "method changed: {json}");
            assert_eq!(raw(&x.params), raw(&y.params), "params changed: {json}");
            assert_eq!(extra(&x.extra), extra(&y.extra), "extra members changed: {json}");
        }
        (Message::Notification(x), Message::Notification(y)) => {
            assert_eq!(x.method, y.method, "method changed: {json}");
            assert_eq!(raw(&x.params), raw(&y.params), "params changed: {json}");
            assert_eq!(extra(&x.extra), extra(&y.extra), "extra members changed: {json}");
        }
        (Message::Response(x), Message::Response(y)) => {
            assert_eq!(x.id, y.id, "id changed: {json}");
            match (&x.body, &y.body) {
                (ResponseBody::Result(p), ResponseBody::Result(q))
                | (ResponseBody::Error(p), ResponseBody::Error(q)) => {
                    assert_eq!(p.get(), q.get(), "result/error changed: {json}");
                }
                _ => panic!("result/error swapped: {json}"),
            }
            assert_eq!(extra(&x.extra), extra(&y.extra), "extra members changed: {json}");
        }
        _ => panic!("message kind changed: {a:?} became {b:?} via {json}"),
    }
}

fn raw(v: &Option<Box<serde_json::value::RawValue>>) -> Option<&str> {
    v.as_deref().map(serde_json::value::RawValue::get)
}

fn extra(e: &herd_proto::Extra) -> Vec<(&str, &str)> {
    e.iter().map(|(k, v)| (&**k, v.get())).collect()
}
