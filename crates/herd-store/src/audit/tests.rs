use super::*;

fn sample() -> AuditRecord {
    let mut rec = AuditRecord::new(Timestamp::from_unix_millis(1_779_280_496_789), "tools/call", Outcome::ToolError);
    rec.id = Some(7);
    rec.user = Some("alice".into());
    rec.token_id = Some("tok_abc".into());
    rec.client_name = Some("claude-code".into());
    rec.client_version = Some("2.1".into());
    rec.client_address = Some("127.0.0.1:5000".into());
    rec.session = Some("s-1".into());
    rec.target = Some("remote_shell".into());
    rec.hosts = vec!["gpu1".into(), "gpu2".into()];
    rec.path = Some(AuditPath::Ssh);
    rec.duration_ms = 42;
    rec.error = Some("exit 1".into());
    rec.set_args(br#"{"command":"ls"}"#, true);
    rec
}

#[test]
fn json_uses_opentelemetry_names() {
    let json = sample().to_json_line();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["time"], "2026-05-20T12:34:56.789Z");
    assert_eq!(v["mcp.method.name"], "tools/call");
    assert_eq!(v["gen_ai.tool.name"], "remote_shell");
    assert_eq!(v["mcp.session.id"], "s-1");
    assert_eq!(v["user.name"], "alice");
    assert_eq!(v["client.address"], "127.0.0.1:5000");
    assert_eq!(v["herd.hosts"], serde_json::json!(["gpu1", "gpu2"]));
    assert_eq!(v["herd.path"], "ssh");
    assert_eq!(v["herd.outcome"], "tool_error");
    assert_eq!(v["error.message"], "exit 1");
    assert_eq!(v["herd.args.size"], 16);
    assert_eq!(v["herd.args"], r#"{"command":"ls"}"#);
    assert!(v.get("gen_ai.request.model").is_none(), "absent fields are left out: {json}");
    assert!(!json.contains('\n'));
}

#[test]
fn json_round_trips_and_names_targets_by_method() {
    let rec = sample();
    assert_eq!(serde_json::from_str::<AuditRecord>(&rec.to_json_line()).unwrap(), rec);
    for (method, key) in [
        ("resources/read", "mcp.resource.uri"),
        ("prompts/get", "gen_ai.prompt.name"),
        ("POST /v1/chat/completions", "herd.target"),
    ] {
        let mut r = AuditRecord::new(Timestamp::from_unix_millis(0), method, Outcome::Ok);
        r.target = Some("x".into());
        let v: serde_json::Value = serde_json::from_str(&r.to_json_line()).unwrap();
        assert_eq!(v[key], "x", "{method}");
        assert_eq!(serde_json::from_value::<AuditRecord>(v).unwrap(), r);
    }
}

#[test]
fn llm_fields_use_gen_ai_names() {
    let mut r = AuditRecord::new(Timestamp::from_unix_millis(0), "POST /v1/chat/completions", Outcome::Ok);
    r.model = Some("qwen3".into());
    r.provider = Some("ollama".into());
    r.member = Some("ws1/qwen3-8b".into());
    r.prompt_tokens = Some(10);
    r.completion_tokens = Some(20);
    r.ttft_ms = Some(150);
    let v: serde_json::Value = serde_json::from_str(&r.to_json_line()).unwrap();
    assert_eq!(v["gen_ai.request.model"], "qwen3");
    assert_eq!(v["gen_ai.provider.name"], "ollama");
    assert_eq!(v["gen_ai.usage.input_tokens"], 10);
    assert_eq!(v["gen_ai.usage.output_tokens"], 20);
    assert_eq!(v["herd.llm.ttft_ms"], 150);
}

#[test]
fn args_digest_and_payload_cap() {
    let mut r = AuditRecord::new(Timestamp::from_unix_millis(0), "tools/call", Outcome::Ok);
    r.set_args(b"abc", false);
    assert_eq!(r.args_sha256.as_deref(), Some("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    assert_eq!(r.args_size, Some(3));
    assert_eq!(r.args, None);
    let big = vec![b'x'; ARGS_CAP * 3];
    r.set_args(&big, true);
    assert_eq!(r.args_size, Some(big.len() as u64));
    let kept = r.args.unwrap();
    assert!(kept.len() <= ARGS_CAP && kept.ends_with('…'), "{}", kept.len());
}

#[test]
fn outcome_and_path_text() {
    for o in Outcome::ALL {
        assert_eq!(o.as_str().parse::<Outcome>().unwrap(), *o);
    }
    for p in AuditPath::ALL {
        assert_eq!(p.to_string().parse::<AuditPath>().unwrap(), *p);
    }
    assert!("OK".parse::<Outcome>().is_err());
}
