//! Renewal locks: mutual exclusion across threads and tasks, leases, fencing.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{concurrently, connect, maybe, maybe_test, pause, storage};
use crate::harness;
use redis::Commands;
use storage::{Certificate, Error};

#[maybe]
#[maybe_test]
async fn one_holder_at_a_time_with_increasing_tokens() {
    let storage =
        connect(harness::config("lock-mutex").with_lock_wait(Duration::from_secs(30))).await;
    let holders = Arc::new(AtomicUsize::new(0));
    let violations = Arc::new(AtomicUsize::new(0));
    const WORKERS: usize = 8;
    const ROUNDS: usize = 4;
    let tokens = concurrently(WORKERS, |_| {
        let (storage, holders, violations) = (storage.clone(), holders.clone(), violations.clone());
        async move {
            let mut tokens = Vec::new();
            for _ in 0..ROUNDS {
                let guard = storage
                    .acquire_lock("renew-site", Duration::from_secs(10))
                    .await
                    .unwrap();
                if holders.fetch_add(1, Ordering::SeqCst) != 0 {
                    violations.fetch_add(1, Ordering::SeqCst);
                }
                pause(Duration::from_millis(2)).await;
                holders.fetch_sub(1, Ordering::SeqCst);
                tokens.push(guard.token());
                let released = guard.release().await.unwrap();
                assert!(released);
            }
            tokens
        }
    })
    .await;
    assert_eq!(violations.load(Ordering::SeqCst), 0, "two holders at once");
    let mut all: Vec<u64> = tokens.into_iter().flatten().collect();
    all.sort_unstable();
    all.dedup();
    assert_eq!(
        all.len(),
        WORKERS * ROUNDS,
        "every acquisition got its own token"
    );
}

#[maybe]
#[maybe_test]
async fn try_acquire_does_not_wait_and_lock_keys_carry_a_ttl() {
    let storage = storage("lock-try").await;
    let guard = storage
        .try_acquire_lock("acct", Duration::from_secs(5))
        .await
        .unwrap();
    let guard = guard.expect("free lock is taken");
    let pttl: i64 = harness::raw(storage.config())
        .pttl(storage.keys().lock("acct"))
        .unwrap();
    assert!(pttl > 0 && pttl <= 5000, "lock key has a TTL: {pttl}");
    let started = Instant::now();
    let second = storage
        .try_acquire_lock("acct", Duration::from_secs(5))
        .await
        .unwrap();
    assert!(second.is_none());
    assert!(started.elapsed() < Duration::from_secs(2));
    guard.renew(Duration::from_secs(20)).await.unwrap();
    let pttl: i64 = harness::raw(storage.config())
        .pttl(storage.keys().lock("acct"))
        .unwrap();
    assert!(pttl > 5000, "renewed lease: {pttl}");
    let released = guard.release().await.unwrap();
    assert!(released);
    let third = storage
        .try_acquire_lock("acct", Duration::from_secs(5))
        .await
        .unwrap();
    assert!(third.is_some());

    let bad = storage
        .try_acquire_lock("a:b", Duration::from_secs(1))
        .await;
    assert!(
        matches!(bad, Err(Error::Invalid { field: "lock", .. })),
        "{bad:?}"
    );
}

#[maybe]
#[maybe_test]
async fn acquire_gives_up_after_the_configured_wait() {
    let storage =
        connect(harness::config("lock-wait").with_lock_wait(Duration::from_millis(300))).await;
    let _held = storage
        .acquire_lock("busy", Duration::from_secs(10))
        .await
        .unwrap();
    let started = Instant::now();
    let result = storage.acquire_lock("busy", Duration::from_secs(10)).await;
    assert!(
        matches!(result, Err(Error::Locked { ref lock }) if lock == "busy"),
        "{result:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[maybe]
#[maybe_test]
async fn a_stalled_holder_loses_the_lock_and_its_write_is_fenced() {
    let storage =
        connect(harness::config("lock-fence").with_lock_wait(Duration::from_secs(5))).await;
    let stale = storage
        .acquire_lock("renew-site", Duration::from_millis(150))
        .await
        .unwrap();
    pause(Duration::from_millis(400)).await;
    let fresh = storage
        .acquire_lock("renew-site", Duration::from_secs(10))
        .await
        .unwrap();
    assert!(fresh.token() > stale.token());

    let renewed = stale.renew(Duration::from_secs(10)).await;
    assert!(
        matches!(renewed, Err(Error::LockLost { .. })),
        "{renewed:?}"
    );
    let cert = Certificate::new("site", ["site.example"], "ops@site.example");
    let late = storage
        .store_certificate_fenced(cert.clone(), &stale.fence())
        .await;
    match late {
        Err(Error::Fenced {
            lock,
            token,
            newest,
        }) => {
            assert_eq!(lock, "renew-site");
            assert_eq!(token, stale.token());
            assert_eq!(newest, fresh.token());
        }
        other => panic!("expected Fenced, got {other:?}"),
    }
    let nothing = storage.get_certificate("site").await.unwrap();
    assert_eq!(nothing, None, "the fenced write left nothing");
    storage
        .store_certificate_fenced(cert, &fresh.fence())
        .await
        .unwrap();

    let released = stale.release().await.unwrap();
    assert!(!released, "a stale holder's release does nothing");
    let still_held = storage
        .try_acquire_lock("renew-site", Duration::from_secs(1))
        .await
        .unwrap();
    assert!(still_held.is_none(), "the fresh holder still holds it");
    drop(fresh);
}

#[maybe]
#[maybe_test]
async fn dropping_the_guard_releases_the_lock() {
    let storage =
        connect(harness::config("lock-drop").with_lock_wait(Duration::from_secs(5))).await;
    let guard = storage
        .acquire_lock("dropped", Duration::from_secs(60))
        .await
        .unwrap();
    drop(guard);
    let started = Instant::now();
    let again = storage
        .acquire_lock("dropped", Duration::from_secs(60))
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "released at drop, not by the TTL"
    );
    let released = again.release().await.unwrap();
    assert!(released);
}

#[maybe]
#[maybe_test]
async fn account_registration_is_fenced_too() {
    let storage =
        connect(harness::config("lock-account").with_lock_wait(Duration::from_secs(5))).await;
    let stale = storage
        .acquire_lock("acme-account", Duration::from_millis(100))
        .await
        .unwrap();
    pause(Duration::from_millis(300)).await;
    let fresh = storage
        .acquire_lock("acme-account", Duration::from_secs(10))
        .await
        .unwrap();
    let pem = storage::Secret::new("-----BEGIN EC PRIVATE KEY-----\nMHcnew\n");
    let late = storage
        .store_account_key_fenced("letsencrypt", "ops@site.example", &pem, &stale.fence())
        .await;
    assert!(matches!(late, Err(Error::Fenced { .. })), "{late:?}");
    let nothing = storage
        .get_account_key("letsencrypt", "ops@site.example")
        .await
        .unwrap();
    assert_eq!(nothing, None);
    storage
        .store_account_key_fenced("letsencrypt", "ops@site.example", &pem, &fresh.fence())
        .await
        .unwrap();
    let stored = storage
        .get_account_key("letsencrypt", "ops@site.example")
        .await
        .unwrap();
    assert_eq!(stored, Some(pem));
}
