use super::*;

fn parse(s: &str) -> Result<Message, ParseError> {
    Message::parse(s.as_bytes())
}

#[test]
fn classifies_the_three_kinds() {
    assert!(matches!(parse(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#), Ok(Message::Request(_))));
    assert!(matches!(parse(r#"{"jsonrpc":"2.0","method":"x"}"#), Ok(Message::Notification(_))));
    assert!(matches!(parse(r#"{"jsonrpc":"2.0","id":"a","result":{}}"#), Ok(Message::Response(_))));
}

#[test]
fn unknown_members_survive_a_round_trip() {
    let input = r#"{"jsonrpc":"2.0","id":9.0,"method":"vendor/x","params":{"a":[1,2.50,{"z":null}],"_meta":{"k":"v"}},"x-trace":{"span":"abc"},"ext":1e3}"#;
    let msg = parse(input).unwrap();
    let out = msg.to_json();
    let a: serde_json::Value = serde_json::from_str(input).unwrap();
    let b: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(a, b);
    assert!(out.contains(r#""id":9.0"#), "{out}");
    assert!(out.contains(r#"2.50"#), "{out}");
    assert!(out.contains(r#""ext":1e3"#), "{out}");
}

#[test]
fn bad_input_is_classified_for_the_right_error_code() {
    assert!(matches!(parse("{"), Err(ParseError::Json(_))));
    assert!(matches!(parse("nonsense"), Err(ParseError::Json(_))));
    assert!(matches!(parse(r#"[{"jsonrpc":"2.0","method":"x"}]"#), Err(ParseError::Batch)));
    assert!(matches!(parse("[1,"), Err(ParseError::Json(_))));
    for bad in [
        r#"{"id":1,"method":"x"}"#,
        r#"{"jsonrpc":"1.0","id":1,"method":"x"}"#,
        r#"{"jsonrpc":"2.0","id":{},"method":"x"}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":5}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"x","params":[1]}"#,
        r#"{"jsonrpc":"2.0","id":1}"#,
        r#"{"jsonrpc":"2.0"}"#,
        r#"{"jsonrpc":"2.0","id":1,"result":1,"error":{}}"#,
        r#"{"jsonrpc":"2.0","id":1,"id":2,"method":"x"}"#,
        r#"5"#,
        r#""str""#,
    ] {
        let err = parse(bad).unwrap_err();
        assert_eq!(err.to_rpc_error().code, crate::code::INVALID_REQUEST, "{bad}: {err}");
    }
}

#[test]
fn invalid_requests_keep_their_id_for_the_error_reply() {
    let err = parse(r#"{"jsonrpc":"1.0","id":"q","method":"x"}"#).unwrap_err();
    assert_eq!(err.id().map(RequestId::as_json), Some(r#""q""#));
}

#[test]
fn error_json_uses_null_for_unknown_ids() {
    let s = error_json(None, &RpcError::parse_error("bad"));
    assert_eq!(s, r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"bad"}}"#);
}

#[test]
fn batches_are_split_into_members_each_parsed_on_its_own() {
    let text = r#" [{"jsonrpc":"2.0","id":1,"method":"a"}, {"jsonrpc":"2.0","method":"n"}, 7, {"jsonrpc":"1.0","id":"x","method":"b"}]"#;
    assert!(Message::is_batch(text.as_bytes()));
    let members = Message::parse_batch(text.as_bytes()).unwrap();
    assert_eq!(members.len(), 4);
    assert!(matches!(&members[0], Ok(Message::Request(r)) if r.method == "a"));
    assert!(matches!(&members[1], Ok(Message::Notification(n)) if n.method == "n"));
    assert!(matches!(&members[2], Err(ParseError::Invalid { id: None, .. })));
    let err = members[3].as_ref().unwrap_err();
    assert_eq!(err.id().map(RequestId::as_json), Some(r#""x""#));

    assert!(matches!(Message::parse_batch(b"[]"), Err(ParseError::EmptyBatch)));
    assert!(matches!(Message::parse_batch(b"[1,"), Err(ParseError::Json(_))));
    assert!(!Message::is_batch(br#"{"jsonrpc":"2.0"}"#));
}
