//! Initialization: every way to a usable storage seeds it, once, safely under concurrency.

use super::{concurrently, connect, maybe, maybe_test, storage, Storage};
use crate::harness::{self, RedisServer};
use redis::Commands;
use storage::{StorageConfig, DEFAULT_PROXIES, DEFAULT_ROUTES};

#[maybe]
async fn assert_seeded(storage: &Storage) {
    let localhost = storage.get_proxy_target("localhost").await.unwrap();
    let localhost = localhost.expect("localhost is seeded");
    for path in [
        "/token",
        "/authorize",
        "/device/code",
        "/.well-known/jwks.json",
    ] {
        assert!(localhost.is_auth_excluded(path), "{path} must skip auth");
    }
    assert!(!localhost.is_auth_excluded("/tokens"));
    let routes = storage.list_routes().await.unwrap();
    for default in DEFAULT_ROUTES {
        assert!(
            routes
                .records
                .iter()
                .any(|r| r.route_id == default.route_id),
            "route {} is seeded",
            default.route_id
        );
    }
}

#[maybe]
#[maybe_test]
async fn connect_seeds_the_defaults() {
    let storage = storage("init-connect").await;
    assert_seeded(&storage).await;
    let localhost = storage
        .get_proxy_target("localhost")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(localhost.target_url, "http://127.0.0.1:9000");
    assert!(localhost.enable_http && !localhost.enable_https);
    assert!(!localhost.preserve_host_header && !localhost.auth_enabled);
    assert_eq!(
        localhost.resource_scopes,
        Some(vec!["admin".into(), "user".into(), "mcp".into()])
    );
    assert_eq!(localhost.auth_excluded_paths.unwrap().len(), 10);
}

#[maybe]
#[maybe_test]
async fn first_use_seeds_without_an_explicit_call() {
    let storage = Storage::new(harness::config("init-lazy")).unwrap();
    // The very first operation is a read of a default: it must see it.
    let token = storage.get_route("token").await.unwrap();
    assert!(token.is_some(), "the first operation initializes");
    assert_seeded(&storage).await;
}

#[maybe]
#[maybe_test]
async fn explicit_initialize_after_new_seeds() {
    let storage = Storage::new(harness::config("init-explicit")).unwrap();
    storage.initialize().await.unwrap();
    storage.initialize().await.unwrap();
    assert_seeded(&storage).await;
}

#[maybe]
#[maybe_test]
async fn reinitializing_is_idempotent() {
    let config = harness::config("init-idempotent");
    let first = connect(config.clone()).await;
    let before = first.get_proxy_target("localhost").await.unwrap();
    let second = connect(config.clone()).await;
    let third = connect(config).await;
    let after = third.get_proxy_target("localhost").await.unwrap();
    assert_eq!(before, after, "an up-to-date localhost is not rewritten");
    let routes = second.list_all_routes().await.unwrap();
    assert_eq!(routes.records.len(), DEFAULT_ROUTES.len());
    let proxies = third.list_proxy_targets().await.unwrap();
    assert_eq!(proxies.records.len(), DEFAULT_PROXIES.len());
}

#[maybe]
#[maybe_test]
async fn an_up_to_date_store_costs_one_round_trip_and_one_instance_initializes_once() {
    let server = RedisServer::start();
    let config = StorageConfig::new(&server.url()).unwrap();
    connect(config.clone()).await;
    let mut raw = server.raw();

    let before = harness::commands_served(&mut raw);
    connect(config.clone()).await;
    let after = harness::commands_served(&mut raw);
    assert_eq!(
        after - before,
        1,
        "verifying an up-to-date store is one MGET"
    );

    // Many concurrent first uses of one fresh instance still initialize it once.
    let storage = Storage::new(config).unwrap();
    let before = harness::commands_served(&mut raw);
    let reads = concurrently(16, |_| {
        let storage = storage.clone();
        async move { storage.get_route("token").await }
    })
    .await;
    let after = harness::commands_served(&mut raw);
    assert!(reads.iter().all(|r| matches!(r, Ok(Some(_)))));
    assert_eq!(
        after - before,
        16 + 1,
        "16 GETs and one initialization MGET"
    );
}

#[maybe]
#[maybe_test]
async fn concurrent_initializers_agree_on_one_record() {
    let config = harness::config("init-race");
    // A legacy localhost without the required paths, plus a path of the operator's.
    harness::store_legacy_localhost(&config, &["/operator"]);

    let results = concurrently(12, |_| {
        let config = config.clone();
        async move {
            let storage = Storage::new(config)?;
            storage.initialize().await?;
            storage.get_proxy_target("localhost").await
        }
    })
    .await;
    let expected = DEFAULT_PROXIES[0].auth_excluded_paths.len() + 1;
    for result in results {
        let proxy = result.unwrap().unwrap();
        let paths = proxy.auth_excluded_paths.unwrap();
        assert_eq!(paths.len(), expected, "{paths:?}");
        assert_eq!(paths[0], "/operator");
    }
    let storage = connect(config).await;
    let routes = storage.list_all_routes().await.unwrap();
    assert_eq!(
        routes.records.len(),
        DEFAULT_ROUTES.len(),
        "no route duplicated"
    );
}

#[maybe]
#[maybe_test]
async fn a_corrupt_localhost_fails_initialization_by_key_and_survives() {
    let config = harness::config("init-corrupt");
    let key = config.key_space().proxy("localhost");
    let mut raw = harness::raw(&config);
    let _: () = raw.set(&key, "{oops").unwrap();
    let result = Storage::connect(config).await;
    match result {
        Err(storage::Error::Corrupt { key: named, .. }) => assert_eq!(named, key),
        other => panic!("expected Corrupt, got {other:?}"),
    }
    let still: String = raw.get(&key).unwrap();
    assert_eq!(still, "{oops");
}
