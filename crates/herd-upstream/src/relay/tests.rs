use super::*;

#[test]
fn progress_tokens_are_swapped_without_touching_other_members() {
    let params =
        RawValue::from_string(r#"{"name":"t","arguments":{"n":2.50},"_meta":{"progressToken":7,"x":1}}"#.into())
            .unwrap();
    let ours = with_meta(&params, Some("herd-1"), &Claim::Keep, &[]).unwrap();
    let v: Value = serde_json::from_str(ours.get()).unwrap();
    assert_eq!(v["_meta"]["progressToken"], "herd-1");
    assert_eq!(v["_meta"]["x"], 1);
    assert!(ours.get().contains("2.50"), "{}", ours.get());
    let note = RawValue::from_string(r#"{"progressToken":"herd-1","progress":5}"#.into()).unwrap();
    let original = RawValue::from_string("7".into()).unwrap();
    let back: Value = serde_json::from_str(swap_token(&note, "herd-1", &original).unwrap().get()).unwrap();
    assert_eq!(back, json!({"progressToken":7,"progress":5}));
    assert!(swap_token(&note, "herd-2", &original).is_none());
}

#[test]
fn the_principal_claim_replaces_whatever_the_client_sent() {
    let params = RawValue::from_string(
        r#"{"name":"t","arguments":{"n":2.50},"_meta":{"herd/principal":{"user":"mallory"},"x":1}}"#.into(),
    )
    .unwrap();
    let claim = to_raw(&json!({ "user": "alice", "role": "viewer" })).unwrap();
    let set: Value = serde_json::from_str(with_meta(&params, None, &Claim::Set(claim), &[]).unwrap().get()).unwrap();
    assert_eq!(set["_meta"], json!({ "herd/principal": { "user": "alice", "role": "viewer" }, "x": 1 }));
    assert_eq!(set["arguments"]["n"], 2.5);
    let removed: Value = serde_json::from_str(with_meta(&params, None, &Claim::Remove, &[]).unwrap().get()).unwrap();
    assert_eq!(removed["_meta"], json!({ "x": 1 }));
}

#[test]
fn the_trace_context_replaces_the_clients_and_keeps_the_rest() {
    let params = RawValue::from_string(
        r#"{"name":"t","arguments":{"n":2.50},"_meta":{"traceparent":"00-theirs","progressToken":7}}"#.into(),
    )
    .unwrap();
    let ours = [("traceparent".to_owned(), "00-ours".to_owned()), ("tracestate".to_owned(), "a=b".to_owned())];
    let sent = with_meta(&params, None, &Claim::Keep, &ours).unwrap();
    let v: Value = serde_json::from_str(sent.get()).unwrap();
    assert_eq!(v["_meta"], json!({ "traceparent": "00-ours", "tracestate": "a=b", "progressToken": 7 }));
    assert!(sent.get().contains("2.50"), "{}", sent.get());
}
