//! The cases, compiled against `storage::asynchronous`.

use std::future::Future;
use std::sync::Arc;

use maybe_async::must_be_async as maybe;
use storage::asynchronous::Storage;
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

#[path = "cases/mod.rs"]
mod cases;
