//! Where keys land, and what each topology refuses: the configuration families under one
//! hash tag, OAuth state spread by its own ids. On a cluster the slots are the cluster's
//! own answer (`CLUSTER KEYSLOT`); elsewhere the same CRC16 the specification gives.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::{maybe, maybe_test, storage, Storage};
use crate::harness::{self, Deployment};
use storage::oauth::{CodeGrant, RefreshGrant};
use storage::{AuthConfig, Error, ProxyTarget, StorageConfig, Timestamp};

/// The slot of `key`, as the deployment computes it.
fn slot_of(key: &str) -> u16 {
    match harness::deployment() {
        Deployment::Cluster(cluster) => cluster.slot_of(key),
        _ => {
            let tagged = key
                .split_once('{')
                .and_then(|(_, rest)| rest.split_once('}'))
                .map(|(tag, _)| tag)
                .filter(|tag| !tag.is_empty())
                .unwrap_or(key);
            crc16::State::<crc16::XMODEM>::calculate(tagged.as_bytes()) % 16384
        }
    }
}

/// Touches every family: configuration and OAuth state.
#[maybe]
async fn write_every_family(storage: &Storage) {
    storage
        .store_proxy_target(ProxyTarget::new("api.example.com", "http://api:8080"))
        .await
        .unwrap();
    storage
        .store_auth_config(AuthConfig::new("admin", "/admin/*"))
        .await
        .unwrap();
    storage.store_challenge("tok-1", "tok-1.key").await.unwrap();
    let lock = storage
        .acquire_lock("cert-api", Duration::from_secs(30))
        .await
        .unwrap();
    lock.release().await.unwrap();
    for n in 0..12 {
        let grant = CodeGrant {
            client_id: "client-a".into(),
            redirect_uri: "https://app.example/cb".into(),
            scope: "mcp".into(),
            user: format!("user-{n}"),
            code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
            code_challenge_method: "S256".into(),
        };
        storage.issue_code(&grant).await.unwrap();
        let now = Timestamp::now();
        storage
            .store_access_token(storage::oauth::AccessToken {
                jti: format!("jti-{n}"),
                client_id: "client-a".into(),
                user: format!("user-{n}"),
                scope: "mcp".into(),
                issued_at: now.clone(),
                expires_at: Timestamp::from_utc(now.instant() + chrono::Duration::hours(1)),
                family: None,
                extra: Default::default(),
            })
            .await
            .unwrap();
    }
    for n in 0..4 {
        let grant = RefreshGrant {
            client_id: "client-a".into(),
            user: format!("user-{n}"),
            scope: "mcp".into(),
        };
        let issued = storage.issue_refresh_token(&grant).await.unwrap();
        storage
            .rotate_refresh_token(issued.token.expose(), "client-a")
            .await
            .unwrap();
    }
    storage
        .start_device_authorization("tv-app", "mcp")
        .await
        .unwrap();
    storage
        .store_state("state-of-the-layout-test", "{}")
        .await
        .unwrap();
}

#[maybe]
#[maybe_test]
async fn configuration_shares_one_slot_and_oauth_state_spreads() {
    let storage = storage("layout").await;
    write_every_family(&storage).await;
    let keys: Vec<String> = harness::dump_key_space(storage.config())
        .into_keys()
        .collect();
    let prefix = storage.keys().prefix().to_owned();
    let config_slot = slot_of(&prefix);
    let (configuration, oauth): (Vec<&String>, Vec<&String>) =
        keys.iter().partition(|key| key.starts_with(&prefix));
    assert!(configuration.len() > 10, "{configuration:?}");
    for key in &configuration {
        assert_eq!(
            slot_of(key),
            config_slot,
            "{key} left the configuration's slot"
        );
    }
    let slots: BTreeSet<u16> = oauth.iter().map(|key| slot_of(key)).collect();
    assert!(
        slots.len() > 10,
        "OAuth keys crowd {} slots: {oauth:?}",
        slots.len()
    );
    if let Deployment::Cluster(cluster) = harness::deployment() {
        let mut per_master: BTreeMap<u16, usize> = BTreeMap::new();
        for key in &oauth {
            *per_master.entry(cluster.serving(key).0).or_default() += 1;
        }
        assert_eq!(
            per_master.len(),
            3,
            "OAuth keys on every master: {per_master:?}"
        );
    }
}

#[maybe]
#[maybe_test]
async fn a_cluster_configuration_needs_a_hash_tag_prefix() {
    let url = "redis+cluster://127.0.0.1:7000,127.0.0.1:7001";
    for prefix in ["", "gw:", "{}:"] {
        let config = StorageConfig::new(url).unwrap().with_key_prefix(prefix);
        let refused = Storage::new(config);
        assert!(
            matches!(&refused, Err(Error::Invalid { field: "key_prefix", reason }) if reason.contains("hash tag")),
            "{prefix:?}: {refused:?}"
        );
    }
    let config = StorageConfig::cluster(["redis://127.0.0.1:7000"]).unwrap();
    assert_eq!(config.key_prefix, "{gw}:");
    assert!(
        Storage::new(config).is_ok(),
        "the cluster constructor's prefix is accepted"
    );
}
