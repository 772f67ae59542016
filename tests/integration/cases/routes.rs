//! Route operations, their legacy index keys, and bad input.

use super::{maybe, maybe_test, storage};
use crate::harness;
use redis::Commands;
use storage::{Error, Route, RouteScope, TargetType, TargetValue, DEFAULT_ROUTES};

fn port_route(id: &str, path: &str, priority: u16) -> Route {
    Route {
        target_type: TargetType::Port,
        target_value: TargetValue::Port(9090),
        ..Route::to_url(id, path, priority, "http://unused")
    }
}

#[maybe]
#[maybe_test]
async fn store_writes_the_legacy_keys_and_get_reads_back() {
    let storage = storage("route-crud").await;
    let mut route = port_route("metrics", "/metrics", 150);
    route.methods = Some(vec!["get".into()]);
    let stored = storage.store_route(route).await.unwrap();
    assert_eq!(stored.methods, Some(vec!["GET".to_owned()]));
    let fetched = storage.get_route("metrics").await.unwrap();
    assert_eq!(fetched, Some(stored));

    let keys = storage.keys();
    let mut raw = harness::raw(storage.config());
    let by_priority: String = raw.get(keys.route_priority(150, "metrics")).unwrap();
    assert_eq!(by_priority, "metrics");
    let unique_key = keys.route_unique("/metrics", 150);
    assert!(
        unique_key.ends_with("route:unique:L21ldHJpY3M=:150"),
        "{unique_key}"
    );
    let owner: String = raw.get(&unique_key).unwrap();
    assert_eq!(owner, "metrics");
    let json: String = raw.get(keys.route("metrics")).unwrap();
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["target_value"], 9090);
    assert_eq!(value["target_type"], "port");
}

#[maybe]
#[maybe_test]
async fn restore_moves_the_index_keys() {
    let storage = storage("route-move").await;
    storage
        .store_route(port_route("m", "/old", 10))
        .await
        .unwrap();
    storage
        .store_route(port_route("m", "/new", 20))
        .await
        .unwrap();
    let keys = storage.keys();
    let mut raw = harness::raw(storage.config());
    let old_unique: bool = raw.exists(keys.route_unique("/old", 10)).unwrap();
    let old_priority: bool = raw.exists(keys.route_priority(10, "m")).unwrap();
    assert!(!old_unique && !old_priority, "old index keys must go");
    let new_unique: String = raw.get(keys.route_unique("/new", 20)).unwrap();
    assert_eq!(new_unique, "m");
    // The old path is free again.
    storage
        .store_route(port_route("other", "/old", 10))
        .await
        .unwrap();
}

#[maybe]
#[maybe_test]
async fn same_path_and_priority_is_a_conflict_and_writes_nothing() {
    let storage = storage("route-conflict").await;
    storage
        .store_route(port_route("first", "/same", 40))
        .await
        .unwrap();
    let clash = storage.store_route(port_route("second", "/same", 40)).await;
    match clash {
        Err(Error::Conflict { key, owner }) => {
            assert_eq!(owner, "first");
            assert_eq!(key, storage.keys().route_unique("/same", 40));
        }
        other => panic!("expected Conflict, got {other:?}"),
    }
    let second = storage.get_route("second").await.unwrap();
    assert_eq!(second, None, "nothing written on conflict");
    // Another priority is another slot.
    storage
        .store_route(port_route("second", "/same", 41))
        .await
        .unwrap();
    // The seeded /token route owns /token at 95.
    let token_clash = storage.store_route(port_route("mine", "/token", 95)).await;
    assert!(matches!(token_clash, Err(Error::Conflict { ref owner, .. }) if owner == "token"));
}

#[maybe]
#[maybe_test]
async fn list_routes_orders_and_filters() {
    let storage = storage("route-list").await;
    storage
        .store_route(port_route("b-low", "/b", 10))
        .await
        .unwrap();
    storage
        .store_route(port_route("a-low", "/a", 10))
        .await
        .unwrap();
    storage
        .store_route(port_route("top", "/top", 999))
        .await
        .unwrap();
    let mut off = port_route("off", "/off", 500);
    off.enabled = false;
    storage.store_route(off).await.unwrap();

    let enabled = storage.list_routes().await.unwrap();
    let ids: Vec<_> = enabled
        .records
        .iter()
        .map(|r| r.route_id.as_str())
        .collect();
    assert_eq!(ids.first(), Some(&"top"));
    assert_eq!(&ids[ids.len() - 2..], ["a-low", "b-low"]);
    assert!(!ids.contains(&"off"));
    assert_eq!(ids.len(), DEFAULT_ROUTES.len() + 3);
    for pair in enabled.records.windows(2) {
        assert!(pair[0].listing_order(&pair[1]).is_le(), "{ids:?}");
    }

    let all = storage.list_all_routes().await.unwrap();
    let all_ids: Vec<_> = all.records.iter().map(|r| r.route_id.as_str()).collect();
    assert_eq!(all_ids[1], "off");
    assert_eq!(all_ids.len(), DEFAULT_ROUTES.len() + 4);
}

#[maybe]
#[maybe_test]
async fn delete_removes_record_and_index_keys() {
    let storage = storage("route-delete").await;
    storage
        .store_route(port_route("gone", "/gone", 30))
        .await
        .unwrap();
    let removed = storage.delete_route("gone").await.unwrap();
    assert!(removed);
    let again = storage.delete_route("gone").await.unwrap();
    assert!(!again);
    let keys = storage.keys();
    let mut raw = harness::raw(storage.config());
    for key in [
        keys.route("gone"),
        keys.route_unique("/gone", 30),
        keys.route_priority(30, "gone"),
    ] {
        let exists: bool = raw.exists(&key).unwrap();
        assert!(!exists, "{key} should be gone");
    }
    let listed = storage.list_all_routes().await.unwrap();
    assert!(listed.records.iter().all(|r| r.route_id != "gone"));
}

#[maybe]
#[maybe_test]
async fn invalid_routes_name_the_field_and_write_nothing() {
    let storage = storage("route-invalid").await;
    let base = port_route("bad", "/bad", 10);
    let cases = [
        (
            Route {
                priority: 1000,
                ..base.clone()
            },
            "priority",
        ),
        (
            Route {
                path_pattern: "bad".into(),
                ..base.clone()
            },
            "path_pattern",
        ),
        (
            Route {
                path_pattern: "^/(a".into(),
                is_regex: true,
                ..base.clone()
            },
            "path_pattern",
        ),
        (
            Route {
                target_value: TargetValue::Port(0),
                ..base.clone()
            },
            "target_value",
        ),
        (
            Route {
                scope: RouteScope::Proxy,
                ..base.clone()
            },
            "proxy_hostnames",
        ),
        (
            Route {
                proxy_hostnames: vec!["a.example".into()],
                ..base.clone()
            },
            "scope",
        ),
        (
            Route {
                methods: Some(vec!["G ET".into()]),
                ..base.clone()
            },
            "methods",
        ),
        (
            Route {
                route_id: "a/b".into(),
                ..base.clone()
            },
            "route_id",
        ),
    ];
    for (route, expected) in cases {
        let result = storage.store_route(route).await;
        match result {
            Err(Error::Invalid { field, .. }) => assert_eq!(field, expected),
            other => panic!("expected Invalid({expected}), got {other:?}"),
        }
    }
    let nothing = storage.get_route("bad").await.unwrap();
    assert_eq!(nothing, None);
    let scoped = Route {
        scope: RouteScope::Proxy,
        proxy_hostnames: vec!["API.example".into()],
        ..base
    };
    let stored = storage.store_route(scoped).await.unwrap();
    assert_eq!(stored.proxy_hostnames, ["api.example"]);
}

#[maybe]
#[maybe_test]
async fn corrupt_route_is_reported_and_can_be_deleted() {
    let storage = storage("route-corrupt").await;
    let keys = storage.keys();
    let key = keys.route("broken");
    let mut raw = harness::raw(storage.config());
    let _: () = raw.set(&key, "not json").unwrap();
    let _: () = raw.sadd(keys.route_index(), "broken").unwrap();

    let got = storage.get_route("broken").await;
    assert!(
        matches!(got, Err(Error::Corrupt { key: ref k, .. }) if *k == key),
        "{got:?}"
    );
    let listing = storage.list_all_routes().await.unwrap();
    assert_eq!(listing.corrupt.len(), 1);
    assert_eq!(listing.corrupt[0].key, key);
    let overwrite = storage.store_route(port_route("broken", "/x", 1)).await;
    assert!(
        matches!(overwrite, Err(Error::Corrupt { .. })),
        "{overwrite:?}"
    );
    let still: String = raw.get(&key).unwrap();
    assert_eq!(still, "not json");

    let removed = storage.delete_route("broken").await.unwrap();
    assert!(removed, "an operator can remove a corrupt route explicitly");
    let after = storage.list_all_routes().await.unwrap();
    assert!(after.corrupt.is_empty());
}
