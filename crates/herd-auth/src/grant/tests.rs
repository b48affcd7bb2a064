use super::*;

fn tags(list: &[&str]) -> Vec<String> {
    list.iter().map(|t| (*t).to_owned()).collect()
}

#[test]
fn command_line_lists_parse_and_print_back() {
    let grant = Grant::parse(Some(" gpu* , @lab,node?"), Some("read_*,list_dir")).unwrap();
    assert_eq!(grant.hosts.to_string(), "gpu*,@lab,node?");
    assert_eq!(grant.tools.to_string(), "read_*,list_dir");
    assert_eq!(grant.hosts.to_string().parse::<HostGrant>().unwrap(), grant.hosts);
    assert_eq!(Grant::parse(None, None).unwrap(), Grant::all());
    assert_eq!(Grant::parse(Some("*"), Some(" * ")).unwrap(), Grant::all());
    assert_eq!(Grant::all().hosts.to_string(), "*");
    assert_eq!("gpu***x".parse::<HostGrant>().unwrap().to_string(), "gpu*x");
}

#[test]
fn malformed_lists_get_errors_that_say_what_is_wrong() {
    let host = |s: &str| s.parse::<HostGrant>().unwrap_err().to_string();
    let tool = |s: &str| s.parse::<ToolGrant>().unwrap_err().to_string();
    assert_eq!(host(""), "empty host list: leave the option out, or give `*`, to grant every host");
    assert_eq!(tool("  "), "empty tool list: leave the option out, or give `*`, to grant every tool");
    assert_eq!(host("a,,b"), "empty entry in the host list \"a,,b\"");
    assert_eq!(host("a,"), "empty entry in the host list \"a,\"");
    assert_eq!(host("gpu 1"), "host pattern \"gpu 1\": use a-z A-Z 0-9 _ . - and the wildcards * and ?");
    assert_eq!(host("gpu[12]"), "host pattern \"gpu[12]\": use a-z A-Z 0-9 _ . - and the wildcards * and ?");
    assert_eq!(host("@"), "host pattern \"@\": empty");
    assert_eq!(host("@la b"), "host pattern \"@la b\": use a-z A-Z 0-9 _ . - and the wildcards * and ?");
    assert_eq!(host("a/b"), "host pattern \"a/b\": use a-z A-Z 0-9 _ . - and the wildcards * and ?");
    assert_eq!(tool("rm -rf"), "tool pattern \"rm -rf\": use a-z A-Z 0-9 _ . - / and the wildcards * and ?");
    assert_eq!(tool(&"x".repeat(129)), format!("tool pattern {:?}: longer than 128 bytes", "x".repeat(80)));
    let many = vec!["h"; MAX_PATTERNS + 1].join(",");
    assert_eq!(host(&many), format!("too many host patterns: {} (at most {MAX_PATTERNS})", MAX_PATTERNS + 1));
}

#[test]
fn host_patterns_match_names_globs_and_tags_case_sensitively() {
    let grant: HostGrant = "gpu*,node?,@lab,db1".parse().unwrap();
    let cases: &[(&str, &[&str], bool)] = &[
        ("gpu", &[], true),
        ("gpu12", &[], true),
        ("GPU1", &[], false),
        ("node1", &[], true),
        ("node12", &[], false),
        ("node", &[], false),
        ("db1", &[], true),
        ("db10", &[], false),
        ("ws1", &["lab"], true),
        ("ws1", &["lab2", "Lab"], false),
        ("lab", &[], false),
        ("ws1", &[], false),
    ];
    for (name, host_tags, expected) in cases {
        assert_eq!(grant.covers(name, &tags(host_tags)), *expected, "{name} {host_tags:?}");
    }
    let tag_glob: HostGrant = "@gpu-*".parse().unwrap();
    assert!(tag_glob.covers("ws1", &tags(&["gpu-a100"])));
    assert!(!tag_glob.covers("gpu-a100", &[]));
    assert!(HostGrant::all().covers("anything", &[]));
}

#[test]
fn tool_patterns_match_names_and_globs() {
    let grant: ToolGrant = "read_*,list_dir,time/*".parse().unwrap();
    for (name, expected) in [
        ("read_file", true),
        ("read_", true),
        ("list_dir", true),
        ("list_dirs", false),
        ("shell", false),
        ("time/now", true),
        ("Read_file", false),
    ] {
        assert_eq!(grant.covers(name), expected, "{name}");
    }
    assert!(ToolGrant::all().covers("shell"));
}

#[test]
fn config_entries_are_one_pattern_each() {
    #[derive(Debug, Deserialize)]
    struct Entry {
        #[serde(default)]
        hosts: HostGrant,
        #[serde(default)]
        tools: ToolGrant,
    }
    let entry: Entry = toml::from_str("hosts = [\"gpu*\", \"@lab\"]\ntools = [\"*\"]").unwrap();
    assert_eq!(entry.hosts.to_string(), "gpu*,@lab");
    assert!(entry.tools.is_all());
    let err = toml::from_str::<Entry>("hosts = [\"gpu 1\"]").unwrap_err().to_string();
    assert!(err.contains("host pattern \"gpu 1\""), "{err}");
    assert_eq!(serde_json::to_value(&entry.hosts).unwrap(), serde_json::json!(["gpu*", "@lab"]));
}

#[test]
fn unions_keep_every_pattern_once_and_everything_absorbs() {
    let a: HostGrant = "gpu*,@lab".parse().unwrap();
    let b: HostGrant = "@lab,db1".parse().unwrap();
    assert_eq!(a.union(&b).to_string(), "gpu*,@lab,db1");
    assert!(a.union(&HostGrant::all()).is_all());
    let t: ToolGrant = "read_*".parse().unwrap();
    assert!(ToolGrant::all().union(&t).is_all());
}
