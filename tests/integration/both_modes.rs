//! A blocking and an async component sharing one Redis, as a mixed deployment does.

use storage::{asynchronous, blocking, ProxyTarget, DEFAULT_PROXIES};

use crate::harness;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn blocking_threads_and_async_tasks_initialize_together() {
    let config = harness::config("both-init");
    harness::store_legacy_localhost(&config, &["/operator"]);

    let start = std::sync::Arc::new(std::sync::Barrier::new(12));
    let threads: Vec<_> = (0..6)
        .map(|_| {
            let (config, start) = (config.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                blocking::Storage::connect(config)?.get_proxy_target("localhost")
            })
        })
        .collect();
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let (config, start) = (config.clone(), start.clone());
            tokio::spawn(async move {
                tokio::task::spawn_blocking(move || start.wait())
                    .await
                    .unwrap();
                asynchronous::Storage::connect(config)
                    .await?
                    .get_proxy_target("localhost")
                    .await
            })
        })
        .collect();
    let mut seen: Vec<Option<ProxyTarget>> = Vec::new();
    for task in tasks {
        seen.push(task.await.unwrap().unwrap());
    }
    for thread in threads {
        seen.push(thread.join().unwrap().unwrap());
    }
    let expected = DEFAULT_PROXIES[0].auth_excluded_paths.len() + 1;
    for proxy in seen {
        let paths = proxy.unwrap().auth_excluded_paths.unwrap();
        assert_eq!(paths.len(), expected, "{paths:?}");
        assert_eq!(paths[0], "/operator");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_mode_writes_what_the_other_reads() {
    let config = harness::config("both-rw");
    let blocking_config = config.clone();
    tokio::task::spawn_blocking(move || {
        let storage = blocking::Storage::connect(blocking_config).unwrap();
        storage
            .store_proxy_target(ProxyTarget::new("shared.example", "http://b:1"))
            .unwrap();
    })
    .await
    .unwrap();
    let storage = storage::AsyncRedisStorage::new(config).unwrap();
    let proxy = storage.get_proxy_target("shared.example").await.unwrap();
    assert_eq!(proxy.unwrap().target_url, "http://b:1");
}

/// Writers of both modes at once, a watcher and a live configuration of each mode: when the
/// writers stop, both watchers saw every revision once and in order, and both snapshots
/// equal a fresh listing at the final revision.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writers_and_watchers_of_both_modes_see_one_history() {
    use std::time::{Duration, Instant};
    use storage::{Route, WatchEvent};

    let config = harness::config("both-live");
    let async_storage = asynchronous::Storage::connect(config.clone())
        .await
        .unwrap();
    let start = async_storage.revision().await.unwrap();
    let async_live = async_storage.live_config().await.unwrap();
    let mut async_watcher = async_storage.watch(start).await.unwrap();
    let blocking_storage = {
        let config = config.clone();
        tokio::task::spawn_blocking(move || blocking::Storage::connect(config).unwrap())
            .await
            .unwrap()
    };
    let blocking_live = {
        let storage = blocking_storage.clone();
        tokio::task::spawn_blocking(move || storage.live_config().unwrap())
            .await
            .unwrap()
    };

    let writer = {
        let storage = blocking_storage.clone();
        std::thread::spawn(move || {
            for i in 0..20 {
                storage
                    .store_proxy_target(ProxyTarget::new(format!("b{i}.example"), "http://b:1"))
                    .unwrap();
            }
        })
    };
    for i in 0..20 {
        async_storage
            .store_route(Route::to_url(
                format!("a{i}"),
                format!("/a/{i}"),
                5,
                "http://b:1",
            ))
            .await
            .unwrap();
    }
    writer.join().unwrap();
    let end = async_storage.revision().await.unwrap();
    assert_eq!(end - start, 40);

    let blocking_events = {
        let storage = blocking_storage.clone();
        tokio::task::spawn_blocking(move || {
            storage
                .watch(start)
                .unwrap()
                .take(40)
                .map(|event| match event.unwrap() {
                    WatchEvent::Change(change) => change.revision,
                    other => panic!("{other:?}"),
                })
                .collect::<Vec<u64>>()
        })
        .await
        .unwrap()
    };
    let mut async_events = Vec::new();
    while async_events.len() < 40 {
        match async_watcher.next_event().await.unwrap() {
            WatchEvent::Change(change) => async_events.push(change.revision),
            other => panic!("{other:?}"),
        }
    }
    let expected: Vec<u64> = (start + 1..=end).collect();
    assert_eq!(blocking_events, expected);
    assert_eq!(async_events, expected);

    let deadline = Instant::now() + Duration::from_secs(10);
    while (async_live.revision() < end || blocking_live.revision() < end)
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let proxies = async_storage.list_proxy_targets().await.unwrap();
    let routes = async_storage.list_routes().await.unwrap();
    for live in [async_live.snapshot(), blocking_live.snapshot()] {
        assert_eq!(live.revision(), end);
        assert_eq!(live.proxy_count(), proxies.records.len());
        assert_eq!(live.route_count(), routes.records.len());
        for proxy in &proxies.records {
            assert_eq!(live.proxy(&proxy.proxy_hostname), Some(proxy));
        }
    }
    tokio::task::spawn_blocking(move || drop(blocking_live))
        .await
        .unwrap();
}

/// Readers of both modes (`get_proxy_target` and a live configuration each) sample
/// `localhost` while writers of both modes and a raw old-layer `SET` keep replacing it
/// without the paths OAuth needs: no sample ever lacks one, and the operator's own path and
/// target survive.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_reader_of_either_mode_sees_localhost_without_its_required_paths() {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    let config = harness::config("both-localhost");
    let required = DEFAULT_PROXIES[0].auth_excluded_paths;
    let bare = || {
        let mut proxy = ProxyTarget::new("localhost", "http://operator:1");
        proxy.auth_excluded_paths = Some(vec!["/operator".into()]);
        proxy
    };
    let lacks_one = |proxy: Option<&ProxyTarget>| {
        let proxy = proxy.expect("localhost is there");
        let listed = proxy.auth_excluded_paths.clone().unwrap_or_default();
        required
            .iter()
            .any(|path| !proxy.is_auth_excluded(path) || !listed.iter().any(|p| p == path))
    };
    let async_storage = asynchronous::Storage::connect(config.clone())
        .await
        .unwrap();
    let blocking_storage = {
        let config = config.clone();
        tokio::task::spawn_blocking(move || blocking::Storage::connect(config).unwrap())
            .await
            .unwrap()
    };
    let async_live = async_storage.live_config().await.unwrap();
    let blocking_live = {
        let storage = blocking_storage.clone();
        tokio::task::spawn_blocking(move || storage.live_config().unwrap())
            .await
            .unwrap()
    };
    let stop = Arc::new(AtomicBool::new(false));
    let (samples, bad) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let count = {
        let (samples, bad) = (samples.clone(), bad.clone());
        move |lacking: bool| {
            samples.fetch_add(1, Ordering::Relaxed);
            if lacking {
                bad.fetch_add(1, Ordering::Relaxed);
            }
        }
    };

    let mut threads = Vec::new();
    {
        let (storage, stop, count) = (blocking_storage.clone(), stop.clone(), count.clone());
        threads.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let proxy = storage.get_proxy_target("localhost").unwrap();
                count(lacks_one(proxy.as_ref()));
                let snapshot = blocking_live.snapshot();
                count(lacks_one(snapshot.proxy("localhost")));
                count(
                    required
                        .iter()
                        .any(|p| !blocking_live.is_auth_excluded("localhost", p)),
                );
            }
        }));
    }
    {
        let (storage, stop) = (blocking_storage.clone(), stop.clone());
        threads.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                storage.store_proxy_target(bare()).unwrap();
            }
        }));
    }
    {
        let (config, stop) = (config.clone(), stop.clone());
        threads.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                harness::store_legacy_localhost(&config, &["/operator"]);
            }
        }));
    }
    let async_reader = {
        let (storage, stop, count) = (async_storage.clone(), stop.clone(), count.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let proxy = storage.get_proxy_target("localhost").await.unwrap();
                count(lacks_one(proxy.as_ref()));
                count(lacks_one(async_live.snapshot().proxy("localhost")));
                count(
                    required
                        .iter()
                        .any(|p| !async_live.is_auth_excluded("localhost", p)),
                );
                tokio::task::yield_now().await;
            }
        })
    };
    let async_writer = {
        let (storage, stop) = (async_storage.clone(), stop.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                storage
                    .update_proxy_target("localhost", |p| {
                        p.auth_excluded_paths = Some(vec!["/operator".into()]);
                        p.target_url = "http://operator:1".into();
                    })
                    .await
                    .unwrap();
                storage.store_proxy_target(bare()).await.unwrap();
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, Ordering::Relaxed);
    async_reader.await.unwrap();
    async_writer.await.unwrap();
    for thread in threads {
        thread.join().unwrap();
    }
    let samples = samples.load(Ordering::Relaxed);
    assert!(samples > 100, "only {samples} samples");
    assert_eq!(bad.load(Ordering::Relaxed), 0, "of {samples} samples");

    async_storage.store_proxy_target(bare()).await.unwrap();
    let last = async_storage
        .get_proxy_target("localhost")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(last.target_url, "http://operator:1");
    assert_eq!(last.auth_excluded_paths.as_ref().unwrap()[0], "/operator");
    assert!(!lacks_one(Some(&last)));
}

/// How many `command` calls `server` has answered so far.
fn calls(server: &harness::RedisServer, command: &str) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut server.raw())
        .unwrap();
    info.lines()
        .find_map(|line| line.strip_prefix(&format!("cmdstat_{command}:calls=")))
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_initialization_serves_both_handles() {
    let server = harness::RedisServer::start();
    storage::blocking::Storage::connect(server.url().as_str()).unwrap();
    let unified = storage::UnifiedStorage::new(server.url().as_str()).unwrap();
    let before = calls(&server, "mget");
    let blocking = unified.clone();
    tokio::task::spawn_blocking(move || blocking.initialize())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        calls(&server, "mget"),
        before + 1,
        "one check on an up-to-date store"
    );
    unified.initialize_async().await.unwrap();
    let found = unified
        .asynchronous()
        .get_proxy_target("localhost")
        .await
        .unwrap();
    assert!(found.is_some());
    assert_eq!(
        calls(&server, "mget"),
        before + 1,
        "the async handle did not check again"
    );

    // And from the other side: an async storage's blocking handle.
    let other = asynchronous::Storage::connect(server.url().as_str())
        .await
        .unwrap();
    let before = calls(&server, "mget");
    let blocking = other.blocking().unwrap();
    tokio::task::spawn_blocking(move || blocking.get_proxy_target("localhost"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        calls(&server, "mget"),
        before,
        "already initialized through the async one"
    );
}

/// A blocking call on a `current_thread` runtime's only thread: it blocks that thread for
/// its round trips and ends; it never needs the runtime, so nothing waits on anything.
#[tokio::test(flavor = "current_thread")]
async fn a_blocking_call_on_a_current_thread_runtime_returns() {
    let config = harness::config("both-current-thread");
    let unified = storage::UnifiedStorage::new(config).unwrap();
    unified.initialize_async().await.unwrap();
    let proxy = unified.blocking().get_proxy_target("localhost").unwrap();
    assert!(proxy.is_some());
    let stored = unified
        .blocking()
        .store_proxy_target(ProxyTarget::new("ct.example", "http://b:1"))
        .unwrap();
    let read = unified
        .asynchronous()
        .get_proxy_target(&stored.proxy_hostname)
        .await
        .unwrap();
    assert_eq!(read.map(|p| p.target_url), Some("http://b:1".to_owned()));
}

/// The design's flexible component: one value, used from threads and tasks at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_value_serves_threads_and_tasks_at_once() {
    let unified = storage::UnifiedStorage::new(harness::config("both-flexible")).unwrap();
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let unified = unified.clone();
            std::thread::spawn(move || {
                let host = format!("t{i}.example");
                unified
                    .blocking()
                    .store_proxy_target(ProxyTarget::new(&host, "http://t:1"))?;
                unified.blocking().get_proxy_target(&host)
            })
        })
        .collect();
    let tasks: Vec<_> = (0..4)
        .map(|i| {
            let unified = unified.clone();
            tokio::spawn(async move {
                let host = format!("a{i}.example");
                unified
                    .asynchronous()
                    .store_proxy_target(ProxyTarget::new(&host, "http://a:1"))
                    .await?;
                unified.asynchronous().get_proxy_target(&host).await
            })
        })
        .collect();
    for task in tasks {
        assert!(task.await.unwrap().unwrap().is_some());
    }
    for thread in threads {
        assert!(thread.join().unwrap().unwrap().is_some());
    }
    let listed = unified.asynchronous().list_proxy_targets().await.unwrap();
    assert_eq!(listed.records.len(), 9, "localhost and the eight written");
}

/// The compiled example's component, driven here in both directions.
#[allow(dead_code, reason = "the example's `main` is its own")]
#[path = "../../examples/flexible_component.rs"]
mod flexible;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_flexible_component_writes_in_one_mode_and_reads_in_the_other() {
    let server = harness::RedisServer::start();
    let component = std::sync::Arc::new(flexible::FlexibleComponent::new(&server.url()).unwrap());
    let sync_side = std::sync::Arc::clone(&component);
    tokio::task::spawn_blocking(move || sync_side.route_now("sync.example", "http://s:1"))
        .await
        .unwrap()
        .unwrap();
    let seen = component.target("sync.example").await.unwrap();
    assert_eq!(seen.as_deref(), Some("http://s:1"));

    component
        .route("async.example", "http://a:1")
        .await
        .unwrap();
    let sync_side = std::sync::Arc::clone(&component);
    let seen = tokio::task::spawn_blocking(move || sync_side.target_now("async.example"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(seen.as_deref(), Some("http://a:1"));
    let stats = component.stats();
    assert_eq!(stats.operations, 4, "both modes count into one: {stats:?}");
    assert_eq!(
        calls(&server, "mget"),
        1,
        "one defaults check served both modes"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_modes_share_one_live_configuration_and_one_set_of_stats() {
    let server = harness::RedisServer::start();
    let asynchronous = asynchronous::Storage::connect(server.url().as_str())
        .await
        .unwrap();
    let blocking = asynchronous.blocking().unwrap();
    let live = asynchronous.live_config().await.unwrap();
    let writer = blocking.clone();
    let (from_blocking, ops) = tokio::task::spawn_blocking(move || {
        writer
            .store_proxy_target(ProxyTarget::new("b.example", "http://b:1"))
            .unwrap();
        (writer.live_config().unwrap(), writer.stats().operations)
    })
    .await
    .unwrap();
    assert!(
        from_blocking.snapshot().proxy("b.example").is_some(),
        "the blocking call's write is in what it was handed"
    );
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    let readers: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query(&mut server.raw())
        .unwrap();
    let followers = readers.lines().filter(|l| l.contains("cmd=xread")).count();
    assert_eq!(followers, 1, "one follower for both modes");
    drop(live);
    assert!(from_blocking.is_following(), "held from the blocking side");
    assert_eq!(asynchronous.stats().operations, ops, "one set of stats");
    assert_eq!(
        asynchronous.stats().snapshot_revision,
        Some(from_blocking.revision())
    );
}
