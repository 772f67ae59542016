//! The live configuration's last-known-good file: a process started while Redis is down
//! routes from it at once and says it is stale, catches up when Redis is back, and never
//! serves (or deletes) a file that is damaged or another store's.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::{connect, maybe, maybe_test, pause, Storage};
use crate::harness::{RedisServer, ServerOptions};
use storage::{Certificate, ProxyTarget, Route, Secret, StorageConfig};

/// A directory of the test's own (each mode's copy of a test gets another).
fn scratch(test: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("live-file-{test}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn with_file(server: &RedisServer, file: &Path) -> StorageConfig {
    StorageConfig::new(&server.url())
        .unwrap()
        .with_live_snapshot_file(file)
        .with_live_snapshot_debounce(Duration::from_millis(100))
        .with_connect_timeout(Duration::from_millis(300))
}

/// Waits until the file holds `needle` (its body is JSON), for up to 10 s.
#[maybe]
async fn file_holding(file: &Path, needle: &str) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(bytes) = std::fs::read(file) {
            if String::from_utf8_lossy(&bytes).contains(needle) {
                return bytes;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{} never held {needle}",
            file.display()
        );
        pause(Duration::from_millis(20)).await;
    }
}

fn aof_server() -> RedisServer {
    RedisServer::start_with(ServerOptions::new().args([
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
    ]))
}

#[maybe]
#[maybe_test]
async fn a_process_started_while_redis_is_down_routes_from_its_file_then_catches_up() {
    let dir = scratch("boot");
    let file = dir.join("live.snapshot");
    let mut server = aof_server();
    let config = with_file(&server, &file);
    let writer = connect(config.clone()).await;
    writer
        .store_route(Route::to_url("api", "/api", 60, "http://api:1"))
        .await
        .unwrap();
    let live = writer.live_config().await.unwrap();
    let bytes = file_holding(&file, "http://api:1").await;
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "readable by its owner only");
    let revision = live.revision();
    drop(live);
    drop(writer);

    server.kill();
    let started = Instant::now();
    let storage = Storage::new(config.clone()).unwrap();
    let live = storage.live_config().await.expect("served from the file");
    let served_in = started.elapsed();
    assert!(served_in < Duration::from_secs(1), "at once: {served_in:?}");
    let route = live.read(|c| {
        c.route_for("any.example", "/api/x")
            .map(|r| r.route_id.clone())
    });
    assert_eq!(route.as_deref(), Some("api"));
    let stale = live.stale_from_file().expect("it says it is stale");
    assert_eq!(stale.revision, revision);
    assert_eq!(stale.path, file);
    let health = storage.health().await;
    assert!(!health.connected);
    let from_file = health.live.and_then(|live| live.from_file);
    assert_eq!(from_file.map(|f| f.revision), Some(revision));
    assert_eq!(
        std::fs::read(&file).unwrap(),
        bytes,
        "a stale snapshot is not written back"
    );

    server.restart();
    storage
        .store_proxy_target(ProxyTarget::new("after.example", "http://after:1"))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while (live.stale_from_file().is_some() || live.snapshot().proxy("after.example").is_none())
        && Instant::now() < deadline
    {
        pause(Duration::from_millis(20)).await;
    }
    assert!(live.stale_from_file().is_none(), "caught up with Redis");
    assert!(
        live.snapshot().proxy("after.example").is_some(),
        "and follows the feed"
    );
    file_holding(&file, "http://after:1").await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[maybe]
#[maybe_test]
async fn a_file_that_does_not_fit_is_never_served_nor_deleted() {
    let dir = scratch("unfit");
    let file = dir.join("live.snapshot");
    let mut server = RedisServer::start();
    let config = with_file(&server, &file);
    let storage = connect(config.clone()).await;
    let live = storage.live_config().await.unwrap();
    let good = file_holding(&file, "localhost").await;
    drop(live);
    drop(storage);
    server.kill();

    let mut damaged = good.clone();
    let last = damaged.len() - 2;
    damaged[last] ^= 0x20;
    let other_store = with_file(&server, &file).with_key_prefix("another:");
    for (bytes, config) in [
        (damaged.clone(), config.clone()),
        (b"not a snapshot".to_vec(), config.clone()),
        (good.clone(), other_store),
    ] {
        std::fs::write(&file, &bytes).unwrap();
        let storage = Storage::new(config).unwrap();
        let refused = storage.live_config().await;
        assert!(refused.is_err(), "an unfit file is not served: {refused:?}");
        assert_eq!(std::fs::read(&file).unwrap(), bytes, "nor touched");
    }

    // With Redis there, the start is the ordinary one, and the refusal is typed.
    server.restart();
    for (bytes, config, reason) in [
        (damaged, config.clone(), "checksum"),
        (
            good,
            with_file(&server, &file).with_key_prefix("another:"),
            "another store",
        ),
    ] {
        std::fs::write(&file, &bytes).unwrap();
        let storage = connect(config).await;
        let live = storage.live_config().await.unwrap();
        assert!(live.stale_from_file().is_none());
        match live.refused_file() {
            Some(storage::Error::SnapshotFile { path, reason: why }) => {
                assert_eq!(path, &file.display().to_string());
                assert!(why.contains(reason), "{why}");
            }
            other => panic!("expected the file's refusal, got {other:?}"),
        }
        let health = storage.health().await;
        let told = health
            .live
            .and_then(|live| live.refused_file)
            .unwrap_or_default();
        assert!(told.contains(reason), "{told}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[maybe]
#[maybe_test]
async fn a_burst_costs_one_write_and_no_private_key_reaches_the_file() {
    let dir = scratch("burst");
    let file = dir.join("live.snapshot");
    let server = RedisServer::start();
    let config = with_file(&server, &file).with_live_snapshot_debounce(Duration::from_millis(400));
    let storage = connect(config).await;
    let mut certificate = Certificate::new("site", ["site.example"], "ops@example.com");
    certificate.fullchain_pem = Some(Secret::new("-----BEGIN CERTIFICATE-----\nMIIBchain\n"));
    certificate.private_key_pem = Some(Secret::new("-----BEGIN PRIVATE KEY-----\nMIIEkey\n"));
    storage.store_certificate(certificate).await.unwrap();
    let live = storage.live_config().await.unwrap();
    file_holding(&file, "localhost").await;
    let before = std::fs::metadata(&file).unwrap().ino();
    let mut seen = std::collections::BTreeSet::new();
    for i in 0..30 {
        storage
            .store_proxy_target(ProxyTarget::new(format!("b{i}.example"), "http://b:1"))
            .await
            .unwrap();
        seen.insert(std::fs::metadata(&file).unwrap().ino());
    }
    let bytes = file_holding(&file, "b29.example").await;
    seen.insert(std::fs::metadata(&file).unwrap().ino());
    seen.remove(&before);
    assert!(seen.len() <= 2, "{} writes for one burst", seen.len());
    let text = String::from_utf8_lossy(&bytes);
    assert!(!text.contains("PRIVATE KEY"), "no private key in the file");
    drop(live);
    let _ = std::fs::remove_dir_all(&dir);
}

#[maybe]
#[maybe_test]
async fn a_redis_back_empty_is_caught_up_with_a_full_reload() {
    let dir = scratch("empty");
    let file = dir.join("live.snapshot");
    let mut server = RedisServer::start();
    let config = with_file(&server, &file);
    let writer = connect(config.clone()).await;
    writer
        .store_route(Route::to_url("lost", "/lost", 60, "http://lost:1"))
        .await
        .unwrap();
    let live = writer.live_config().await.unwrap();
    file_holding(&file, "http://lost:1").await;
    drop(live);
    drop(writer);
    server.kill();

    let storage = Storage::new(config).unwrap();
    let live = storage.live_config().await.expect("served from the file");
    assert!(live.read(|c| c.route_for("h.example", "/lost").is_some()));
    server.restart();
    let deadline = Instant::now() + Duration::from_secs(15);
    while live.stale_from_file().is_some() && Instant::now() < deadline {
        pause(Duration::from_millis(20)).await;
    }
    assert!(
        live.stale_from_file().is_none(),
        "caught up with the empty Redis"
    );
    assert!(
        live.read(|c| c.route_for("h.example", "/lost").is_none()),
        "what Redis lost is gone from the snapshot too"
    );
    assert!(
        live.read(|c| c.is_auth_excluded("localhost", "/token")),
        "the defaults are back"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
