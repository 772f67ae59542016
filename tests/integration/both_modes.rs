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
