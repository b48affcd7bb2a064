use super::*;

const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

#[test]
fn trace_context_is_read_from_meta() {
    let params = format!(r#"{{"name":"t","_meta":{{"traceparent":"{PARENT}","tracestate":"a=b"}}}}"#);
    let context = from_meta(&params).expect("a context");
    let span = context.span();
    let found = span.span_context();
    assert_eq!(found.trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(found.span_id().to_string(), "00f067aa0ba902b7");
    assert!(found.is_remote());
    assert_eq!(found.trace_state().header(), "a=b");
}

#[test]
fn a_bad_or_missing_traceparent_gives_no_parent() {
    assert!(from_meta(r#"{"name":"t"}"#).is_none());
    assert!(from_meta(r#"{"_meta":{"traceparent":"00-zz-00f067aa0ba902b7-01"}}"#).is_none());
    assert!(from_meta(r#"{"_meta":{"traceparent":7}}"#).is_none());
    assert!(from_meta(r#"["traceparent"]"#).is_none());
}

#[test]
fn nothing_is_injected_or_scoped_while_off() {
    assert!(!enabled());
    assert!(meta_entries().is_none());
    let mut headers = HeaderMap::new();
    inject_headers(&mut headers);
    assert!(headers.is_empty());
    headers.insert("traceparent", HeaderValue::from_static(PARENT));
    assert!(Inbound::http(&headers).is_none());
    assert!(Inbound::pipe().is_none());
    assert!(matches!(within(None, async {}), Either::Right(_)));
}
