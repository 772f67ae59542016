//! The cases, compiled against `storage::blocking`.

use maybe_async::must_be_sync as maybe;
use storage::blocking::{LiveConfig, Storage, Watcher};
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

/// Everything the storage logs and every span it opens, captured while it handles secrets:
/// spans name the operation and the mode, and no secret or value appears.
#[test]
fn spans_name_operations_and_logs_carry_no_secrets() {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::NEW)
        .with_ansi(false)
        .finish();
    let mut secrets = Vec::new();
    tracing::subscriber::with_default(subscriber, || {
        let config = crate::harness::config("tracing");
        let storage = Storage::connect(config.clone()).unwrap();
        let mut proxy = storage::ProxyTarget::new("traced.example", "http://backend:8080");
        proxy.github_client_secret = Some(storage::Secret::new("gh-secret-in-a-span"));
        storage.store_proxy_target(proxy).unwrap();
        secrets.push("gh-secret-in-a-span".to_owned());
        // A corrupt record is logged by key, with no part of its value.
        let key = storage.keys().proxy("corrupt.example");
        redis::cmd("SET")
            .arg(&key)
            .arg("{\"github_client_secret\":\"corrupt-secret\"")
            .query::<()>(&mut crate::harness::raw(&config))
            .unwrap();
        redis::cmd("SADD")
            .arg(storage.keys().proxy_index())
            .arg("corrupt.example")
            .query::<()>(&mut crate::harness::raw(&config))
            .unwrap();
        let listing = storage.list_proxy_targets().unwrap();
        assert_eq!(listing.corrupt.len(), 1);
        secrets.push("corrupt-secret".to_owned());
        let code = storage
            .issue_code(&storage::oauth::CodeGrant {
                client_id: "c".into(),
                redirect_uri: "https://app.example/cb".into(),
                scope: "mcp".into(),
                user: "u".into(),
                code_challenge: "challenge".into(),
                code_challenge_method: "S256".into(),
            })
            .unwrap();
        storage
            .consume_code(code.expose(), "c", "https://app.example/cb")
            .unwrap();
        secrets.push(code.expose().to_owned());
        let refresh = storage
            .issue_refresh_token(&storage::oauth::RefreshGrant {
                client_id: "c".into(),
                user: "u".into(),
                scope: "mcp".into(),
            })
            .unwrap();
        storage
            .rotate_refresh_token(refresh.token.expose(), "c")
            .unwrap();
        storage
            .rotate_refresh_token(refresh.token.expose(), "c")
            .unwrap();
        secrets.push(refresh.token.expose().to_owned());
        let wrong = format!(
            "redis://:pw-in-a-log@127.0.0.1:{}/",
            crate::harness::shared().port()
        );
        assert!(Storage::connect(wrong.as_str()).is_err());
        secrets.push("pw-in-a-log".to_owned());
    });
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    for operation in [
        "initialize",
        "store_proxy_target",
        "list_proxy_targets",
        "consume_code",
    ] {
        assert!(text.contains(operation), "no span for {operation}:\n{text}");
    }
    assert!(
        text.contains("mode=\"blocking\""),
        "spans carry the mode:\n{text}"
    );
    assert!(
        text.contains("corrupt.example"),
        "the corrupt record is logged by key"
    );
    for secret in &secrets {
        assert!(
            !text.contains(secret.as_str()),
            "a secret reached the log:\n{text}"
        );
    }
}
