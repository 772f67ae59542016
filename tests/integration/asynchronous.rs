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

/// Drives `future` on this thread without any runtime, with a waker that does nothing: a
/// call that needs a runtime must say so at once instead of waiting or panicking.
fn poll_without_runtime<F: Future>(future: F) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    (0..100).find_map(|_| match future.as_mut().poll(&mut context) {
        std::task::Poll::Ready(output) => Some(output),
        std::task::Poll::Pending => None,
    })
}

#[test]
fn the_async_api_without_a_runtime_or_its_drivers_is_a_typed_error() {
    let config = crate::harness::config("async-no-runtime");
    let storage = Storage::new(config.clone()).unwrap();
    let outside = poll_without_runtime(storage.get_proxy_target("localhost"))
        .expect("answers at once without a runtime");
    match outside {
        Err(storage::Error::Runtime { reason }) => {
            assert!(reason.contains("no tokio runtime"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    for (runtime, missing) in [
        (
            tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .unwrap(),
            "IO driver",
        ),
        (
            tokio::runtime::Builder::new_current_thread()
                .enable_io()
                .build()
                .unwrap(),
            "time driver",
        ),
    ] {
        let storage = Storage::new(config.clone()).unwrap();
        match runtime.block_on(storage.get_proxy_target("localhost")) {
            Err(storage::Error::Runtime { reason }) => {
                assert!(reason.contains(missing), "{reason}")
            }
            other => panic!("{missing}: {other:?}"),
        }
    }
}

/// A live configuration whose runtime shut down says that its follower stopped, also when
/// the follower never ran: on a current-thread runtime the task spawned by `live_config`
/// is not polled before `block_on` returns.
#[test]
fn a_live_configuration_whose_runtime_was_dropped_says_it_stopped_following() {
    let config = crate::harness::config("async-live-orphan");
    for runtime in [
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap(),
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap(),
    ] {
        let live = runtime.block_on(async {
            let storage = Storage::connect(config.clone()).await.unwrap();
            storage.live_config().await.unwrap()
        });
        assert!(live.is_following());
        drop(runtime);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while live.is_following() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(!live.is_following(), "{live:?}");
        assert!(
            live.snapshot().proxy("localhost").is_some(),
            "it keeps serving"
        );
    }
}
