//! Hostile input and corrupt data: nothing panics, a failed call writes nothing, every error
//! names its key or field, the same cause gets the same error in both modes.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use super::{connect, maybe, maybe_test, storage, Storage};
use crate::harness::{self, RedisServer, ServerOptions};
use redis::Commands;
use storage::oauth::{ClientRegistration, CodeGrant, RefreshGrant};
use storage::{AuthConfig, Certificate, Error, ProxyTarget, Route, StorageConfig};

/// Asserts that `result` failed as `WrongType` naming `key`, and that nothing in Redis changed.
fn assert_wrong_type_wrote_nothing<T: std::fmt::Debug>(
    storage: &Storage,
    before: &Dump,
    key: &str,
    result: storage::Result<T>,
) {
    match result {
        Err(Error::WrongType { key: named }) => assert_eq!(named, key),
        other => panic!("expected WrongType naming {key}, got {other:?}"),
    }
    assert_unchanged(storage, before);
}

type Dump = std::collections::BTreeMap<String, String>;

fn dump(storage: &Storage) -> Dump {
    harness::dump_key_space(storage.config())
}

fn assert_unchanged(storage: &Storage, before: &Dump) {
    let after = dump(storage);
    let changed = harness::changed_keys(before, &after);
    assert!(changed.is_empty(), "a failed call changed {changed:?}");
}

/// Puts a hash where `key` belongs, in place of whatever was there.
fn plant_hash(storage: &Storage, key: &str) {
    let mut raw = harness::raw(storage.config());
    let _: () = raw.del(key).unwrap();
    let _: () = raw.hset(key, "planted", "by a test").unwrap();
}

fn grant(redirect_uri: &str) -> CodeGrant {
    CodeGrant {
        client_id: "client-a".into(),
        redirect_uri: redirect_uri.into(),
        scope: "mcp".into(),
        user: "alice".into(),
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
        code_challenge_method: "S256".into(),
    }
}

#[maybe]
#[maybe_test]
async fn a_wrong_typed_index_key_fails_every_write_of_its_family_and_writes_nothing() {
    let storage = storage("hostile-index").await;
    let keys = storage.keys().clone();
    let mut cert = Certificate::new("c", ["c.example"], "ops@example.org");
    cert.status = "active".into();
    storage.store_certificate(cert.clone()).await.unwrap();
    storage
        .store_route(Route::to_url("r", "/r", 10, "http://b:1"))
        .await
        .unwrap();

    plant_hash(&storage, &keys.proxy_index());
    let before = dump(&storage);
    let result = storage
        .store_proxy_target(ProxyTarget::new("p.example", "http://b:1"))
        .await;
    assert_wrong_type_wrote_nothing(&storage, &before, &keys.proxy_index(), result);
    let result = storage.delete_proxy_target("p.example").await;
    assert_wrong_type_wrote_nothing(&storage, &before, &keys.proxy_index(), result);

    plant_hash(&storage, &keys.route_index());
    let before = dump(&storage);
    let result = storage
        .store_route(Route::to_url("r2", "/r2", 10, "http://b:1"))
        .await;
    assert_wrong_type_wrote_nothing(&storage, &before, &keys.route_index(), result);
    let result = storage.delete_route("r").await;
    assert_wrong_type_wrote_nothing(&storage, &before, &keys.route_index(), result);

    plant_hash(&storage, &keys.cert_index());
    let before = dump(&storage);
    let mut other = Certificate::new("c2", ["c2.example"], "ops@example.org");
    other.status = "active".into();
    let result = storage.store_certificate(other).await;
    assert_wrong_type_wrote_nothing(&storage, &before, &keys.cert_index(), result);

    plant_hash(&storage, &keys.auth_config_index());
    let before = dump(&storage);
    let result = storage
        .store_auth_config(AuthConfig::new("a", "/a/*"))
        .await;
    assert_wrong_type_wrote_nothing(&storage, &before, &keys.auth_config_index(), result);

    plant_hash(&storage, &keys.oauth_client_index());
    let before = dump(&storage);
    let result = storage
        .register_client(ClientRegistration {
            redirect_uris: vec!["https://app.example/cb".into()],
            ..Default::default()
        })
        .await;
    assert_wrong_type_wrote_nothing(&storage, &before, &keys.oauth_client_index(), result);
}

#[maybe]
#[maybe_test]
async fn a_wrong_typed_record_is_named_in_reads_writes_and_listings() {
    let storage = storage("hostile-record").await;
    let keys = storage.keys().clone();
    for key in [keys.proxy("x.example"), keys.route("x"), keys.cert("x")] {
        plant_hash(&storage, &key);
    }
    let _: () = harness::raw(storage.config())
        .sadd(keys.proxy_index(), "x.example")
        .unwrap();
    let before = dump(&storage);

    let read = storage.get_proxy_target("x.example").await;
    assert_wrong_type_wrote_nothing(&storage, &before, &keys.proxy("x.example"), read);
    let update = storage.update_proxy_target("x.example", |_| {}).await;
    assert_wrong_type_wrote_nothing(&storage, &before, &keys.proxy("x.example"), update);
    let store = storage
        .store_proxy_target(ProxyTarget::new("x.example", "http://b:1"))
        .await;
    assert_wrong_type_wrote_nothing(&storage, &before, &keys.proxy("x.example"), store);
    let route = storage
        .store_route(Route::to_url("x", "/x", 10, "http://b:1"))
        .await;
    assert_wrong_type_wrote_nothing(&storage, &before, &keys.route("x"), route);
    let cert = storage
        .store_certificate(Certificate::new("x", ["x.example"], "ops@example.org"))
        .await;
    assert_wrong_type_wrote_nothing(&storage, &before, &keys.cert("x"), cert);

    // Listings go on, and report the key beside corrupt values.
    let proxies = storage.list_proxy_targets().await.unwrap();
    assert!(proxies
        .records
        .iter()
        .any(|p| p.proxy_hostname == "localhost"));
    assert_eq!(proxies.corrupt.len(), 1);
    assert_eq!(proxies.corrupt[0].key, keys.proxy("x.example"));
    let routes = storage.list_all_routes().await.unwrap();
    assert!(routes.corrupt.iter().any(|c| c.key == keys.route("x")));
    let certs = storage.list_certificates().await.unwrap();
    assert!(certs.corrupt.iter().any(|c| c.key == keys.cert("x")));
    assert_unchanged(&storage, &before);
}

#[maybe]
#[maybe_test]
async fn a_broken_localhost_makes_connect_say_what_is_broken() {
    let config = harness::config("hostile-localhost");
    let key = config.key_space().proxy("localhost");
    let _: () = harness::raw(&config).hset(&key, "a", "b").unwrap();
    let started = Instant::now();
    match Storage::connect(config).await {
        Err(Error::WrongType { key: named }) => assert_eq!(named, key),
        other => panic!("expected WrongType naming {key}, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(2), "no spinning");
}

#[maybe]
#[maybe_test]
async fn large_durations_are_invalid_input_not_panics_and_write_nothing() {
    let storage = storage("hostile-durations").await;
    let due = storage.get_expiring_certificates(Duration::MAX).await;
    assert!(due.is_ok(), "{due:?}");
    for lifetime in [Duration::MAX, Duration::from_secs(10_000_000_000_000)] {
        let result = storage
            .register_client(ClientRegistration {
                redirect_uris: vec!["https://app.example/cb".into()],
                lifetime: Some(lifetime),
                ..Default::default()
            })
            .await;
        assert!(
            matches!(
                result,
                Err(Error::Invalid {
                    field: "lifetime",
                    ..
                })
            ),
            "{result:?}"
        );
    }
    let before = dump(&storage);
    let result = storage.try_acquire_lock("huge", Duration::MAX).await;
    assert!(
        matches!(result, Err(Error::Invalid { field: "ttl", .. })),
        "{result:?}"
    );
    assert_unchanged(&storage, &before);
    for config in [
        harness::config("hostile-wait").with_lock_wait(Duration::MAX),
        harness::config("hostile-challenge").with_challenge_ttl(Duration::MAX),
        harness::config("hostile-family").with_refresh_family_ttl(Duration::MAX),
        harness::config("hostile-zero").with_code_ttl(Duration::ZERO),
    ] {
        let result = Storage::new(config);
        assert!(matches!(result, Err(Error::Invalid { .. })), "{result:?}");
    }
}

#[maybe]
#[maybe_test]
async fn a_corrupt_code_is_kept_as_it_is_and_named() {
    let storage = storage("hostile-code").await;
    let code = storage
        .issue_code(&grant("https://app.example/cb"))
        .await
        .unwrap();
    let key = storage
        .keys()
        .oauth_code(&harness::secret_hash(code.expose()));
    let corrupt = r#"{"client_id":"client-a","secret-ish":"zz-do-not-echo""#;
    let _: () = harness::raw(storage.config())
        .set_ex(&key, corrupt, 600)
        .unwrap();
    let result = storage
        .consume_code(code.expose(), "client-a", "https://app.example/cb")
        .await;
    match result {
        Err(Error::Corrupt { key: named, reason }) => {
            assert_eq!(named, key);
            assert!(!reason.contains("zz-do-not-echo"), "{reason}");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    let kept: String = harness::raw(storage.config()).get(&key).unwrap();
    assert_eq!(kept, corrupt, "the evidence stays");

    let refresh = storage
        .issue_refresh_token(&RefreshGrant {
            client_id: "client-a".into(),
            user: "alice".into(),
            scope: "mcp".into(),
        })
        .await
        .unwrap();
    let family_key = storage.keys().oauth_family(&refresh.family);
    let _: () = harness::raw(storage.config())
        .hdel(&family_key, "current")
        .unwrap();
    let result = storage
        .rotate_refresh_token(refresh.token.expose(), "client-a")
        .await;
    assert!(
        matches!(&result, Err(Error::Corrupt { key, .. }) if *key == family_key),
        "{result:?}"
    );
    let revoked: Option<String> = harness::raw(storage.config())
        .hget(&family_key, "revoked")
        .unwrap();
    assert_eq!(revoked.as_deref(), Some("0"), "left as it was");
}

#[maybe]
#[maybe_test]
async fn bad_input_is_refused_by_field_and_writes_nothing() {
    let storage = storage("hostile-input").await;
    let before = dump(&storage);
    let long = "a".repeat(70_000);
    for hostname in [".", "..", "a/b", "a@b", "a\0b", "a\u{200b}b", long.as_str()] {
        let result = storage
            .store_proxy_target(ProxyTarget::new(hostname, "http://b:1"))
            .await;
        assert!(
            matches!(
                result,
                Err(Error::Invalid {
                    field: "proxy_hostname",
                    ..
                })
            ),
            "{hostname:?}: {result:?}"
        );
        let read = storage.get_proxy_target(hostname).await;
        assert!(matches!(read, Err(Error::Invalid { .. })), "{read:?}");
    }
    for paths in [vec!["/"], vec!["/\0"]] {
        let mut proxy = ProxyTarget::new("open.example", "http://b:1");
        proxy.auth_excluded_paths = Some(paths.iter().map(|p| (*p).to_owned()).collect());
        let result = storage.store_proxy_target(proxy).await;
        assert!(
            matches!(
                result,
                Err(Error::Invalid {
                    field: "auth_excluded_paths",
                    ..
                })
            ),
            "{paths:?}: {result:?}"
        );
    }
    let mut proxy = ProxyTarget::new("inject.example", "http://b:1");
    proxy.custom_headers = Some([("X-A".to_owned(), "v\r\nSet-Cookie: x".to_owned())].into());
    let result = storage.store_proxy_target(proxy).await;
    assert!(
        matches!(
            result,
            Err(Error::Invalid {
                field: "custom_headers",
                ..
            })
        ),
        "{result:?}"
    );
    let result = storage
        .store_certificate(Certificate::new(
            "../../etc",
            ["a.example"],
            "ops@example.org",
        ))
        .await;
    assert!(
        matches!(
            result,
            Err(Error::Invalid {
                field: "cert_name",
                ..
            })
        ),
        "{result:?}"
    );
    let result = storage
        .store_certificate(Certificate::new("c", ["a.example"], "ops@example.org\0"))
        .await;
    assert!(
        matches!(result, Err(Error::Invalid { field: "email", .. })),
        "{result:?}"
    );
    let result = storage
        .register_client(ClientRegistration {
            redirect_uris: vec!["javascript:alert(1)".into()],
            ..Default::default()
        })
        .await;
    assert!(
        matches!(
            result,
            Err(Error::Invalid {
                field: "redirect_uris",
                ..
            })
        ),
        "{result:?}"
    );
    let result = storage.issue_code(&grant("not a url")).await;
    assert!(
        matches!(
            result,
            Err(Error::Invalid {
                field: "redirect_uri",
                ..
            })
        ),
        "{result:?}"
    );
    let result = storage.revoke_family("*").await;
    assert!(
        matches!(
            result,
            Err(Error::Invalid {
                field: "family",
                ..
            })
        ),
        "{result:?}"
    );
    let mut route = Route::to_url("huge-regex", "a{1000}{1000}", 10, "http://b:1");
    route.is_regex = true;
    let result = storage.store_route(route).await;
    assert!(
        matches!(
            result,
            Err(Error::Invalid {
                field: "path_pattern",
                ..
            })
        ),
        "{result:?}"
    );
    assert_unchanged(&storage, &before);

    // With the explicit opt-in, `/` may be excluded.
    let open = connect(harness::config("hostile-open").with_root_auth_exclusion_allowed()).await;
    let mut proxy = ProxyTarget::new("open.example", "http://b:1");
    proxy.auth_excluded_paths = Some(vec!["/".into()]);
    let stored = open.store_proxy_target(proxy).await.unwrap();
    assert!(stored.excludes_root_from_auth());
}

#[maybe]
#[maybe_test]
async fn each_cause_has_one_error_in_both_modes() {
    let server = RedisServer::start_with(ServerOptions::new().password("right-pass"));
    let wrong = format!("redis://:wrong-pass@127.0.0.1:{}/", server.port());
    let config = StorageConfig::new(&wrong)
        .unwrap()
        .with_connect_timeout(Duration::from_millis(500));
    let error = Storage::connect(config).await.expect_err("wrong password");
    assert!(error.is_auth_error(), "{error:?}");
    assert!(!format!("{error} {error:?}").contains("wrong-pass"));

    // A port that accepts and never answers: connect_timeout is the whole wait.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("redis://127.0.0.1:{}/", silent.local_addr().unwrap().port());
    let config = StorageConfig::new(&url)
        .unwrap()
        .with_connect_timeout(Duration::from_secs(1))
        .with_response_timeout(Duration::from_secs(1));
    let started = Instant::now();
    let error = Storage::connect(config).await.expect_err("no answer");
    assert!(
        error.is_timeout() || error.is_connection_error(),
        "{error:?}"
    );
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "{:?}",
        started.elapsed()
    );

    // Nothing listens: refused.
    drop(silent);
    let config = StorageConfig::new(&url)
        .unwrap()
        .with_connect_timeout(Duration::from_millis(500));
    let error = Storage::connect(config).await.expect_err("refused");
    assert!(error.is_connection_error(), "{error:?}");

    // A read-only replica refuses writes with its own error.
    let master = RedisServer::start();
    let replica = RedisServer::start();
    let storage = connect(StorageConfig::new(&replica.url()).unwrap()).await;
    let _: () = redis::cmd("REPLICAOF")
        .arg("127.0.0.1")
        .arg(master.port())
        .query(&mut replica.raw())
        .unwrap();
    let error = storage
        .store_proxy_target(ProxyTarget::new("ro.example", "http://b:1"))
        .await
        .expect_err("a replica refuses writes");
    assert!(error.is_read_only(), "{error:?}");
}

/// Every read of one record over a key that holds a hash: `WrongType` naming that key, and
/// nothing written, whichever key of the read it is.
#[maybe]
#[maybe_test]
async fn every_read_over_a_wrong_typed_record_names_its_key() {
    let storage = storage("hostile-reads").await;
    let keys = storage.keys().clone();
    let state = "state-abcdefghijklmnop";
    let code = "code-abcdefghijklmnopqrstuvwxyz";
    let planted = [
        keys.proxy("x.example"),
        keys.route("x"),
        keys.cert("x"),
        keys.cert_domain("d.example"),
        keys.auth_config("x"),
        keys.oauth_client("client-x"),
        keys.challenge("tok-x"),
        keys.account_key("letsencrypt", "ops@example.org"),
        keys.oauth_token("jti-x"),
        keys.oauth_state(&harness::secret_hash(state)),
        keys.oauth_code(&harness::secret_hash(code)),
    ];
    for key in &planted {
        plant_hash(&storage, key);
    }
    // A domain that names a certificate whose record is a hash.
    let _: () = harness::raw(storage.config())
        .set(keys.cert_domain("y.example"), "x")
        .unwrap();
    let before = dump(&storage);
    let check = |key: &str, result: storage::Result<()>| {
        assert_wrong_type_wrote_nothing(&storage, &before, key, result);
    };
    check(
        &planted[0],
        storage.get_proxy_target("x.example").await.map(drop),
    );
    check(&planted[1], storage.get_route("x").await.map(drop));
    check(&planted[2], storage.get_certificate("x").await.map(drop));
    check(
        &planted[3],
        storage
            .get_certificate_by_domain("d.example")
            .await
            .map(drop),
    );
    check(
        &planted[2],
        storage
            .get_certificate_by_domain("y.example")
            .await
            .map(drop),
    );
    check(&planted[4], storage.get_auth_config("x").await.map(drop));
    check(&planted[5], storage.get_client("client-x").await.map(drop));
    check(&planted[6], storage.get_challenge("tok-x").await.map(drop));
    check(
        &planted[7],
        storage
            .get_account_key("letsencrypt", "ops@example.org")
            .await
            .map(drop),
    );
    check(
        &planted[8],
        storage.introspect_access_token("jti-x").await.map(drop),
    );
    check(&planted[9], storage.consume_state(state).await.map(drop));
    check(
        &planted[10],
        storage
            .consume_code(code, "client-a", "https://app.example/cb")
            .await
            .map(drop),
    );
}
