//! Backups that restore exactly: every kind of record, as the old layer and this crate
//! wrote it, back byte for byte in an empty store; what cannot be restored refused by key.

use std::time::Duration;

use super::{connect, maybe, maybe_test, storage, Storage};
use crate::harness::{self, LegacyWriter};
use redis::Commands;
use storage::oauth::ClientRegistration;
use storage::{
    Certificate, Error, MigrationPhase, ProxyTarget, Restored, Route, Secret, StoredFamily,
    StoredRecord,
};

fn legacy_writer(storage: &Storage) -> LegacyWriter {
    LegacyWriter::new(harness::raw(storage.config()), storage.keys().prefix())
}

/// A store with every kind a backup carries, written by both layers.
#[maybe]
async fn populated(test: &str) -> Storage {
    let storage = storage(test).await;
    let mut old = legacy_writer(&storage);
    old.proxy("old.example", "http://old:1", |_| {});
    old.route("old-route", "/old", 41, "http://old:2");
    old.certificate("old-cert", &["old.example"], None);
    old.auth_config("old-auth", "/admin/*", 70);
    storage
        .store_proxy_target(ProxyTarget::new("new.example", "http://new:1"))
        .await
        .unwrap();
    storage
        .store_route(Route::to_url("new-route", "/new", 40, "http://new:2"))
        .await
        .unwrap();
    let mut cert = Certificate::new("new-cert", ["new.example"], "ops@example.org");
    cert.status = "active".into();
    cert.fullchain_pem = Some(Secret::new("-----BEGIN CERTIFICATE-----\nMIIBchain\n"));
    cert.private_key_pem = Some(Secret::new("-----BEGIN PRIVATE KEY-----\nMIIEkey\n"));
    storage.store_certificate(cert).await.unwrap();
    storage
        .register_client(ClientRegistration {
            client_name: "CLI".into(),
            redirect_uris: vec!["http://127.0.0.1:8765/cb".into()],
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            scope: "mcp".into(),
            confidential: true,
            lifetime: Some(Duration::from_secs(3600)),
        })
        .await
        .unwrap();
    let pem = Secret::new("-----BEGIN EC PRIVATE KEY-----\nMHcaccount\n");
    storage
        .store_account_key("acme-v02_api_letsencrypt_org", "ops@example.org", &pem)
        .await
        .unwrap();
    storage
        .store_challenge("tok-1", "tok-1.thumbprint")
        .await
        .unwrap();
    storage
}

#[maybe]
#[maybe_test]
async fn a_backup_restored_into_an_empty_store_holds_every_record_byte_for_byte() {
    let source = populated("backup-source").await;
    let backup = source.backup().await.unwrap();
    assert!(backup.corrupt.is_empty(), "{:?}", backup.corrupt);
    let kinds: Vec<StoredFamily> = backup.records.iter().map(|r| r.family).collect();
    for kind in StoredFamily::ALL {
        assert!(kinds.contains(&kind), "{kind} missing: {kinds:?}");
    }

    let target = connect(harness::config("backup-target").without_seeding()).await;
    for record in &backup.records {
        let restored = target.restore(record).await.unwrap();
        assert_eq!(restored, Restored::Exact, "{record:?}");
    }
    let mut source_raw = harness::raw(source.config());
    let mut target_raw = harness::raw(target.config());
    for record in &backup.records {
        let original: String = source_raw
            .get(record.family.key(source.keys(), &record.id))
            .unwrap();
        let restored: String = target_raw
            .get(record.family.key(target.keys(), &record.id))
            .unwrap();
        assert_eq!(restored, original, "{} {}", record.family, record.id);
    }
    let ttl: i64 = target_raw.pttl(target.keys().challenge("tok-1")).unwrap();
    assert!(ttl > 0, "the challenge keeps its expiry: {ttl}");
    let client = backup
        .records
        .iter()
        .find(|r| r.family == StoredFamily::OauthClient)
        .unwrap();
    let ttl: i64 = target_raw
        .pttl(target.keys().oauth_client(&client.id))
        .unwrap();
    assert!(ttl > 0, "the client keeps its lifetime: {ttl}");

    // Indexed and listed as any record, and the second backup is the first.
    let routes = target.list_all_routes().await.unwrap();
    let ids: Vec<&str> = routes.records.iter().map(|r| r.route_id.as_str()).collect();
    assert!(
        ids.contains(&"old-route") && ids.contains(&"new-route"),
        "{ids:?}"
    );
    let domain = target
        .get_certificate_by_domain("new.example")
        .await
        .unwrap();
    assert_eq!(domain.map(|c| c.cert_name), Some("new-cert".to_owned()));
    let again = target.backup().await.unwrap();
    assert_eq!(again, backup);
}

#[maybe]
#[maybe_test]
async fn a_restored_record_reaches_the_change_feed() {
    let source = populated("backup-feed-source").await;
    let backup = source.backup().await.unwrap();
    let target = storage("backup-feed-target").await;
    let before = target.list_proxy_targets().await.unwrap().revision;
    let proxy = backup
        .records
        .iter()
        .find(|r| r.family == StoredFamily::Proxy && r.id == "old.example")
        .unwrap();
    target.restore(proxy).await.unwrap();
    let after = target.list_proxy_targets().await.unwrap();
    assert!(after.revision > before, "{before} -> {}", after.revision);
    assert!(after
        .records
        .iter()
        .any(|p| p.proxy_hostname == "old.example"));
}

#[maybe]
#[maybe_test]
async fn a_record_that_does_not_decode_is_refused_by_key_and_nothing_is_written() {
    let target = storage("backup-refused").await;
    let record = StoredRecord {
        family: StoredFamily::Route,
        id: "broken".into(),
        value: "{\"route_id\": \"broken\", \"priority\": \"high\"}".into(),
        expires_at_ms: None,
    };
    let error = target.restore(&record).await.unwrap_err();
    assert!(matches!(error, Error::Invalid { .. }), "{error:?}");
    assert!(error.to_string().contains("route:broken"), "{error}");
    let route = target.get_route("broken").await.unwrap();
    assert_eq!(route, None);
    let exists: bool = harness::raw(target.config())
        .exists(target.keys().route("broken"))
        .unwrap();
    assert!(!exists);
}

#[maybe]
#[maybe_test]
async fn a_bare_localhost_is_restored_with_the_oauth_exclusions_and_its_own_fields() {
    let target = storage("backup-localhost").await;
    let record = StoredRecord {
        family: StoredFamily::Proxy,
        id: "localhost".into(),
        value: r#"{"proxy_hostname":"localhost","target_url":"http://operator:9999"}"#.into(),
        expires_at_ms: None,
    };
    let restored = target.restore(&record).await.unwrap();
    assert_eq!(restored, Restored::Completed);
    let stored: String = harness::raw(target.config())
        .get(target.keys().proxy("localhost"))
        .unwrap();
    let stored: serde_json::Value = serde_json::from_str(&stored).unwrap();
    assert_eq!(stored["target_url"], "http://operator:9999");
    let excluded = stored["auth_excluded_paths"].to_string();
    assert!(excluded.contains("/token"), "{excluded}");
    assert!(stored.get("owner_token_hash").is_none(), "{stored}");
}

#[maybe]
#[maybe_test]
async fn a_backup_names_a_corrupt_record_and_leaves_it_in_place() {
    let storage = storage("backup-corrupt").await;
    let key = storage.keys().proxy("broken.example");
    let mut raw = harness::raw(storage.config());
    let _: () = raw.set(&key, "{not json").unwrap();
    let backup = storage.backup().await.unwrap();
    assert!(
        backup.corrupt.iter().any(|c| c.key == key),
        "{:?}",
        backup.corrupt
    );
    assert!(!backup.records.iter().any(|r| r.id == "broken.example"));
    let still: String = raw.get(&key).unwrap();
    assert_eq!(still, "{not json");
}

#[maybe]
#[maybe_test]
async fn after_finishing_a_late_old_layer_write_is_named_backed_up_and_listed_after_a_rollback() {
    let storage = storage("backup-late-writer").await;
    storage.finish_migration().await.unwrap();
    let mut old = legacy_writer(&storage);
    old.proxy("late.example.org", "http://late:1", |_| {});
    let hosts: Vec<String> = storage
        .list_proxy_targets()
        .await
        .unwrap()
        .records
        .into_iter()
        .map(|p| p.proxy_hostname)
        .collect();
    assert!(
        !hosts.contains(&"late.example.org".to_owned()),
        "finished: {hosts:?}"
    );

    let status = storage.migration_status().await.unwrap();
    assert_eq!(
        status.unindexed_keys,
        [storage.keys().proxy("late.example.org")]
    );
    let backup = storage.backup().await.unwrap();
    assert!(backup.records.iter().any(|r| r.id == "late.example.org"));

    let status = storage.roll_back_migration().await.unwrap();
    assert_eq!(status.phase, MigrationPhase::Mixed);
    old.proxy("later.example.org", "http://late:2", |_| {});
    let hosts: Vec<String> = storage
        .list_proxy_targets()
        .await
        .unwrap()
        .records
        .into_iter()
        .map(|p| p.proxy_hostname)
        .collect();
    for host in ["late.example.org", "later.example.org"] {
        assert!(hosts.contains(&host.to_owned()), "{host}: {hosts:?}");
    }
}
