use super::*;

#[test]
fn progress_tokens_are_swapped_without_touching_other_members() {
    let params =
        RawValue::from_string(r#"{"name":"t","arguments":{"n":2.50},"_meta":{"progressToken":7,"x":1}}"#.into())
            .unwrap();
    let ours = with_progress_token(&params, "herd-1").unwrap();
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
