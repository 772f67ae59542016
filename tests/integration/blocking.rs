//! The cases, compiled against `storage::blocking`.

use maybe_async::must_be_sync as maybe;
use storage::blocking::Storage;
use storage_macros::test_blocking as maybe_test;

/// Runs `work(0..n)` on `n` threads released together, and returns their results in order.
fn concurrently<T, F>(n: usize, work: F) -> Vec<T>
where
    T: Send,
    F: Fn(usize) -> T + Sync,
{
    let start = std::sync::Barrier::new(n);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let (start, work) = (&start, &work);
                scope.spawn(move || {
                    start.wait();
                    work(i)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("worker thread"))
            .collect()
    })
}

/// Sleeps the thread.
fn pause(duration: std::time::Duration) {
    std::thread::sleep(duration);
}

#[path = "cases/mod.rs"]
mod cases;

#[test]
fn redis_storage_connects_and_initializes_in_its_constructor() {
    use redis::Commands;

    let config = crate::harness::unprefixed_config();
    let storage = storage::RedisStorage::new(config.url.expose()).unwrap();
    let seeded: bool = crate::harness::raw(&config)
        .exists("proxy:localhost")
        .unwrap();
    assert!(seeded, "the constructor itself seeds");
    let localhost = storage.get_proxy_target("localhost").unwrap().unwrap();
    assert!(localhost.is_auth_excluded("/token"));
}
