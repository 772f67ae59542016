//! Proxy target operations, good input and bad.

use super::{maybe, maybe_test, pause, storage, Storage};
use crate::harness;
use redis::Commands;
use storage::{Error, ProxyTarget, Secret};

fn example(hostname: &str) -> ProxyTarget {
    let mut proxy = ProxyTarget::new(hostname, "http://backend:8080");
    proxy.auth_excluded_paths = Some(vec!["/public/".into()]);
    proxy.github_client_secret = Some(Secret::new("gh-secret"));
    proxy
}

#[maybe]
#[maybe_test]
async fn store_get_and_delete() {
    let storage = storage("proxy-crud").await;
    let stored = storage
        .store_proxy_target(example("  API.Example.com "))
        .await
        .unwrap();
    assert_eq!(stored.proxy_hostname, "api.example.com");

    let fetched = storage.get_proxy_target("Api.Example.Com").await.unwrap();
    assert_eq!(fetched, Some(stored.clone()));
    let missing = storage.get_proxy_target("nowhere.example").await.unwrap();
    assert_eq!(missing, None);

    let removed = storage
        .delete_proxy_target("api.example.com")
        .await
        .unwrap();
    assert!(removed);
    let removed_again = storage
        .delete_proxy_target("api.example.com")
        .await
        .unwrap();
    assert!(!removed_again);
    let gone = storage.get_proxy_target("api.example.com").await.unwrap();
    assert_eq!(gone, None);
}

#[maybe]
#[maybe_test]
async fn list_includes_seeded_localhost_and_is_sorted() {
    let storage = storage("proxy-list").await;
    for host in ["b.example", "a.example", "c.example"] {
        storage.store_proxy_target(example(host)).await.unwrap();
    }
    storage.delete_proxy_target("c.example").await.unwrap();
    let listing = storage.list_proxy_targets().await.unwrap();
    let hosts: Vec<_> = listing
        .records
        .iter()
        .map(|p| p.proxy_hostname.as_str())
        .collect();
    assert_eq!(hosts, ["a.example", "b.example", "localhost"]);
    assert!(listing.corrupt.is_empty());
}

#[maybe]
#[maybe_test]
async fn resource_metadata_filter() {
    let storage = storage("proxy-resource").await;
    storage
        .store_proxy_target(example("plain.example"))
        .await
        .unwrap();
    let mut with = example("mcp.example");
    with.resource_endpoint = Some("/mcp".into());
    storage.store_proxy_target(with).await.unwrap();
    let listing = storage
        .get_proxy_targets_with_resource_metadata()
        .await
        .unwrap();
    let hosts: Vec<_> = listing
        .records
        .iter()
        .map(|p| p.proxy_hostname.as_str())
        .collect();
    assert_eq!(hosts, ["localhost", "mcp.example"]);
}

#[maybe]
#[maybe_test]
async fn update_changes_only_what_the_edit_touches() {
    let storage = storage("proxy-update").await;
    storage
        .store_proxy_target(example("u.example"))
        .await
        .unwrap();
    let updated = storage
        .update_proxy_target("u.example", |p| p.auth_enabled = true)
        .await
        .unwrap();
    assert!(updated.auth_enabled);
    let fetched = storage
        .get_proxy_target("u.example")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(fetched, updated);
    assert_eq!(
        fetched.auth_excluded_paths,
        Some(vec!["/public/".to_owned()])
    );
    assert_eq!(fetched.github_client_secret, Some(Secret::new("gh-secret")));
}

#[maybe]
#[maybe_test]
async fn update_errors_are_typed_and_write_nothing() {
    let storage = storage("proxy-update-errors").await;
    let missing = storage
        .update_proxy_target("none.example", |p| p.enabled = false)
        .await;
    match missing {
        Err(Error::NotFound { key }) => assert!(key.ends_with("proxy:none.example"), "{key}"),
        other => panic!("expected NotFound, got {other:?}"),
    }

    let stored = storage
        .store_proxy_target(example("v.example"))
        .await
        .unwrap();
    let renamed = storage
        .update_proxy_target("v.example", |p| p.proxy_hostname = "w.example".into())
        .await;
    assert!(
        matches!(
            renamed,
            Err(Error::Invalid {
                field: "proxy_hostname",
                ..
            })
        ),
        "{renamed:?}"
    );
    let bad_url = storage
        .update_proxy_target("v.example", |p| p.target_url = "ftp://x".into())
        .await;
    assert!(
        matches!(
            bad_url,
            Err(Error::Invalid {
                field: "target_url",
                ..
            })
        ),
        "{bad_url:?}"
    );
    let after = storage.get_proxy_target("v.example").await.unwrap();
    assert_eq!(after, Some(stored));
}

#[maybe]
#[maybe_test]
async fn invalid_input_names_the_field_and_keeps_what_is_stored() {
    let storage = storage("proxy-invalid").await;
    let original = storage
        .store_proxy_target(example("keep.example"))
        .await
        .unwrap();

    let cases = [
        (ProxyTarget::new("keep.example", "not a url"), "target_url"),
        (
            ProxyTarget::new("keep .example", "http://x"),
            "proxy_hostname",
        ),
        (ProxyTarget::new("", "http://x"), "proxy_hostname"),
        (ProxyTarget::new("*.example", "http://x"), "proxy_hostname"),
        (
            ProxyTarget::new("keep.example:443", "http://x"),
            "proxy_hostname",
        ),
    ];
    for (proxy, expected_field) in cases {
        let result = storage.store_proxy_target(proxy).await;
        match result {
            Err(Error::Invalid { field, .. }) => assert_eq!(field, expected_field),
            other => panic!("expected Invalid({expected_field}), got {other:?}"),
        }
    }
    let mut bad_path = example("keep.example");
    bad_path.auth_excluded_paths = Some(vec!["token".into()]);
    let result = storage.store_proxy_target(bad_path).await;
    assert!(
        matches!(
            result,
            Err(Error::Invalid {
                field: "auth_excluded_paths",
                ..
            })
        ),
        "{result:?}"
    );
    let lookup = storage.get_proxy_target("a b").await;
    assert!(
        matches!(
            lookup,
            Err(Error::Invalid {
                field: "proxy_hostname",
                ..
            })
        ),
        "{lookup:?}"
    );

    let after = storage.get_proxy_target("keep.example").await.unwrap();
    assert_eq!(after, Some(original));
}

#[maybe]
#[maybe_test]
async fn corrupt_record_is_reported_by_key_and_left_alone() {
    let storage = storage("proxy-corrupt").await;
    let key = storage.keys().proxy("bad.example");
    let index = storage.keys().proxy_index();
    let mut raw = harness::raw(storage.config());
    let garbage = "{\"proxy_hostname\":\"bad.example\",\"target_url\":";
    let _: () = raw.set(&key, garbage).unwrap();
    let _: () = raw.sadd(&index, "bad.example").unwrap();

    let got = storage.get_proxy_target("bad.example").await;
    match got {
        Err(Error::Corrupt { key: named, .. }) => assert_eq!(named, key),
        other => panic!("expected Corrupt, got {other:?}"),
    }
    let listing = storage.list_proxy_targets().await.unwrap();
    assert_eq!(listing.corrupt.len(), 1);
    assert_eq!(listing.corrupt[0].key, key);
    assert!(listing
        .records
        .iter()
        .any(|p| p.proxy_hostname == "localhost"));
    let strict = listing.into_strict();
    assert!(matches!(strict, Err(Error::Corrupt { .. })), "{strict:?}");

    let update = storage
        .update_proxy_target("bad.example", |p| p.enabled = false)
        .await;
    assert!(matches!(update, Err(Error::Corrupt { .. })), "{update:?}");
    let still: String = raw.get(&key).unwrap();
    assert_eq!(
        still, garbage,
        "a corrupt record is never rewritten as a side effect"
    );
}

/// What OAuth needs of `localhost`: every required path excluded.
fn assert_required_paths(proxy: &ProxyTarget, what: &str) {
    for required in storage::DEFAULT_PROXIES[0].auth_excluded_paths {
        assert!(proxy.is_auth_excluded(required), "{what}: {required}");
        let listed = proxy.auth_excluded_paths.iter().flatten();
        assert!(
            listed.clone().any(|path| path == required),
            "{what}: {required} not in {:?}",
            proxy.auth_excluded_paths
        );
    }
}

/// The record at `localhost`'s key, as stored.
fn stored_localhost(storage: &Storage) -> ProxyTarget {
    let mut raw = harness::raw(storage.config());
    let json: String = raw.get(storage.keys().proxy("localhost")).unwrap();
    serde_json::from_str(&json).unwrap()
}

#[maybe]
#[maybe_test]
async fn every_write_of_localhost_keeps_the_required_paths_and_the_operators_own() {
    let storage = storage("proxy-localhost-writes").await;
    let mut replacement = ProxyTarget::new("localhost", "http://x:1");
    replacement.auth_excluded_paths = Some(vec!["/operator".into()]);
    replacement.auth_enabled = true;
    let stored = storage.store_proxy_target(replacement).await.unwrap();
    assert_required_paths(&stored, "store's answer");
    let kept = stored_localhost(&storage);
    assert_required_paths(&kept, "stored by store");
    assert_eq!(kept.target_url, "http://x:1");
    assert!(kept.auth_enabled);
    assert_eq!(kept.auth_excluded_paths.unwrap()[0], "/operator");

    let updated = storage
        .update_proxy_target("localhost", |p| p.auth_excluded_paths = None)
        .await
        .unwrap();
    assert_required_paths(&updated, "update's answer");
    assert_required_paths(&stored_localhost(&storage), "stored by update");

    let fqdn = storage
        .store_proxy_target(ProxyTarget::new("LOCALHOST.", "http://y:1"))
        .await
        .unwrap();
    assert_eq!(fqdn.proxy_hostname, "localhost", "stored without the dot");
    assert_required_paths(&stored_localhost(&storage), "stored as an FQDN");
}

#[maybe]
#[maybe_test]
async fn deleting_localhost_is_refused_and_leaves_it_in_place() {
    let storage = storage("proxy-localhost-delete").await;
    let before = harness::dump_key_space(storage.config());
    for name in ["localhost", "LocalHost."] {
        match storage.delete_proxy_target(name).await {
            Err(Error::Required { key }) => assert_eq!(key, storage.keys().proxy("localhost")),
            other => panic!("{name}: expected Required, got {other:?}"),
        }
    }
    let after = harness::dump_key_space(storage.config());
    assert!(harness::changed_keys(&before, &after).is_empty());
}

#[maybe]
#[maybe_test]
async fn an_old_layer_write_of_localhost_reads_with_the_required_paths_until_repaired() {
    let interval = std::time::Duration::from_millis(200);
    let config = harness::config("proxy-localhost-legacy").with_defaults_check_interval(interval);
    let storage = super::connect(config.clone()).await;
    harness::store_legacy_localhost(&config, &["/operator"]);
    let mut raw = harness::raw(&config);
    let legacy: String = raw.get(storage.keys().proxy("localhost")).unwrap();
    assert!(
        !legacy.contains("/token"),
        "the old layer's record lacks them"
    );

    let got = storage
        .get_proxy_target("localhost")
        .await
        .unwrap()
        .unwrap();
    assert_required_paths(&got, "get");
    let dotted = storage
        .get_proxy_target("localhost.")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(dotted, got, "an FQDN names the same proxy");
    let listing = storage.list_proxy_targets().await.unwrap();
    let listed = listing
        .records
        .iter()
        .find(|p| p.proxy_hostname == "localhost")
        .unwrap();
    assert_required_paths(listed, "list");
    assert_eq!(listed.auth_excluded_paths.as_ref().unwrap()[0], "/operator");

    // The stored record itself is repaired at the next defaults check.
    pause(interval * 2).await;
    storage.get_proxy_target("localhost").await.unwrap();
    let repaired = stored_localhost(&storage);
    assert_required_paths(&repaired, "repaired in Redis");
    assert_eq!(repaired.auth_excluded_paths.unwrap()[0], "/operator");
}
