//! The cases, compiled against `storage::asynchronous`.

use std::future::Future;
use std::sync::Arc;

use maybe_async::must_be_async as maybe;
use storage::asynchronous::{LiveConfig, Storage, Watcher};
use storage_macros::test_async as maybe_test;

/// Runs `work(0..n)` as `n` tokio tasks released together, and returns their results in order.
async fn concurrently<T, F, Fut>(n: usize, work: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
{
    let start = Arc::new(tokio::sync::Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let start = Arc::clone(&start);
            let job = work(i);
            tokio::spawn(async move {
                start.wait().await;
                job.await
            })
        })
        .collect();
    let mut results = Vec::with_capacity(n);
    for handle in handles {
        results.push(handle.await.expect("worker task"));
    }
    results
}

/// Sleeps the task.
async fn pause(duration: std::time::Duration) {
    tokio::time::sleep(duration).await;
}

#[path = "cases/mod.rs"]
mod cases;

#[tokio::test]
async fn async_redis_storage_initializes_on_request_or_on_first_use() {
    use redis::Commands;
    use storage::AsyncRedisStorage;

    let config = crate::harness::unprefixed_config();
    let storage = AsyncRedisStorage::new(config.url.expose()).unwrap();
    let seeded: bool = crate::harness::raw(&config)
        .exists("proxy:localhost")
        .unwrap();
    assert!(!seeded, "new does no I/O");
    storage.initialize().await.unwrap();
    let seeded: bool = crate::harness::raw(&config)
        .exists("proxy:localhost")
        .unwrap();
    assert!(seeded, "initialize seeds");

    // The old bug: an async process that never called initialize.
    let forgetful =
        AsyncRedisStorage::new(crate::harness::unprefixed_config().url.expose()).unwrap();
    let localhost = forgetful.get_proxy_target("localhost").await.unwrap();
    let localhost = localhost.expect("first use seeds");
    assert!(localhost.is_auth_excluded("/token"));
    assert!(localhost.is_auth_excluded("/authorize"));
    assert!(localhost.is_auth_excluded("/device/code"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_held_by_a_cancelled_task_is_released() {
    let config =
        crate::harness::config("lock-cancel").with_lock_wait(std::time::Duration::from_secs(5));
    let storage = Storage::connect(config).await.unwrap();
    let (taken, held) = tokio::sync::oneshot::channel();
    let holder = {
        let storage = storage.clone();
        tokio::spawn(async move {
            let _guard = storage
                .acquire_lock("cancelled", std::time::Duration::from_secs(60))
                .await
                .unwrap();
            taken.send(()).unwrap();
            std::future::pending::<()>().await;
        })
    };
    held.await.unwrap();
    holder.abort();
    let started = std::time::Instant::now();
    let guard = storage
        .acquire_lock("cancelled", std::time::Duration::from_secs(60))
        .await
        .unwrap();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "released with its task"
    );
    assert!(guard.release().await.unwrap());
}
