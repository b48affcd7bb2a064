use super::*;
use herd_store::{AuditFilter, AuditRecord, Outcome};

const DAY: Duration = Duration::from_secs(86_400);

#[test]
fn settings_default_to_ninety_days_and_read_the_audit_table() {
    assert_eq!(AuditSettings::parse("[[hosts]]\nname = \"a\"\nssh = \"a\"\n").unwrap(), AuditSettings::default());
    assert_eq!(AuditSettings::default().retention, Some(90 * DAY));
    assert_eq!(AuditSettings::parse("gpu1 gpu1.lan - -\n").unwrap(), AuditSettings::default(), "seed format");
    let set = AuditSettings::parse("[audit]\nretention = \"30d\"\npayloads = true\n").unwrap();
    assert_eq!(set, AuditSettings { retention: Some(30 * DAY), payloads: true, sync: Durability::Normal });
    assert_eq!(AuditSettings::parse("[audit]\nretention = \"forever\"\n").unwrap().retention, None);
    assert_eq!(AuditSettings::parse("[audit]\nsync = \"full\"\n").unwrap().sync, Durability::Full);
}

#[test]
fn bad_settings_are_named() {
    let err = AuditSettings::parse("[audit]\nretention = \"90 days\"\n").unwrap_err();
    assert!(err.contains("retention") && err.contains("30d"), "{err}");
    let err = AuditSettings::parse("[audit]\nretention = 90\n").unwrap_err();
    assert!(err.contains("string"), "{err}");
    let err = AuditSettings::parse("[audit]\nretension = \"1d\"\n").unwrap_err();
    assert!(err.contains("retension"), "{err}");
    let err = AuditSettings::parse("[audit]\nsync = \"always\"\n").unwrap_err();
    assert!(err.contains("always") && err.contains("full"), "{err}");
}

#[tokio::test]
async fn pruning_deletes_only_records_older_than_the_retention() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("herd.db").to_str().unwrap()).await.unwrap();
    let now = Timestamp::from_unix_millis(1_800_000_000_000);
    let ages = [100 * DAY, 91 * DAY, 89 * DAY, DAY, Duration::ZERO];
    let records: Vec<AuditRecord> = ages
        .iter()
        .map(|age| AuditRecord::new(now.saturating_sub(*age), format!("age {}", age.as_secs() / 86_400), Outcome::Ok))
        .collect();
    store.append_audit(&records.iter().collect::<Vec<_>>()).await.unwrap();

    assert_eq!(prune_once(&store, 90 * DAY, now).await.unwrap(), 2);
    let kept = store.query_audit(&AuditFilter::default()).await.unwrap();
    let methods: Vec<&str> = kept.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(methods, ["age 89", "age 1", "age 0"]);
    assert_eq!(prune_once(&store, 90 * DAY, now).await.unwrap(), 0, "a second round finds nothing");
}
