use super::*;
use serde_json::json;

fn claims(value: Value) -> Map<String, Value> {
    value.as_object().unwrap().clone()
}

fn config() -> OAuthConfig {
    let mut config = OAuthConfig::new("https://idp", "https://hub/mcp");
    let operator = |hosts: &str| RoleMapping { hosts: hosts.parse().unwrap(), ..RoleMapping::new(Role::Operator) };
    config.roles.insert("gpu-ops".into(), operator("gpu*"));
    config.roles.insert("lab-ops".into(), operator("@lab"));
    config.roles.insert("readers".into(), RoleMapping::new(Role::Viewer));
    config.roles.insert("admins".into(), RoleMapping::new(Role::Admin));
    config
}

#[test]
fn claim_values_come_from_arrays_strings_and_nested_paths() {
    let c = claims(json!({
        "roles": ["a", 7, "b"],
        "scope": "openid  herd:read\therd:write",
        "realm_access": { "roles": ["x"] },
        "https://example.com/roles": ["namespaced"],
        "bad": { "not": "a list" },
    }));
    assert_eq!(claim_values(&c, "roles"), Ok(vec!["a", "b"]));
    assert_eq!(claim_values(&c, "scope"), Ok(vec!["openid", "herd:read", "herd:write"]));
    assert_eq!(claim_values(&c, "realm_access.roles"), Ok(vec!["x"]));
    assert_eq!(claim_values(&c, "https://example.com/roles"), Ok(vec!["namespaced"]));
    assert_eq!(claim_values(&c, "groups"), Ok(vec![]));
    assert_eq!(claim_values(&c, "bad"), Err(TokenProblem::BadClaim("bad".into())));
}

#[test]
fn claim_values_are_capped() {
    let many: Vec<String> = (0..10_000).map(|i| format!("v{i}")).collect();
    let c = claims(json!({ "roles": many, "scope": many.join(" ") }));
    assert_eq!(claim_values(&c, "roles").unwrap().len(), MAX_CLAIM_VALUES);
    assert_eq!(claim_values(&c, "scope").unwrap().len(), MAX_CLAIM_VALUES);
}

#[test]
fn the_most_powerful_role_wins_and_its_grants_are_joined() {
    let config = config();
    let (role, grant) = map_roles(&config, &["readers", "gpu-ops", "lab-ops", "unknown"]).unwrap();
    assert_eq!(role, Role::Operator);
    assert_eq!(grant.hosts.to_string(), "gpu*,@lab");
    assert!(grant.tools.is_all());
    assert_eq!(map_roles(&config, &["gpu-ops", "admins"]).unwrap(), (Role::Admin, Grant::all()));
    assert_eq!(map_roles(&config, &["readers"]).unwrap(), (Role::Viewer, Grant::all()));
}

#[test]
fn no_match_gives_the_default_role_or_a_named_refusal() {
    let mut config = config();
    assert_eq!(map_roles(&config, &["strangers"]), Err("no value of the roles claim maps to a herd role".to_owned()));
    config.default_role = Some(RoleMapping { hosts: "@lab".parse().unwrap(), ..RoleMapping::new(Role::Viewer) });
    let (role, grant) = map_roles(&config, &[]).unwrap();
    assert_eq!((role, grant.hosts.to_string()), (Role::Viewer, "@lab".to_owned()));
}
