//! What a storage tells about itself: `stats()` counting what happened (operations,
//! failures, corrupt records, defaults written again, reconnections and resends after a
//! restart) and `health()` answering a readiness probe without writing.

use std::time::Duration;

use super::{connect, maybe, maybe_test, pause, storage, Storage};
use crate::harness::{self, RedisServer};
use storage::{Error, ProxyTarget, StorageConfig, Topology};

#[maybe]
#[maybe_test]
async fn stats_count_operations_and_their_failures() {
    let storage = storage("stats-ops").await;
    let before = storage.stats();
    assert!(before.connections_open >= 1, "{before:?}");
    storage.get_proxy_target("a.example").await.unwrap();
    storage.get_proxy_target("b.example").await.unwrap();
    let refused = storage
        .store_proxy_target(ProxyTarget::new("not a hostname", "http://b:1"))
        .await;
    assert!(matches!(refused, Err(Error::Invalid { .. })), "{refused:?}");
    let after = storage.stats();
    assert_eq!(after.operations - before.operations, 3, "{after:?}");
    assert_eq!(after.failed_operations - before.failed_operations, 1);
    assert_eq!(
        after.connections_in_use, 0,
        "no call holds a connection now"
    );
    assert_eq!(after.reconnects, 0);
    assert_eq!(after.resends, 0);
}

#[maybe]
#[maybe_test]
async fn a_corrupt_record_is_counted_each_time_it_is_met() {
    let storage = storage("stats-corrupt").await;
    let key = storage.keys().proxy("broken.example");
    let _: () = redis::cmd("SET")
        .arg(&key)
        .arg("{not json")
        .query(&mut harness::raw(storage.config()))
        .unwrap();
    let before = storage.stats().corrupt_records;
    for _ in 0..2 {
        let read = storage.get_proxy_target("broken.example").await;
        assert!(matches!(read, Err(Error::Corrupt { .. })), "{read:?}");
    }
    assert_eq!(storage.stats().corrupt_records - before, 2);
    let _: () = redis::cmd("SADD")
        .arg(storage.keys().proxy_index())
        .arg("broken.example")
        .query(&mut harness::raw(storage.config()))
        .unwrap();
    let listing = storage.list_proxy_targets().await.unwrap();
    assert_eq!(listing.corrupt.len(), 1);
    assert_eq!(
        storage.stats().corrupt_records - before,
        3,
        "a listing meets it too"
    );
}

#[maybe]
#[maybe_test]
async fn defaults_written_again_after_a_flush_are_counted() {
    let server = RedisServer::start();
    let interval = Duration::from_millis(200);
    let config = StorageConfig::new(&server.url())
        .unwrap()
        .with_defaults_check_interval(interval);
    let storage = connect(config).await;
    let seeded = storage.stats().defaults_reseeded;
    assert!(seeded >= 1, "the first initialization wrote the defaults");
    storage.get_proxy_target("localhost").await.unwrap();
    assert_eq!(
        storage.stats().defaults_reseeded,
        seeded,
        "nothing to write"
    );
    let _: () = redis::cmd("FLUSHALL").query(&mut server.raw()).unwrap();
    pause(interval + Duration::from_millis(100)).await;
    storage.get_proxy_target("localhost").await.unwrap();
    assert_eq!(storage.stats().defaults_reseeded, 2 * seeded);
}

#[maybe]
#[maybe_test]
async fn a_killed_and_restarted_server_shows_as_a_reconnect_and_a_resend() {
    let mut server = RedisServer::start();
    let storage = connect(StorageConfig::new(&server.url()).unwrap()).await;
    storage.get_proxy_target("localhost").await.unwrap();
    assert_eq!(storage.stats().reconnects, 0);
    server.kill();
    server.restart();
    storage.get_proxy_target("localhost").await.unwrap();
    let stats = storage.stats();
    assert!(stats.reconnects >= 1, "{stats:?}");
    assert!(stats.resends >= 1, "{stats:?}");
    assert!(stats.connections_open >= 1, "{stats:?}");
}

#[maybe]
#[maybe_test]
async fn health_answers_a_probe_and_never_writes() {
    let mut server = RedisServer::start();
    let storage = Storage::new(StorageConfig::new(&server.url()).unwrap()).unwrap();
    let health = storage.health().await;
    assert!(health.connected, "{health:?}");
    assert!(!health.initialized, "a probe does not initialize");
    assert!(!health.is_ready());
    assert_eq!(health.defaults_checked_at, None);
    assert_eq!(health.topology, Topology::Standalone);
    assert_eq!(
        health.master.as_deref(),
        Some(format!("127.0.0.1:{}", server.port()).as_str())
    );
    let keys: u64 = redis::cmd("DBSIZE").query(&mut server.raw()).unwrap();
    assert_eq!(keys, 0, "health wrote nothing");
    assert_eq!(harness::calls_of(&mut server.raw(), "set"), 0);

    storage.initialize().await.unwrap();
    let live = storage.live_config().await.unwrap();
    let health = storage.health().await;
    assert!(health.is_ready(), "{health:?}");
    assert!(health.defaults_checked_at.is_some());
    let seen = health.live.expect("the live configuration is reported");
    assert_eq!(seen.revision, live.revision());
    assert!(seen.following);
    assert!(seen.staleness < Duration::from_secs(5), "{seen:?}");
    assert_eq!(storage.stats().snapshot_revision, Some(live.revision()));

    server.stop();
    let health = storage.health().await;
    assert!(!health.connected);
    assert!(!health.is_ready());
    let problem = health.problem.expect("why it is not connected");
    assert!(problem.contains(&server.port().to_string()), "{problem}");
    drop(live);
    let health = storage.health().await;
    assert_eq!(health.live, None, "none is kept once dropped");
}

#[maybe]
#[maybe_test]
async fn a_second_live_config_is_the_first_once_it_caught_up() {
    let server = RedisServer::start();
    let storage = connect(StorageConfig::new(&server.url()).unwrap()).await;
    let first = storage.live_config().await.unwrap();
    storage
        .store_proxy_target(ProxyTarget::new("new.example", "http://b:1"))
        .await
        .unwrap();
    let second = storage.live_config().await.unwrap();
    assert!(
        second.snapshot().proxy("new.example").is_some(),
        "what was written before the call is in it"
    );
    pause(Duration::from_millis(700)).await;
    assert_eq!(feed_readers(&server), 1, "one follower reads the feed");
    drop(first);
    pause(Duration::from_millis(700)).await;
    assert!(
        second.is_following(),
        "the follower goes on while one is held"
    );
    assert_eq!(feed_readers(&server), 1);
}

/// The connections whose last command was an `XREAD`: the followers' feed connections.
pub(super) fn feed_readers(server: &RedisServer) -> usize {
    let clients: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query(&mut server.raw())
        .unwrap();
    clients
        .lines()
        .filter(|line| line.contains("cmd=xread"))
        .count()
}

#[maybe]
#[maybe_test]
async fn a_write_no_replica_confirmed_is_counted() {
    // More replicas than any test deployment has (one server, a cluster, Sentinel).
    let config = harness::config("stats-replicas").with_min_replicas(10, Duration::from_millis(50));
    let storage = Storage::new(config).unwrap();
    let stored = storage
        .store_proxy_target(ProxyTarget::new("unconfirmed.example", "http://b:1"))
        .await;
    assert!(
        matches!(stored, Err(Error::NotReplicated { .. })),
        "{stored:?}"
    );
    assert!(storage.stats().not_replicated >= 1);
}
