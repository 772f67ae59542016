//! Many writers at once, on real threads (blocking) and real tasks (async).

use std::collections::BTreeMap;

use super::{concurrently, maybe, maybe_test, storage};
use crate::harness;
use redis::Commands;
use storage::{Error, ProxyTarget, Route};

#[maybe]
#[maybe_test]
async fn concurrent_updates_of_different_fields_lose_nothing() {
    let storage = storage("race-update").await;
    let mut proxy = ProxyTarget::new("race.example", "http://backend:8080");
    proxy.custom_headers = Some(BTreeMap::new());
    storage.store_proxy_target(proxy).await.unwrap();

    const WRITERS: usize = 12;
    const ROUNDS: usize = 5;
    let results = concurrently(WRITERS, |writer| {
        let storage = storage.clone();
        async move {
            for round in 0..ROUNDS {
                storage
                    .update_proxy_target("race.example", |p| {
                        let headers = p.custom_headers.get_or_insert_with(BTreeMap::new);
                        headers.insert(format!("X-Writer-{writer}-{round}"), "1".into());
                        if writer == 0 {
                            p.auth_enabled = true;
                        }
                        if writer == 1 {
                            p.preserve_host_header = false;
                        }
                    })
                    .await?;
            }
            Ok::<(), Error>(())
        }
    })
    .await;
    for result in results {
        result.unwrap();
    }
    let proxy = storage
        .get_proxy_target("race.example")
        .await
        .unwrap()
        .unwrap();
    let headers = proxy.custom_headers.unwrap();
    assert_eq!(headers.len(), WRITERS * ROUNDS, "every update survives");
    assert!(proxy.auth_enabled && !proxy.preserve_host_header);
}

#[maybe]
#[maybe_test]
async fn concurrent_store_route_with_one_path_has_one_winner() {
    let storage = storage("race-route").await;
    const WRITERS: usize = 16;
    let results = concurrently(WRITERS, |writer| {
        let storage = storage.clone();
        async move {
            let route = Route::to_url(format!("r{writer}"), "/contested", 70, "http://api:9000");
            storage.store_route(route).await
        }
    })
    .await;
    let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(winners.len(), 1, "exactly one store wins");
    let winner = winners[0].route_id.clone();
    for result in &results {
        match result {
            Ok(_) => {}
            Err(Error::Conflict { owner, .. }) => assert_eq!(owner, &winner),
            Err(other) => panic!("expected Conflict, got {other:?}"),
        }
    }
    let keys = storage.keys();
    let owner: String = harness::raw(storage.config())
        .get(keys.route_unique("/contested", 70))
        .unwrap();
    assert_eq!(owner, winner);
    let routes = storage.list_all_routes().await.unwrap();
    let contested: Vec<_> = routes
        .records
        .iter()
        .filter(|r| r.path_pattern == "/contested")
        .collect();
    assert_eq!(contested.len(), 1);
    assert_eq!(contested[0].route_id, winner);
}

/// 32 writers on one record: with jittered backoff between lost races, every update lands
/// within the default attempts, none ends in `Contention`.
#[maybe]
#[maybe_test]
async fn thirty_two_writers_on_one_record_all_land() {
    let storage = storage("race-32").await;
    let mut proxy = ProxyTarget::new("race32.example", "http://backend:8080");
    proxy.custom_headers = Some(BTreeMap::new());
    storage.store_proxy_target(proxy).await.unwrap();
    const WRITERS: usize = 32;
    const ROUNDS: usize = 4;
    let results = concurrently(WRITERS, |writer| {
        let storage = storage.clone();
        async move {
            for round in 0..ROUNDS {
                storage
                    .update_proxy_target("race32.example", |p| {
                        let headers = p.custom_headers.get_or_insert_with(BTreeMap::new);
                        headers.insert(format!("X-{writer}-{round}"), "1".into());
                    })
                    .await?;
            }
            Ok::<(), Error>(())
        }
    })
    .await;
    let contention = results.iter().filter(|r| r.is_err()).count();
    assert_eq!(contention, 0, "{results:?}");
    let stored = storage
        .get_proxy_target("race32.example")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.custom_headers.unwrap().len(), WRITERS * ROUNDS);
}
