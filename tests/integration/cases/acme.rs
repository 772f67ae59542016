//! ACME challenges and account keys.

use std::time::Duration;

use super::{connect, maybe, maybe_test, storage};
use crate::harness;
use redis::Commands;
use storage::{Error, Secret};

#[maybe]
#[maybe_test]
async fn challenges_live_for_their_ttl() {
    let storage = storage("acme-challenge").await;
    let stored = storage
        .store_challenge("tok_1-A", "tok_1-A.thumb")
        .await
        .unwrap();
    let fetched = storage.get_challenge("tok_1-A").await.unwrap();
    assert_eq!(fetched, Some(stored));
    let ttl: i64 = harness::raw(storage.config())
        .ttl(storage.keys().challenge("tok_1-A"))
        .unwrap();
    assert!(
        (3590..=3600).contains(&ttl),
        "default TTL 3600 s, got {ttl}"
    );
    let removed = storage.delete_challenge("tok_1-A").await.unwrap();
    assert!(removed);
    let gone = storage.get_challenge("tok_1-A").await.unwrap();
    assert_eq!(gone, None);

    let short =
        connect(harness::config("acme-short").with_challenge_ttl(Duration::from_secs(1))).await;
    short.store_challenge("brief", "brief.thumb").await.unwrap();
    let ttl: i64 = harness::raw(short.config())
        .ttl(short.keys().challenge("brief"))
        .unwrap();
    assert!((0..=1).contains(&ttl), "configured TTL, got {ttl}");

    let bad = storage.store_challenge("a/b", "x").await;
    assert!(
        matches!(bad, Err(Error::Invalid { field: "token", .. })),
        "{bad:?}"
    );
}

#[maybe]
#[maybe_test]
async fn account_keys_round_trip_as_plain_pem() {
    let storage = storage("acme-account").await;
    let pem =
        Secret::new("-----BEGIN EC PRIVATE KEY-----\nMHcreal\n-----END EC PRIVATE KEY-----\n");
    storage
        .store_account_key("acme-v02_api_letsencrypt_org", "Admin@Example.com", &pem)
        .await
        .unwrap();
    let fetched = storage
        .get_account_key("acme-v02_api_letsencrypt_org", "admin@example.com")
        .await
        .unwrap();
    assert_eq!(fetched, Some(pem.clone()));
    let raw: String = harness::raw(storage.config())
        .get(
            storage
                .keys()
                .account_key("acme-v02_api_letsencrypt_org", "admin@example.com"),
        )
        .unwrap();
    assert_eq!(raw, pem.expose());
    let bad = storage
        .store_account_key("bad:provider", "a@b.example", &pem)
        .await;
    assert!(
        matches!(
            bad,
            Err(Error::Invalid {
                field: "provider",
                ..
            })
        ),
        "{bad:?}"
    );
    let bad = storage.store_account_key("p", "not-an-email", &pem).await;
    assert!(
        matches!(bad, Err(Error::Invalid { field: "email", .. })),
        "{bad:?}"
    );
}
