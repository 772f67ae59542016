//! The zero-downtime migration: old-layer processes keep writing to the same Redis, every
//! process sees one truth, records keep the shapes both layers read, and the defaults come
//! back when Redis loses its data.

use std::time::Duration;

use super::{connect, maybe, maybe_test, pause, storage, Storage};
use crate::harness::{self, LegacyWriter, RedisServer};
use redis::Commands;
use serde_json::Value;
use storage::{
    AuthConfig, Certificate, Error, MigrationPhase, ProxyTarget, Route, StorageConfig, Timestamp,
};
use test_harness::legacy::{self, Family};

fn legacy_writer(storage: &Storage) -> LegacyWriter {
    LegacyWriter::new(harness::raw(storage.config()), storage.keys().prefix())
}

fn in_days(days: i64) -> String {
    Timestamp::from_utc(Timestamp::now().instant() + chrono::Duration::days(days))
        .as_str()
        .to_owned()
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).expect("JSON")
}

fn stored(storage: &Storage, key: &str) -> String {
    harness::raw(storage.config()).get(key).expect("GET")
}

#[maybe]
async fn hostnames(storage: &Storage) -> Vec<String> {
    let listing = storage.list_proxy_targets().await.unwrap();
    listing
        .records
        .into_iter()
        .map(|p| p.proxy_hostname)
        .collect()
}

#[maybe]
async fn route_ids(storage: &Storage) -> Vec<String> {
    let listing = storage.list_all_routes().await.unwrap();
    listing.records.into_iter().map(|r| r.route_id).collect()
}

#[maybe]
#[maybe_test]
async fn a_legacy_write_at_any_point_shows_in_the_next_listing_of_the_mixed_phase() {
    let storage = storage("mig-interleave").await;
    let mut old = legacy_writer(&storage);
    let status = storage.migration_status().await.unwrap();
    assert_eq!(status.phase, MigrationPhase::Mixed, "mixed until finished");

    // New, old, new, old: each listing right after sees every write so far.
    storage
        .store_proxy_target(ProxyTarget::new("new-1.example", "http://b:1"))
        .await
        .unwrap();
    old.proxy("old-1.example", "http://b:2", |_| {});
    let hosts = hostnames(&storage).await;
    assert!(hosts.contains(&"old-1.example".to_owned()));
    storage
        .store_route(Route::to_url("new-route", "/new", 40, "http://b:1"))
        .await
        .unwrap();
    old.route("old-route", "/old", 41, "http://b:2");
    let ids = route_ids(&storage).await;
    assert!(ids.contains(&"old-route".to_owned()) && ids.contains(&"new-route".to_owned()));
    old.certificate(
        "old-cert",
        &["old.example"],
        Some((&in_days(-80), &in_days(5))),
    );
    old.certificate("old-pending", &["pending.example"], None);
    old.auth_config("old-auth", "/admin/*", 70);

    // A long-lived storage and a fresh one agree.
    let fresh = connect(storage.config().clone()).await;
    for storage in [&storage, &fresh] {
        let hosts = hostnames(storage).await;
        for host in ["localhost", "new-1.example", "old-1.example"] {
            assert!(
                hosts.contains(&host.to_owned()),
                "{host} missing: {hosts:?}"
            );
        }
        let certs = storage.list_certificates().await.unwrap();
        let names: Vec<_> = certs.records.iter().map(|c| c.cert_name.as_str()).collect();
        assert_eq!(names, ["old-cert", "old-pending"]);
        let due = storage
            .get_expiring_certificates(Duration::from_secs(30 * 86_400))
            .await
            .unwrap();
        let due: Vec<_> = due.records.iter().map(|c| c.cert_name.as_str()).collect();
        assert_eq!(
            due,
            ["old-cert"],
            "the legacy certificate is due; the pending one is not"
        );
        let auth = storage.list_auth_configs().await.unwrap();
        assert_eq!(auth.records[0].id, "old-auth");
    }

    // A legacy delete of a record the new layer indexed: the dangling entry is ignored.
    old.delete_proxy("new-1.example");
    let hosts = hostnames(&storage).await;
    assert!(!hosts.contains(&"new-1.example".to_owned()));
    let status = storage.migration_status().await.unwrap();
    assert_eq!(status.dangling.proxies, 1);
    assert!(status.unindexed.proxies >= 1, "{status:?}");
    assert!(status.unindexed.routes >= 1 && status.unindexed.certificates == 2);
}

#[maybe]
#[maybe_test]
async fn finishing_reindexes_and_then_listings_read_the_indexes_alone() {
    let server = RedisServer::start();
    let storage = connect(StorageConfig::new(&server.url()).unwrap()).await;
    let mut old = legacy_writer(&storage);
    old.proxy("before.example", "http://b:1", |_| {});
    old.route("before", "/before", 30, "http://b:1");
    old.certificate(
        "before-cert",
        &["before.example"],
        Some((&in_days(-10), &in_days(3))),
    );

    let status = storage.finish_migration().await.unwrap();
    assert_eq!(status.phase, MigrationPhase::Finished);
    assert_eq!(status.unindexed.total(), 0, "{status:?}");
    let hosts = hostnames(&storage).await;
    assert!(hosts.contains(&"before.example".to_owned()));
    let score: Option<f64> = server
        .raw()
        .zscore("index:cert-expiry", "before-cert")
        .unwrap();
    assert!(
        score.is_some(),
        "finishing indexed the certificate's expiry"
    );

    // One script call per listing now, and no scan, however large the keyspace.
    let mut raw = server.raw();
    let (scans, scripts) = (
        harness::calls_of(&mut raw, "scan"),
        harness::calls_of(&mut raw, "evalsha"),
    );
    let routes = storage.list_routes().await.unwrap();
    assert!(routes.records.iter().any(|r| r.route_id == "before"));
    assert_eq!(harness::calls_of(&mut raw, "scan"), scans);
    assert_eq!(harness::calls_of(&mut raw, "evalsha"), scripts + 1);

    // A writer that was not stopped is not seen until the next re-index: the documented
    // price of finishing too early.
    old.proxy("late.example", "http://b:1", |_| {});
    let hosts = hostnames(&storage).await;
    assert!(!hosts.contains(&"late.example".to_owned()));
    storage.reindex().await.unwrap();
    let hosts = hostnames(&storage).await;
    assert!(hosts.contains(&"late.example".to_owned()));
    let again = storage.finish_migration().await.unwrap();
    assert_eq!(
        again.phase,
        MigrationPhase::Finished,
        "finishing is idempotent"
    );
}

#[maybe]
#[maybe_test]
async fn a_certificate_the_legacy_layer_renewed_is_no_longer_due_and_its_entry_is_repaired() {
    let storage = storage("mig-renew").await;
    let mut cert = Certificate::new("renewed", ["renewed.example"], "ops@example.org");
    cert.expires_at = Timestamp::parse(&in_days(2));
    storage.store_certificate(cert).await.unwrap();
    let within = Duration::from_secs(30 * 86_400);
    let due = storage.get_expiring_certificates(within).await.unwrap();
    assert_eq!(due.records.len(), 1);

    // Renewed by the old layer while the migration is mixed.
    legacy_writer(&storage).certificate(
        "renewed",
        &["renewed.example"],
        Some((&in_days(0), &in_days(90))),
    );
    assert_renewal_seen(&storage, "renewed", within).await;

    // Once finished, the index picks the candidates, and each is still checked against its
    // record: one stored due, then renewed behind the index's back.
    storage.finish_migration().await.unwrap();
    let mut cert = Certificate::new("renewed-later", ["later.example"], "ops@example.org");
    cert.expires_at = Timestamp::parse(&in_days(2));
    storage.store_certificate(cert).await.unwrap();
    legacy_writer(&storage).certificate(
        "renewed-later",
        &["later.example"],
        Some((&in_days(0), &in_days(91))),
    );
    assert_renewal_seen(&storage, "renewed-later", within).await;
}

#[maybe]
async fn assert_renewal_seen(storage: &Storage, name: &str, within: Duration) {
    let due = storage.get_expiring_certificates(within).await.unwrap();
    assert!(due.records.is_empty(), "renewed, so not due: {due:?}");
    let key = storage.keys().cert_expiry();
    let score: f64 = harness::raw(storage.config()).zscore(&key, name).unwrap();
    let own = storage.get_certificate(name).await.unwrap().unwrap();
    let own = own.expires_at.unwrap().instant().timestamp() as f64;
    assert_eq!(score, own, "the index entry follows the record");
}

#[maybe]
#[maybe_test]
async fn deleting_a_certificate_clears_it_from_legacy_proxies_too() {
    let storage = storage("mig-cascade").await;
    let mut cert = Certificate::new("shared-cert", ["a.example"], "ops@example.org");
    cert.status = "active".into();
    storage.store_certificate(cert).await.unwrap();
    let mut old = legacy_writer(&storage);
    old.proxy("legacy.example", "http://b:1", |record| {
        record.insert("cert_name".into(), Value::from("shared-cert"));
    });
    // Mentions the name below the top level only: not a reference.
    old.proxy("nested.example", "http://b:1", |record| {
        record.insert(
            "resource_custom_metadata".into(),
            serde_json::json!({"cert_name": "shared-cert"}),
        );
    });
    let nested_before = stored(&storage, &storage.keys().proxy("nested.example"));

    let deleted = storage.delete_certificate("shared-cert").await.unwrap();
    assert!(deleted);
    let legacy = storage
        .get_proxy_target("legacy.example")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(legacy.cert_name, None);
    let rewritten = stored(&storage, &storage.keys().proxy("legacy.example"));
    legacy::check_readable(Family::Proxy, &rewritten).unwrap();
    assert_eq!(
        stored(&storage, &storage.keys().proxy("nested.example")),
        nested_before,
        "a proxy that does not refer to it is untouched"
    );
}

#[maybe]
#[maybe_test]
async fn pending_certificates_and_auth_configs_keyed_by_id_read_and_survive_updates() {
    let config = harness::unprefixed_config();
    let mut raw = harness::raw(&config);
    for record in harness::fixtures::group("later-writes") {
        record.store(&mut raw, "");
    }
    let storage = connect(config).await;

    let pending = storage
        .get_certificate("pending-cert")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pending.status, "pending");
    assert!(pending.fullchain_pem.is_none() && pending.private_key_pem.is_none());
    assert!(pending.expires_at.is_none() && pending.issued_at.is_none());
    let by_domain = storage
        .get_certificate_by_domain("new.example.org")
        .await
        .unwrap();
    assert_eq!(by_domain.as_ref(), Some(&pending));
    let listed = storage.list_certificates().await.unwrap();
    assert!(listed.corrupt.is_empty(), "{:?}", listed.corrupt);
    // Stored back unchanged, it is the same JSON; then issued over it.
    storage.store_certificate(pending.clone()).await.unwrap();
    let before = json(harness::fixture("cert:pending-cert").text());
    assert_eq!(json(&stored(&storage, "cert:pending-cert")), before);
    let mut issued = pending;
    issued.status = "active".into();
    issued.expires_at = Timestamp::parse(&in_days(90));
    storage.store_certificate(issued).await.unwrap();
    legacy::check_readable(Family::Certificate, &stored(&storage, "cert:pending-cert")).unwrap();

    let auth = storage
        .get_auth_config("admin-area")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(auth.id, "admin-area");
    assert_eq!(auth.priority, 80);
    let listed = storage.list_auth_configs().await.unwrap();
    assert_eq!(listed.records, vec![auth]);
    storage
        .update_auth_config("admin-area", |config| config.priority = 81)
        .await
        .unwrap();
    let after = json(&stored(&storage, "auth:config:pattern:admin-area"));
    let before = json(harness::fixture("auth:config:pattern:admin-area").text());
    for (field, value) in before.as_object().unwrap() {
        let expected = if field == "priority" {
            &Value::from(81)
        } else {
            value
        };
        assert_eq!(&after[field], expected, "field `{field}`");
    }
    assert!(after.get("id").is_none(), "the id stays in the key only");
}

#[maybe]
#[maybe_test]
async fn every_family_round_trips_through_the_legacy_shapes() {
    let storage = storage("mig-roundtrip").await;
    let keys = storage.keys().clone();
    let mut old = legacy_writer(&storage);
    let proxy = old.proxy("rt.example", "http://b:1", |_| {});
    let route = old.route("rt-route", "/rt", 20, "http://b:1");
    let cert = old.certificate("rt-cert", &["rt.example"], None);
    let auth = old.auth_config("rt-auth", "/rt/*", 60);

    // Read, then written back through an update or a store that changes nothing: the same
    // record, absent fields still absent and nulls still null.
    storage
        .update_proxy_target("rt.example", |_| {})
        .await
        .unwrap();
    assert_eq!(
        json(&stored(&storage, &keys.proxy("rt.example"))),
        json(&proxy)
    );
    let read = storage.get_route("rt-route").await.unwrap().unwrap();
    storage.store_route(read).await.unwrap();
    assert_eq!(
        json(&stored(&storage, &keys.route("rt-route"))),
        json(&route)
    );
    let read = storage.get_certificate("rt-cert").await.unwrap().unwrap();
    storage.store_certificate(read).await.unwrap();
    assert_eq!(json(&stored(&storage, &keys.cert("rt-cert"))), json(&cert));
    storage.update_auth_config("rt-auth", |_| {}).await.unwrap();
    assert_eq!(
        json(&stored(&storage, &keys.auth_config("rt-auth"))),
        json(&auth)
    );
}

#[maybe]
#[maybe_test]
async fn records_the_new_layer_writes_are_readable_by_the_legacy_layer() {
    let storage = storage("mig-writes").await;
    let keys = storage.keys().clone();
    // Built without a creation time, as `Default` and struct literals do.
    let proxy = ProxyTarget {
        proxy_hostname: "bare.example".into(),
        target_url: "http://b:1".into(),
        ..ProxyTarget::default()
    };
    assert!(proxy.created_at.is_none());
    let written = storage.store_proxy_target(proxy).await.unwrap();
    assert!(written.created_at.is_some(), "the stored record says when");
    legacy::check_readable(
        Family::Proxy,
        &stored(&storage, &keys.proxy("bare.example")),
    )
    .unwrap();
    let mut route = Route::to_url("bare-route", "/bare", 10, "http://b:1");
    route.created_at = None;
    storage.store_route(route).await.unwrap();
    legacy::check_readable(Family::Route, &stored(&storage, &keys.route("bare-route"))).unwrap();
    let cert = Certificate::new("bare-cert", ["bare.example"], "ops@example.org");
    storage.store_certificate(cert).await.unwrap();
    legacy::check_readable(
        Family::Certificate,
        &stored(&storage, &keys.cert("bare-cert")),
    )
    .unwrap();
    let mut auth = AuthConfig::new("bare-auth", "/bare/*");
    auth.created_at = None;
    storage.store_auth_config(auth).await.unwrap();
    let auth = json(&stored(&storage, &keys.auth_config("bare-auth")));
    assert!(
        auth.get("id").is_none(),
        "the id stays in the key, as the old layer keeps it"
    );

    // And every default record initialization wrote.
    let defaults = storage.list_all_routes().await.unwrap();
    for route in defaults.records {
        let text = stored(&storage, &keys.route(&route.route_id));
        legacy::check_readable(Family::Route, &text).unwrap();
    }
    let localhost = stored(&storage, &keys.proxy("localhost"));
    legacy::check_readable(Family::Proxy, &localhost).unwrap();
}

#[maybe]
#[maybe_test]
async fn a_record_under_another_records_key_is_corrupt() {
    let storage = storage("mig-misplaced").await;
    legacy_writer(&storage).proxy("a.example", "http://b:1", |_| {});
    let moved = stored(&storage, &storage.keys().proxy("a.example"));
    let _: () = harness::raw(storage.config())
        .set(storage.keys().proxy("b.example"), moved)
        .unwrap();
    match storage.get_proxy_target("b.example").await {
        Err(Error::Corrupt { key, reason }) => {
            assert_eq!(key, storage.keys().proxy("b.example"));
            assert!(reason.contains("proxy_hostname"), "{reason}");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[maybe]
#[maybe_test]
async fn defaults_come_back_when_redis_restarts_empty_under_a_long_lived_storage() {
    let mut server = RedisServer::start();
    // A check interval far longer than the test: only the reconnection can bring them back.
    let config = StorageConfig::new(&server.url())
        .unwrap()
        .with_defaults_check_interval(Duration::from_secs(3600));
    let storage = connect(config).await;
    storage
        .store_proxy_target(ProxyTarget::new("mine.example", "http://b:1"))
        .await
        .unwrap();
    for _ in 0..2 {
        server.restart();
        let localhost = storage.get_proxy_target("localhost").await.unwrap();
        let localhost = localhost.expect("the first read after the restart sees localhost");
        assert!(localhost.is_auth_excluded("/token"));
        let routes = storage.list_routes().await.unwrap();
        assert!(routes.records.iter().any(|r| r.route_id == "token"));
        let status = storage.migration_status().await.unwrap();
        assert_eq!(
            status.phase,
            MigrationPhase::Mixed,
            "a store that lost its data starts mixed again"
        );
    }
}

#[maybe]
#[maybe_test]
async fn defaults_come_back_after_a_flush_without_a_reconnect() {
    let server = RedisServer::start();
    let interval = Duration::from_millis(200);
    let config = StorageConfig::new(&server.url())
        .unwrap()
        .with_defaults_check_interval(interval);
    let storage = connect(config).await;
    let _: () = redis::cmd("FLUSHALL").query(&mut server.raw()).unwrap();
    pause(interval + Duration::from_millis(100)).await;
    let localhost = storage.get_proxy_target("localhost").await.unwrap();
    assert!(
        localhost.is_some_and(|p| p.is_auth_excluded("/token")),
        "seeded again within the check interval"
    );
}
