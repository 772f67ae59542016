//! The `metrics` feature: what a storage records through the `metrics` facade, read back
//! from a recorder in both modes.
//!
//! One recorder per process (`metrics` has one global recorder), so the tests take turns: each
//! drains the recorder first and reads what its own work recorded. Counters are read as the
//! sum since the drain; each test uses a server of its own, so no other test's storage adds
//! to them.

use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use metrics_util::CompositeKey;
use storage::metrics::names;
use storage::{asynchronous, blocking, Error, ProxyTarget, StorageConfig};
use test_harness::RedisServer;

/// The recorder, installed once, and the turn of the test that reads it.
fn recorder() -> (MutexGuard<'static, ()>, &'static Snapshotter) {
    static SNAPSHOTTER: OnceLock<Snapshotter> = OnceLock::new();
    static TURN: Mutex<()> = Mutex::new(());
    let turn = TURN.lock().unwrap_or_else(PoisonError::into_inner);
    let snapshotter = SNAPSHOTTER.get_or_init(|| {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        recorder
            .install()
            .expect("the only recorder of this test binary");
        storage::metrics::describe();
        snapshotter
    });
    snapshotter.snapshot();
    (turn, snapshotter)
}

/// What was recorded since the last snapshot, by metric.
struct Recorded(Vec<(CompositeKey, DebugValue)>);

impl Recorded {
    fn take(snapshotter: &Snapshotter) -> Recorded {
        Recorded(
            snapshotter
                .snapshot()
                .into_vec()
                .into_iter()
                .map(|(key, _, _, value)| (key, value))
                .collect(),
        )
    }

    /// The values of `name` whose labels include all of `labels`.
    fn values(&self, name: &str, labels: &[(&str, &str)]) -> Vec<&DebugValue> {
        self.0
            .iter()
            .filter(|(key, _)| key.key().name() == name)
            .filter(|(key, _)| {
                labels.iter().all(|(label, value)| {
                    key.key()
                        .labels()
                        .any(|l| l.key() == *label && l.value() == *value)
                })
            })
            .map(|(_, value)| value)
            .collect()
    }

    /// The sum of the counters `name` with `labels`.
    fn counter(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        self.values(name, labels)
            .into_iter()
            .map(|value| match value {
                DebugValue::Counter(n) => *n,
                other => panic!("{name} is not a counter: {other:?}"),
            })
            .sum()
    }

    /// How many values the histograms `name` with `labels` recorded.
    fn samples(&self, name: &str, labels: &[(&str, &str)]) -> usize {
        self.values(name, labels)
            .into_iter()
            .map(|value| match value {
                DebugValue::Histogram(samples) => samples.len(),
                other => panic!("{name} is not a histogram: {other:?}"),
            })
            .sum()
    }

    /// The gauge `name` with `labels`, if it was set.
    fn gauge(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.values(name, labels)
            .into_iter()
            .map(|value| match value {
                DebugValue::Gauge(value) => value.into_inner(),
                other => panic!("{name} is not a gauge: {other:?}"),
            })
            .next()
    }

    /// Every label value recorded, for checking that none carries a key or a value.
    fn label_values(&self) -> Vec<String> {
        self.0
            .iter()
            .flat_map(|(key, _)| key.key().labels().map(|l| l.value().to_owned()))
            .collect()
    }
}

fn config(server: &RedisServer) -> StorageConfig {
    StorageConfig::new(&server.url()).unwrap()
}

/// Runs `work` on a runtime of its own: the async tests hold their turn outside it.
fn on_runtime<F: std::future::Future>(work: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(work)
}

#[test]
fn operations_are_timed_by_name_mode_and_outcome_in_both_modes() {
    let (_turn, snapshotter) = recorder();
    on_runtime(operations_are_timed(snapshotter));
}

async fn operations_are_timed(snapshotter: &Snapshotter) {
    let server = RedisServer::start();
    let asynchronous = asynchronous::Storage::connect(config(&server))
        .await
        .unwrap();
    let blocking = asynchronous.blocking().unwrap();
    Recorded::take(snapshotter);

    asynchronous.get_proxy_target("a.example").await.unwrap();
    asynchronous.get_proxy_target("a.example").await.unwrap();
    let refused = asynchronous
        .store_proxy_target(ProxyTarget::new("not a hostname", "http://b:1"))
        .await;
    assert!(matches!(refused, Err(Error::Invalid { .. })));
    tokio::task::spawn_blocking(move || blocking.get_proxy_target("secret-host.example"))
        .await
        .unwrap()
        .unwrap();

    let recorded = Recorded::take(snapshotter);
    let get = ("db.operation.name", "get_proxy_target");
    let ok = ("outcome", "ok");
    let redis = ("db.system.name", "redis");
    assert_eq!(
        recorded.samples(
            names::OPERATION_DURATION,
            &[get, ("mode", "async"), ok, redis]
        ),
        2
    );
    assert_eq!(
        recorded.samples(names::OPERATION_DURATION, &[get, ("mode", "blocking"), ok]),
        1
    );
    let store = ("db.operation.name", "store_proxy_target");
    let failed = [store, ("outcome", "error"), ("error.type", "invalid")];
    assert_eq!(recorded.samples(names::OPERATION_DURATION, &failed), 1);
    assert!(recorded.samples(names::CONNECTION_WAIT_TIME, &[]) >= 3);
    let used = ("db.client.connection.state", "used");
    assert_eq!(recorded.gauge(names::CONNECTION_COUNT, &[used]), Some(0.0));
    for value in recorded.label_values() {
        assert!(!value.contains("example"), "a label carries a key: {value}");
    }
}

#[test]
fn defaults_and_corrupt_records_are_counted_by_record_and_family() {
    let (_turn, snapshotter) = recorder();
    let server = RedisServer::start();
    let storage = blocking::Storage::connect(config(&server)).unwrap();
    let seeded = Recorded::take(snapshotter);
    let localhost = [("record", "proxy:localhost")];
    assert_eq!(seeded.counter(names::DEFAULTS_RESEEDED, &localhost), 1);

    let content = "{\"proxy_hostname\": \"leaked-secret-value\"";
    let _: () = redis::cmd("SET")
        .arg(storage.keys().proxy("broken.example"))
        .arg(content)
        .query(&mut server.raw())
        .unwrap();
    assert!(storage.get_proxy_target("broken.example").is_err());
    let recorded = Recorded::take(snapshotter);
    assert_eq!(
        recorded.counter(names::CORRUPT_RECORDS, &[("family", "proxy")]),
        1
    );
    let corrupt = [("error.type", "corrupt")];
    assert_eq!(recorded.samples(names::OPERATION_DURATION, &corrupt), 1);
    for value in recorded.label_values() {
        assert!(
            !value.contains("leaked") && !value.contains("broken"),
            "{value}"
        );
    }
}

#[test]
fn a_killed_server_is_counted_as_resends_and_a_reconnect_to_its_address() {
    let (_turn, snapshotter) = recorder();
    let mut server = RedisServer::start();
    let storage = blocking::Storage::connect(config(&server)).unwrap();
    storage.get_proxy_target("localhost").unwrap();
    Recorded::take(snapshotter);
    server.kill();
    server.restart();
    storage.get_proxy_target("localhost").unwrap();
    let recorded = Recorded::take(snapshotter);
    assert!(recorded.counter(names::RESENDS, &[]) >= 1);
    let address = format!("127.0.0.1:{}", server.port());
    assert!(recorded.counter(names::RECONNECTS, &[("server.address", &address)]) >= 1);
    assert_eq!(recorded.counter(names::FAILOVERS, &[]), 0, "same master");
}

#[test]
fn the_live_configuration_reports_its_revision_and_lag() {
    let (_turn, snapshotter) = recorder();
    on_runtime(live_configuration_reports(snapshotter));
}

async fn live_configuration_reports(snapshotter: &Snapshotter) {
    let server = RedisServer::start();
    let storage = asynchronous::Storage::connect(config(&server))
        .await
        .unwrap();
    let live = storage.live_config().await.unwrap();
    storage
        .store_proxy_target(ProxyTarget::new("new.example", "http://b:1"))
        .await
        .unwrap();
    let revision = storage.revision().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while live.revision() < revision && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The follower sets the gauges at the end of its turn: wait for one more.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let recorded = Recorded::take(snapshotter);
    assert_eq!(
        recorded.gauge(names::SNAPSHOT_REVISION, &[]),
        Some(revision as f64)
    );
    let age = recorded
        .gauge(names::SNAPSHOT_AGE, &[])
        .expect("the age is set");
    assert!((0.0..5.0).contains(&age), "{age}");
    let lag = recorded
        .gauge(names::FEED_LAG, &[("follower", "live_config")])
        .expect("the live configuration's lag is set");
    assert!((0.0..5.0).contains(&lag), "{lag}");
}
