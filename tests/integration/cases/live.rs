//! The change feed and the live configuration: every change in revision order, resumed
//! after reconnections, a resync where changes were lost, and a snapshot that ends equal to
//! a fresh listing.

use std::time::{Duration, Instant};

use super::{
    concurrently, connect, maybe, maybe_test, pause, storage, LiveConfig, Storage, Watcher,
};
use crate::harness::{self, LegacyWriter, RedisServer, ServerOptions};
use storage::{ChangeFamily, ChangeOp, ProxyTarget, Route, StorageConfig, WatchEvent};

/// Events from `watcher` until the store reaches `until`, or 10 s pass.
#[maybe]
async fn events_until(watcher: &mut Watcher, until: u64) -> Vec<WatchEvent> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut events = Vec::new();
    while watcher.revision() < until && Instant::now() < deadline {
        if let Some(event) = watcher.poll_event().await.unwrap() {
            events.push(event);
        }
    }
    events
}

#[maybe]
async fn assert_live_matches_listing(storage: &Storage, live: &LiveConfig, revision: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while live.revision() < revision && Instant::now() < deadline {
        pause(Duration::from_millis(10)).await;
    }
    let snapshot = live.snapshot();
    assert!(live.is_following(), "a live follower says so");
    assert_eq!(snapshot.revision(), revision);
    let proxies = storage.list_proxy_targets().await.unwrap();
    assert_eq!(snapshot.proxy_count(), proxies.records.len());
    for proxy in &proxies.records {
        assert_eq!(snapshot.proxy(&proxy.proxy_hostname), Some(proxy));
    }
    let routes = storage.list_routes().await.unwrap();
    assert_eq!(snapshot.route_count(), routes.records.len());
}

#[maybe]
#[maybe_test]
async fn writers_and_watchers_agree_on_every_change_in_order() {
    let storage = storage("live-order").await;
    let start = storage.list_routes().await.unwrap().revision;
    let mut watcher = storage.watch(start).await.unwrap();
    let live = storage.live_config().await.unwrap();
    const WRITERS: usize = 4;
    const WRITES: usize = 15;
    concurrently(WRITERS, |writer| {
        let storage = storage.clone();
        async move {
            for i in 0..WRITES {
                let host = format!("w{writer}-{}.example", i % 5);
                storage
                    .store_proxy_target(ProxyTarget::new(&host, "http://b:1"))
                    .await
                    .unwrap();
                let route = Route::to_url(
                    format!("w{writer}-{i}"),
                    format!("/w{writer}/{i}"),
                    10,
                    "http://b:1",
                );
                storage.store_route(route).await.unwrap();
                if i % 3 == 0 {
                    storage
                        .delete_route(&format!("w{writer}-{i}"))
                        .await
                        .unwrap();
                }
            }
        }
    })
    .await;
    let end = storage.revision().await.unwrap();
    let expected = (WRITERS * (WRITES * 2 + WRITES.div_ceil(3))) as u64;
    assert_eq!(end - start, expected, "one revision per change");
    let events = events_until(&mut watcher, end).await;
    let revisions: Vec<u64> = events
        .iter()
        .map(|event| match event {
            WatchEvent::Change(change) => change.revision,
            other => panic!("no resync expected: {other:?}"),
        })
        .collect();
    let contiguous: Vec<u64> = (start + 1..=end).collect();
    assert_eq!(revisions, contiguous, "every change once, in order");
    let deletes = events
        .iter()
        .filter(|e| matches!(e, WatchEvent::Change(c) if c.op == ChangeOp::Delete && c.family == ChangeFamily::Route))
        .count();
    assert_eq!(deletes, WRITERS * WRITES.div_ceil(3));
    assert_live_matches_listing(&storage, &live, end).await;
    assert!(live.heard_at().elapsed().unwrap_or_default() < Duration::from_secs(5));
}

#[maybe]
#[maybe_test]
async fn a_feed_trimmed_past_a_slow_watcher_says_resync() {
    let storage = storage("live-trim").await;
    let start = storage.revision().await.unwrap();
    let mut watcher = storage.watch(start).await.unwrap();
    for i in 0..3 {
        storage
            .store_proxy_target(ProxyTarget::new(format!("t{i}.example"), "http://b:1"))
            .await
            .unwrap();
    }
    // The feed loses what the watcher has not read yet.
    let _: () = redis::cmd("XTRIM")
        .arg(storage.keys().changes())
        .arg("MAXLEN")
        .arg(0)
        .query(&mut harness::raw(storage.config()))
        .unwrap();
    storage
        .store_proxy_target(ProxyTarget::new("after.example", "http://b:1"))
        .await
        .unwrap();
    let end = storage.revision().await.unwrap();
    let events = events_until(&mut watcher, end).await;
    assert!(
        matches!(events.first(), Some(WatchEvent::Resync { seen, current }) if *seen == start && *current == end),
        "{events:?}"
    );
}

#[maybe]
#[maybe_test]
async fn a_watcher_resumes_after_redis_is_killed_and_restarts_with_its_aof() {
    let mut server = RedisServer::start_with(ServerOptions::new().args([
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
    ]));
    let storage = connect(StorageConfig::new(&server.url()).unwrap()).await;
    let start = storage.revision().await.unwrap();
    let mut watcher = storage.watch(start).await.unwrap();
    storage
        .store_proxy_target(ProxyTarget::new("before.example", "http://b:1"))
        .await
        .unwrap();
    let first = events_until(&mut watcher, start + 1).await;
    assert_eq!(first.len(), 1);
    server.kill();
    server.restart();
    storage
        .store_proxy_target(ProxyTarget::new("after.example", "http://b:1"))
        .await
        .unwrap();
    let end = storage.revision().await.unwrap();
    assert_eq!(end, start + 2, "the revision survived in the AOF");
    let events = events_until(&mut watcher, end).await;
    assert!(
        matches!(events.as_slice(), [WatchEvent::Change(change)] if change.revision == end),
        "resumed without loss: {events:?}"
    );
}

#[maybe]
#[maybe_test]
async fn a_redis_that_lost_its_data_makes_watchers_resync() {
    let mut server = RedisServer::start();
    let storage = connect(StorageConfig::new(&server.url()).unwrap()).await;
    for i in 0..3 {
        storage
            .store_proxy_target(ProxyTarget::new(format!("p{i}.example"), "http://b:1"))
            .await
            .unwrap();
    }
    let seen = storage.revision().await.unwrap();
    let mut watcher = storage.watch(seen).await.unwrap();
    server.restart();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut resync = None;
    while resync.is_none() && Instant::now() < deadline {
        if let Some(event @ WatchEvent::Resync { .. }) = watcher.poll_event().await.unwrap() {
            resync = Some(event);
        }
    }
    assert!(
        matches!(resync, Some(WatchEvent::Resync { seen: s, current }) if s == seen && current < seen),
        "{resync:?}"
    );
}

#[maybe]
#[maybe_test]
async fn a_legacy_write_reaches_the_live_configuration_within_the_reconcile_interval() {
    let interval = Duration::from_millis(300);
    let config = harness::config("live-legacy").with_live_reconcile_interval(interval);
    let storage = connect(config).await;
    let live = storage.live_config().await.unwrap();
    LegacyWriter::new(harness::raw(storage.config()), storage.keys().prefix()).proxy(
        "legacy.example",
        "http://b:1",
        |_| {},
    );
    let written = Instant::now();
    while live.snapshot().proxy("legacy.example").is_none()
        && written.elapsed() < Duration::from_secs(5)
    {
        pause(Duration::from_millis(20)).await;
    }
    let took = written.elapsed();
    assert!(
        live.snapshot().proxy("legacy.example").is_some(),
        "never seen"
    );
    // The interval, plus at most one feed read (500 ms) before the follower looks at the clock.
    assert!(took < interval + Duration::from_secs(2), "{took:?}");
    // A write through the storage shows at once, without waiting for a reconcile.
    storage
        .store_route(Route::to_url("fresh", "/fresh", 10, "http://b:1"))
        .await
        .unwrap();
    let revision = storage.revision().await.unwrap();
    assert_live_matches_listing(&storage, &live, revision).await;
    assert_eq!(
        live.snapshot()
            .route_for("localhost", "/fresh/x")
            .map(|r| r.route_id.clone()),
        Some("fresh".to_owned())
    );
    assert!(live.is_auth_excluded("localhost", "/token"));
}

#[maybe]
#[maybe_test]
async fn an_entry_this_crate_did_not_write_is_a_resync_not_a_stall() {
    let storage = storage("live-garbage").await;
    let start = storage.revision().await.unwrap();
    let mut watcher = storage.watch(start).await.unwrap();
    let _: () = redis::cmd("XADD")
        .arg(storage.keys().changes())
        .arg(format!("{}-0", start + 1))
        .arg("nonsense")
        .arg("x")
        .query(&mut harness::raw(storage.config()))
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg(storage.keys().revision())
        .arg(start + 1)
        .query(&mut harness::raw(storage.config()))
        .unwrap();
    storage
        .store_proxy_target(ProxyTarget::new("next.example", "http://b:1"))
        .await
        .unwrap();
    let end = storage.revision().await.unwrap();
    let events = events_until(&mut watcher, end).await;
    assert!(
        matches!(events.first(), Some(WatchEvent::Resync { .. })),
        "{events:?}"
    );
    assert_eq!(watcher.revision(), end, "it went on past the entry");
}

/// Stores `count` proxies named `{tag}{i}.example`.
#[maybe]
async fn store_proxies(storage: &Storage, tag: &str, count: usize) {
    for i in 0..count {
        storage
            .store_proxy_target(ProxyTarget::new(format!("{tag}{i}.example"), "http://b:1"))
            .await
            .unwrap();
    }
}

/// The first event within 10 s, which must be a resync.
#[maybe]
async fn assert_next_is_resync(watcher: &mut Watcher, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Some(event) = watcher.poll_event().await.unwrap() {
            assert!(
                matches!(event, WatchEvent::Resync { .. }),
                "{what}: {event:?} came first"
            );
            return;
        }
    }
    panic!("{what}: no event");
}

/// Waits until `live` holds no proxy named `{tag}…` and the `expected` ones, or 10 s.
#[maybe]
async fn assert_live_forgets(live: &LiveConfig, gone: &str, expected: &[String], what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let holds = |snapshot: &storage::ConfigSnapshot| {
        let stale = (0..50).any(|i| snapshot.proxy(&format!("{gone}{i}.example")).is_some());
        !stale && expected.iter().all(|host| snapshot.proxy(host).is_some())
    };
    while !holds(&live.snapshot()) && Instant::now() < deadline {
        pause(Duration::from_millis(20)).await;
    }
    assert!(
        holds(&live.snapshot()),
        "{what}: the live configuration kept lost hosts"
    );
}

/// The reproduction: 50 proxies, a watcher at that revision, a raw `FLUSHALL`, 84
/// proxies more. The revision counts past the watcher's again, yet the watcher says resync
/// (it sees another epoch), and live configurations in both migration phases drop the lost
/// hosts without waiting for a reconcile.
#[maybe]
#[maybe_test]
async fn a_flush_followed_by_more_writes_than_were_lost_is_a_resync() {
    for finished in [false, true] {
        let server = RedisServer::start();
        let config = StorageConfig::new(&server.url())
            .unwrap()
            .with_live_reconcile_interval(Duration::from_secs(3600));
        let storage = connect(config).await;
        if finished {
            storage.finish_migration().await.unwrap();
        }
        store_proxies(&storage, "lost", 50).await;
        let seen = storage.revision().await.unwrap();
        let mut watcher = storage.watch(seen).await.unwrap();
        let live = storage.live_config().await.unwrap();
        let _: () = redis::cmd("FLUSHALL").query(&mut server.raw()).unwrap();
        if finished {
            storage.finish_migration().await.unwrap();
        }
        store_proxies(&storage, "new", 84).await;
        let now = storage.revision().await.unwrap();
        assert!(now > seen, "counts past it again");
        assert_next_is_resync(&mut watcher, "after FLUSHALL").await;
        let expected: Vec<String> = (0..84).map(|i| format!("new{i}.example")).collect();
        assert_live_forgets(&live, "lost", &expected, &format!("finished={finished}")).await;
    }
}

/// Redis restarts empty (no persistence) and a burst of writes lands at once, before the
/// watcher reads again: a resync, and the live configuration follows.
#[maybe]
#[maybe_test]
async fn a_restart_empty_followed_at_once_by_a_burst_is_a_resync() {
    let mut server = RedisServer::start();
    let config = StorageConfig::new(&server.url())
        .unwrap()
        .with_live_reconcile_interval(Duration::from_secs(3600));
    let storage = connect(config.clone()).await;
    store_proxies(&storage, "lost", 20).await;
    let seen = storage.revision().await.unwrap();
    let mut watcher = storage.watch(seen).await.unwrap();
    let live = storage.live_config().await.unwrap();
    server.restart();
    let writer = connect(config).await;
    store_proxies(&writer, "burst", 40).await;
    assert_next_is_resync(&mut watcher, "after a restart-empty").await;
    let expected: Vec<String> = (0..40).map(|i| format!("burst{i}.example")).collect();
    assert_live_forgets(&live, "lost", &expected, "restart-empty").await;
}
