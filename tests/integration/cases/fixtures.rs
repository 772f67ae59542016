//! The existing deployment's records: read, repaired, and written back readable.

use super::{connect, maybe, maybe_test};
use crate::harness;
use redis::Commands;
use serde_json::Value;
use storage::{AuthMode, Error, RouteScope, TargetValue, DEFAULT_PROXIES};

fn required_paths() -> &'static [&'static str] {
    DEFAULT_PROXIES[0].auth_excluded_paths
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).expect("JSON")
}

#[maybe]
#[maybe_test]
async fn every_legacy_record_reads_and_the_broken_one_is_named() {
    let config = harness::unprefixed_config();
    harness::load_fixtures(&mut harness::raw(&config), "");
    let storage = connect(config).await;

    let api = storage
        .get_proxy_target("api.example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(api.auth_mode, AuthMode::Redirect);
    assert_eq!(
        api.auth_required_users,
        Some(vec!["alice".into(), "bob".into()])
    );
    assert_eq!(
        api.updated_at.as_ref().map(|t| t.as_str()),
        Some("2025-08-22T10:00:00.5Z")
    );
    assert_eq!(api.config_version, Some(3));
    assert!(
        !format!("{api:?}").contains("s3cr3t"),
        "Debug shows no secret"
    );

    let token = storage.get_route("token").await.unwrap().unwrap();
    assert_eq!(token.priority, 95);
    let metrics = storage.get_route("metrics").await.unwrap().unwrap();
    assert_eq!(
        metrics.scope,
        RouteScope::Global,
        "no scope reads as global"
    );
    assert!(metrics.proxy_hostnames.is_empty());
    assert_eq!(metrics.target_value, TargetValue::Port(9090));
    assert_eq!(metrics.methods, Some(vec!["GET".to_owned()]));
    let admin = storage.get_route("admin-api").await.unwrap().unwrap();
    assert_eq!(admin.scope, RouteScope::Proxy);
    assert!(admin.is_regex && !admin.enabled);

    let broken = storage.get_proxy_target("broken.example.com").await;
    match broken {
        Err(Error::Corrupt { key, .. }) => assert_eq!(key, "proxy:broken.example.com"),
        other => panic!("expected Corrupt, got {other:?}"),
    }

    // Listings find the legacy records (indexed once at initialization) and name the broken one.
    let proxies = storage.list_proxy_targets().await.unwrap();
    let hosts: Vec<_> = proxies
        .records
        .iter()
        .map(|p| p.proxy_hostname.as_str())
        .collect();
    assert_eq!(hosts, ["api.example.com", "localhost"]);
    assert_eq!(proxies.corrupt.len(), 1);
    assert_eq!(proxies.corrupt[0].key, "proxy:broken.example.com");
    let routes = storage.list_all_routes().await.unwrap();
    let ids: Vec<_> = routes.records.iter().map(|r| r.route_id.as_str()).collect();
    assert_eq!(ids[0], "metrics", "priority 150 sorts first: {ids:?}");
    assert!(ids.contains(&"admin-api") && ids.contains(&"token"));
    let enabled = storage.list_routes().await.unwrap();
    assert!(enabled.records.iter().all(|r| r.route_id != "admin-api"));

    // Nothing the storage did touched the records it did not own, or the broken one.
    let mut raw = harness::raw(storage.config());
    for key in [
        "proxy:broken.example.com",
        "proxy:api.example.com",
        "route:metrics",
    ] {
        let stored: String = raw.get(key).unwrap();
        assert_eq!(stored, harness::fixture(key).text(), "{key} changed");
    }
    for key in [
        "route:priority:0005:token",
        "route:unique:L3Rva2Vu:95",
        "cert:example-cert",
    ] {
        let stored: String = raw.get(key).unwrap();
        assert_eq!(stored, harness::fixture(key).text(), "{key} changed");
    }
}

#[maybe]
#[maybe_test]
async fn localhost_is_repaired_keeping_the_operators_changes() {
    let config = harness::unprefixed_config();
    let mut raw = harness::raw(&config);
    harness::load_fixtures(&mut raw, "");
    // An operator had added a path of their own and pointed localhost elsewhere.
    harness::store_legacy_localhost(&config, &["/operator-extra", "/token"]);
    let mut localhost = json(&raw.get::<_, String>("proxy:localhost").unwrap());
    localhost["target_url"] = Value::from("http://127.0.0.1:9100");
    let _: () = raw.set("proxy:localhost", localhost.to_string()).unwrap();

    let storage = connect(config).await;
    let repaired = storage
        .get_proxy_target("localhost")
        .await
        .unwrap()
        .unwrap();
    let paths = repaired.auth_excluded_paths.clone().unwrap();
    assert_eq!(paths[0], "/operator-extra");
    for required in required_paths() {
        assert_eq!(
            paths.iter().filter(|p| p == required).count(),
            1,
            "{required}"
        );
    }
    assert_eq!(paths.len(), required_paths().len() + 1);
    assert!(repaired.is_auth_excluded("/token"));
    assert!(repaired.is_auth_excluded("/authorize"));
    assert!(repaired.is_auth_excluded("/device/code"));
    assert!(!repaired.is_auth_excluded("/tokens"));
    assert_eq!(repaired.target_url, "http://127.0.0.1:9100");
    assert_eq!(repaired.resource_endpoint.as_deref(), Some("/"));

    let stored = json(&raw.get::<_, String>("proxy:localhost").unwrap());
    let original = json(harness::fixture("proxy:localhost").text());
    assert_eq!(
        stored["created_at"], original["created_at"],
        "timestamp text kept"
    );
    assert_eq!(stored["cert_name"], original["cert_name"]);
}

#[maybe]
#[maybe_test]
async fn round_trip_keeps_every_field_including_unknown_ones() {
    let config = harness::unprefixed_config();
    let mut raw = harness::raw(&config);
    harness::load_fixtures(&mut raw, "");
    let mut record = json(harness::fixture("proxy:api.example.com").text());
    record["future_field"] = json(r#"{"nested": [1, 2, 3]}"#);
    let _: () = raw
        .set("proxy:api.example.com", record.to_string())
        .unwrap();
    let mut route = json(harness::fixture("route:admin-api").text());
    route["route_future"] = Value::from("kept");
    let _: () = raw.set("route:admin-api", route.to_string()).unwrap();

    let storage = connect(config).await;
    storage
        .update_proxy_target("api.example.com", |p| p.enabled = false)
        .await
        .unwrap();
    let after = json(&raw.get::<_, String>("proxy:api.example.com").unwrap());
    for (field, value) in record.as_object().unwrap() {
        let expected = if field == "enabled" {
            &Value::Bool(false)
        } else {
            value
        };
        assert_eq!(&after[field], expected, "field `{field}`");
    }

    let admin = storage.get_route("admin-api").await.unwrap().unwrap();
    storage.store_route(admin).await.unwrap();
    let route_after = json(&raw.get::<_, String>("route:admin-api").unwrap());
    for (field, value) in route.as_object().unwrap() {
        assert_eq!(&route_after[field], value, "route field `{field}`");
    }
    let legacy_index: String = raw.get("route:priority:0040:admin-api").unwrap();
    assert_eq!(legacy_index, "admin-api");
}

#[maybe]
#[maybe_test]
async fn legacy_certificate_challenge_and_account_key_read_back_unchanged() {
    let config = harness::unprefixed_config();
    let mut raw = harness::raw(&config);
    harness::load_fixtures(&mut raw, "");
    let storage = connect(config).await;

    let cert = storage
        .get_certificate("example-cert")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cert.domains, ["example.com", "www.example.com"]);
    assert_eq!(cert.status, "active");
    assert!(cert
        .private_key_pem
        .as_ref()
        .unwrap()
        .expose()
        .contains("MIIEfake"));
    assert!(
        !format!("{cert:?}").contains("MIIEfake"),
        "Debug shows no PEM"
    );
    let by_domain = storage
        .get_certificate_by_domain("www.example.com")
        .await
        .unwrap();
    assert_eq!(by_domain.as_ref(), Some(&cert));
    // Indexed at first contact: listed, and in the expiry index (it expired in 2025).
    let listing = storage.list_certificates().await.unwrap();
    assert_eq!(listing.records, std::slice::from_ref(&cert));
    let expiring = storage
        .get_expiring_certificates(std::time::Duration::from_secs(86_400))
        .await
        .unwrap();
    assert_eq!(expiring.records, std::slice::from_ref(&cert));

    let challenge = storage.get_challenge("Jx7aQ").await.unwrap().unwrap();
    assert_eq!(challenge.authorization, "Jx7aQ.thumbprint");
    assert_eq!(
        challenge.expires_at.as_str(),
        "2025-08-20T10:15:02.118734+00:00"
    );
    let account = storage
        .get_account_key("acme-v02_api_letsencrypt_org", "admin@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        account.expose(),
        harness::fixture("account:acme-v02_api_letsencrypt_org:admin@example.com").text()
    );

    // Re-storing the certificate unchanged writes JSON the old readers read the same.
    storage.store_certificate(cert).await.unwrap();
    let after = json(&raw.get::<_, String>("cert:example-cert").unwrap());
    let before = json(harness::fixture("cert:example-cert").text());
    assert_eq!(after, before);
    for key in ["cert:domain:example.com", "cert:domain:www.example.com"] {
        let owner: String = raw.get(key).unwrap();
        assert_eq!(owner, "example-cert");
    }
}
