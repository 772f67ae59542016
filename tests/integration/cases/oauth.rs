//! OAuth server state: single-use codes, rotating refresh tokens, the device flow, state,
//! clients, and secrets that never rest in the clear.

use std::time::Duration;

use super::{concurrently, connect, maybe, maybe_test, pause, storage, Storage};
use crate::harness;
use redis::Commands;
use storage::oauth::{
    AccessToken, ClientRegistration, CodeGrant, CodeRedemption, DeviceDecision, DevicePoll,
    RefreshGrant, RefreshOutcome,
};
use storage::{Error, Timestamp};

fn grant(client: &str) -> CodeGrant {
    CodeGrant {
        client_id: client.into(),
        redirect_uri: "https://app.example/cb".into(),
        scope: "mcp".into(),
        user: "alice".into(),
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
        code_challenge_method: "S256".into(),
    }
}

fn refresh_grant(user: &str) -> RefreshGrant {
    RefreshGrant {
        client_id: "client-a".into(),
        user: user.into(),
        scope: "mcp".into(),
    }
}

fn access_token(jti: &str, user: &str, family: Option<&str>) -> AccessToken {
    let now = Timestamp::now();
    AccessToken {
        jti: jti.into(),
        client_id: "client-a".into(),
        user: user.into(),
        scope: "mcp".into(),
        issued_at: now.clone(),
        expires_at: Timestamp::from_utc(now.instant() + chrono::Duration::seconds(3600)),
        family: family.map(Into::into),
        extra: Default::default(),
    }
}

#[maybe]
#[maybe_test]
async fn a_code_is_redeemed_once_and_a_replay_is_named() {
    let storage = storage("oauth-code").await;
    let code = storage.issue_code(&grant("client-a")).await.unwrap();
    let wrong_client = storage
        .consume_code(code.expose(), "client-b", "https://app.example/cb")
        .await
        .unwrap();
    assert_eq!(wrong_client, CodeRedemption::WrongClient);
    let wrong_uri = storage
        .consume_code(code.expose(), "client-a", "https://evil.example/cb")
        .await
        .unwrap();
    assert_eq!(wrong_uri, CodeRedemption::WrongRedirectUri);
    let first = storage
        .consume_code(code.expose(), "client-a", "https://app.example/cb")
        .await
        .unwrap();
    assert_eq!(first, CodeRedemption::Redeemed(grant("client-a")));

    // Tokens issued from the code are revoked when the code is replayed.
    let family = storage
        .issue_refresh_token(&refresh_grant("alice"))
        .await
        .unwrap();
    let bound = storage
        .bind_code_family(code.expose(), &family.family)
        .await
        .unwrap();
    assert!(bound);
    let replay = storage
        .consume_code(code.expose(), "client-a", "https://app.example/cb")
        .await
        .unwrap();
    assert_eq!(
        replay,
        CodeRedemption::Replayed {
            family: Some(family.family.clone())
        }
    );
    let revoked = storage.revoke_code_grant(&replay).await.unwrap();
    assert!(revoked);
    let after = storage
        .rotate_refresh_token(family.token.expose(), "client-a")
        .await
        .unwrap();
    assert_eq!(after, RefreshOutcome::Revoked);

    let unknown = storage
        .consume_code("made-up", "client-a", "https://app.example/cb")
        .await
        .unwrap();
    assert_eq!(unknown, CodeRedemption::Unknown);
    let bad = storage
        .issue_code(&CodeGrant {
            code_challenge_method: "md5".into(),
            ..grant("c")
        })
        .await;
    assert!(
        matches!(
            bad,
            Err(Error::Invalid {
                field: "code_challenge_method",
                ..
            })
        ),
        "{bad:?}"
    );
}

#[maybe]
#[maybe_test]
async fn an_expired_code_is_expired_not_unknown() {
    let config = harness::config("oauth-code-expiry").with_code_ttl(Duration::from_secs(1));
    let storage = connect(config).await;
    let code = storage.issue_code(&grant("client-a")).await.unwrap();
    pause(Duration::from_millis(2100)).await;
    let late = storage
        .consume_code(code.expose(), "client-a", "https://app.example/cb")
        .await
        .unwrap();
    assert_eq!(late, CodeRedemption::Expired);
}

#[maybe]
#[maybe_test]
async fn sixty_four_concurrent_consumers_one_redeems() {
    let storage = storage("oauth-code-race").await;
    let code = storage.issue_code(&grant("client-a")).await.unwrap();
    let outcomes = concurrently(64, |_| {
        let (storage, code) = (storage.clone(), code.expose().to_owned());
        async move {
            storage
                .consume_code(&code, "client-a", "https://app.example/cb")
                .await
                .unwrap()
        }
    })
    .await;
    let redeemed = outcomes
        .iter()
        .filter(|o| matches!(o, CodeRedemption::Redeemed(_)))
        .count();
    let replayed = outcomes
        .iter()
        .filter(|o| matches!(o, CodeRedemption::Replayed { .. }))
        .count();
    assert_eq!((redeemed, replayed), (1, 63), "{outcomes:?}");
}

#[maybe]
#[maybe_test]
async fn refresh_tokens_rotate_and_reuse_revokes_the_family() {
    let config = harness::config("oauth-refresh").with_refresh_grace(Duration::from_secs(1));
    let storage = connect(config).await;
    let first = storage
        .issue_refresh_token(&refresh_grant("bob"))
        .await
        .unwrap();
    storage
        .store_access_token(access_token("jti-bob-1", "bob", Some(&first.family)))
        .await
        .unwrap();

    let RefreshOutcome::Rotated(second) = storage
        .rotate_refresh_token(first.token.expose(), "client-a")
        .await
        .unwrap()
    else {
        panic!("the current token rotates");
    };
    assert_eq!(
        (second.user.as_str(), second.family.as_str()),
        ("bob", first.family.as_str())
    );
    let wrong = storage
        .rotate_refresh_token(second.token.expose(), "client-b")
        .await
        .unwrap();
    assert_eq!(wrong, RefreshOutcome::WrongClient);

    // Within the grace window the old token is a retry: a fresh successor, the last one dies.
    let RefreshOutcome::Retried(third) = storage
        .rotate_refresh_token(first.token.expose(), "client-a")
        .await
        .unwrap()
    else {
        panic!("a prompt retry gets a fresh successor");
    };
    let RefreshOutcome::Rotated(fourth) = storage
        .rotate_refresh_token(third.token.expose(), "client-a")
        .await
        .unwrap()
    else {
        panic!("the retried successor is current");
    };

    // After the grace window, presenting a rotated token is reuse: the family is revoked.
    pause(Duration::from_millis(1200)).await;
    let reuse = storage
        .rotate_refresh_token(first.token.expose(), "client-a")
        .await
        .unwrap();
    assert_eq!(
        reuse,
        RefreshOutcome::Reused {
            family: first.family.clone()
        }
    );
    let current = storage
        .rotate_refresh_token(fourth.token.expose(), "client-a")
        .await
        .unwrap();
    assert_eq!(current, RefreshOutcome::Revoked, "the whole family is gone");
    let access = storage.introspect_access_token("jti-bob-1").await.unwrap();
    assert_eq!(
        access, None,
        "access tokens of the family are revoked with it"
    );
    let unknown = storage
        .rotate_refresh_token("nonsense", "client-a")
        .await
        .unwrap();
    assert_eq!(unknown, RefreshOutcome::Unknown);
}

#[maybe]
#[maybe_test]
async fn thirty_two_concurrent_refreshes_leave_one_working_successor() {
    let config = harness::config("oauth-refresh-race").with_refresh_grace(Duration::from_secs(3));
    let storage = connect(config).await;
    let issued = storage
        .issue_refresh_token(&refresh_grant("carol"))
        .await
        .unwrap();
    let outcomes = concurrently(32, |_| {
        let (storage, token) = (storage.clone(), issued.token.expose().to_owned());
        async move {
            storage
                .rotate_refresh_token(&token, "client-a")
                .await
                .unwrap()
        }
    })
    .await;
    let successors: Vec<String> = outcomes
        .iter()
        .map(|outcome| match outcome {
            RefreshOutcome::Rotated(next) | RefreshOutcome::Retried(next) => {
                next.token.expose().to_owned()
            }
            other => panic!("within the grace window every refresh succeeds: {other:?}"),
        })
        .collect();
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| matches!(o, RefreshOutcome::Rotated(_)))
            .count(),
        1
    );
    // Exactly one successor is current. Checking one that is not is reuse and revokes the
    // family, so find the current one by rotating each on a copy of the question: the
    // family's record names its current hash.
    let family_key = storage.keys().oauth_family(&issued.family);
    let current: String = harness::raw(storage.config())
        .hget(&family_key, "current")
        .unwrap();
    let working: Vec<&String> = successors
        .iter()
        .filter(|s| harness::secret_hash(s) == current)
        .collect();
    assert_eq!(working.len(), 1, "exactly one successor works");
    let RefreshOutcome::Rotated(next) = storage
        .rotate_refresh_token(working[0], "client-a")
        .await
        .unwrap()
    else {
        panic!("the working successor rotates");
    };
    pause(Duration::from_millis(3200)).await;
    let old = storage
        .rotate_refresh_token(issued.token.expose(), "client-a")
        .await
        .unwrap();
    assert!(matches!(old, RefreshOutcome::Reused { .. }), "{old:?}");
    let after = storage
        .rotate_refresh_token(next.token.expose(), "client-a")
        .await
        .unwrap();
    assert_eq!(after, RefreshOutcome::Revoked);
}

#[maybe]
#[maybe_test]
async fn access_tokens_are_indexed_and_revoked_by_user_and_client() {
    let storage = storage("oauth-access").await;
    for jti in ["dave-1", "dave-2"] {
        storage
            .store_access_token(access_token(jti, "dave", None))
            .await
            .unwrap();
    }
    storage
        .store_access_token(access_token("erin-1", "erin", None))
        .await
        .unwrap();
    let family = storage
        .issue_refresh_token(&refresh_grant("dave"))
        .await
        .unwrap();
    let found = storage
        .introspect_access_token("dave-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.user, "dave");

    let index = storage.keys().oauth_user_grants("dave");
    let ttl: i64 = harness::raw(storage.config()).ttl(&index).unwrap();
    assert!(ttl > 0, "a grant index expires with its grants: {ttl}");

    let revoked = storage.revoke_user_grants("dave").await.unwrap();
    assert_eq!(revoked, 3);
    let gone = storage.introspect_access_token("dave-2").await.unwrap();
    assert_eq!(gone, None);
    let rotated = storage
        .rotate_refresh_token(family.token.expose(), "client-a")
        .await
        .unwrap();
    assert_eq!(rotated, RefreshOutcome::Revoked);
    let erin = storage.introspect_access_token("erin-1").await.unwrap();
    assert!(erin.is_some(), "other users keep theirs");
    let by_client = storage.revoke_client_grants("client-a").await.unwrap();
    assert_eq!(by_client, 1);
    let single = storage.revoke_access_token("erin-1").await.unwrap();
    assert!(!single, "already revoked with the client");
}

#[maybe]
#[maybe_test]
async fn the_device_flow_enforces_its_interval_and_redeems_once() {
    let config = harness::config("oauth-device").with_device_interval(Duration::from_secs(1));
    let storage = connect(config).await;
    let start = storage
        .start_device_authorization("tv-app", "mcp")
        .await
        .unwrap();
    let device = start.device_code.expose();
    let first = storage.poll_device(device, "tv-app").await.unwrap();
    assert_eq!(first, DevicePoll::Pending);
    let fast = storage.poll_device(device, "tv-app").await.unwrap();
    let slowed = DevicePoll::SlowDown {
        interval: Duration::from_secs(6),
    };
    assert_eq!(fast, slowed, "polled too fast: the interval grows by 5 s");
    let other = storage.poll_device(device, "other-app").await.unwrap();
    assert_eq!(other, DevicePoll::WrongClient);

    let typed = start.user_code.to_lowercase().replace('-', " ");
    let approved = storage.approve_device(&typed, "frank").await.unwrap();
    assert_eq!(approved, DeviceDecision::Recorded);
    let again = storage.deny_device(&start.user_code).await.unwrap();
    assert_eq!(again, DeviceDecision::AlreadyDecided("approved".into()));
    pause(Duration::from_millis(6100)).await;
    let redeemed = storage.poll_device(device, "tv-app").await.unwrap();
    let expected = DevicePoll::Approved {
        user: "frank".into(),
        scope: "mcp".into(),
    };
    assert_eq!(redeemed, expected);
    pause(Duration::from_millis(6100)).await;
    let twice = storage.poll_device(device, "tv-app").await.unwrap();
    assert_eq!(twice, DevicePoll::AlreadyRedeemed);

    let denied = storage
        .start_device_authorization("tv-app", "mcp")
        .await
        .unwrap();
    let deny = storage.deny_device(&denied.user_code).await.unwrap();
    assert_eq!(deny, DeviceDecision::Recorded);
    let poll = storage
        .poll_device(denied.device_code.expose(), "tv-app")
        .await
        .unwrap();
    assert_eq!(poll, DevicePoll::Denied);
    let unknown = storage.approve_device("BCDF-GHJK", "x").await.unwrap();
    assert_eq!(unknown, DeviceDecision::Unknown);
    let never = storage.poll_device("never-issued", "tv-app").await.unwrap();
    assert_eq!(never, DevicePoll::Expired);
    let typo = storage.approve_device("AEIO-U123", "x").await;
    assert!(
        matches!(
            typo,
            Err(Error::Invalid {
                field: "user_code",
                ..
            })
        ),
        "{typo:?}"
    );
}

#[maybe]
#[maybe_test]
async fn state_is_consumed_once() {
    let storage = storage("oauth-state").await;
    let state = "state-value-0123456789";
    storage
        .store_state(state, "{\"return_to\":\"/\"}")
        .await
        .unwrap();
    let first = storage.consume_state(state).await.unwrap();
    assert_eq!(first.as_deref(), Some("{\"return_to\":\"/\"}"));
    let second = storage.consume_state(state).await.unwrap();
    assert_eq!(second, None);
    let short = storage.store_state("short", "x").await;
    assert!(
        matches!(short, Err(Error::Invalid { field: "state", .. })),
        "{short:?}"
    );
}

#[maybe]
#[maybe_test]
async fn clients_register_with_hashed_secrets_and_keep_their_lifetime() {
    let storage = storage("oauth-client").await;
    let registered = storage
        .register_client(ClientRegistration {
            client_name: "CLI".into(),
            redirect_uris: vec!["http://127.0.0.1:8765/cb".into()],
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            scope: "mcp".into(),
            confidential: true,
            lifetime: Some(Duration::from_secs(3600)),
        })
        .await
        .unwrap();
    let secret = registered
        .client_secret
        .clone()
        .expect("confidential clients get a secret");
    let id = registered.client.client_id.clone();
    let right = storage
        .verify_client_secret(&id, secret.expose())
        .await
        .unwrap();
    let wrong = storage.verify_client_secret(&id, "guess").await.unwrap();
    assert!(right && !wrong);
    assert!(!format!("{registered:?}").contains(secret.expose()));

    let key = storage.keys().oauth_client(&id);
    let ttl_before: i64 = harness::raw(storage.config()).ttl(&key).unwrap();
    assert!(ttl_before > 3500, "{ttl_before}");
    let renamed = storage
        .update_client(&id, |c| c.client_name = "CLI v2".into())
        .await
        .unwrap();
    assert_eq!(renamed.client_name, "CLI v2");
    let ttl_after: i64 = harness::raw(storage.config()).ttl(&key).unwrap();
    assert!(
        ttl_after > 3500,
        "an update keeps the lifetime: {ttl_after}"
    );
    let listed = storage.list_clients().await.unwrap();
    assert_eq!(listed.records.len(), 1);
    let deleted = storage.delete_client(&id).await.unwrap();
    assert!(deleted);
    let gone = storage.get_client(&id).await.unwrap();
    assert_eq!(gone, None);

    let bad = storage
        .register_client(ClientRegistration {
            redirect_uris: vec![],
            ..Default::default()
        })
        .await;
    assert!(
        matches!(
            bad,
            Err(Error::Invalid {
                field: "redirect_uris",
                ..
            })
        ),
        "{bad:?}"
    );
}

/// Issues every kind of OAuth secret and takes each through its flow (a code redeemed and
/// bound, a refresh token rotated and retried, a device approved and polled, a state stored
/// and another consumed, a confidential client), then reads every key and value on the
/// server: none of them may appear in clear text, and their hashes must.
#[maybe]
#[maybe_test]
async fn no_secret_rests_in_clear_text() {
    let storage: Storage = storage("oauth-scan").await;
    let mut secrets = Vec::new();

    let code = storage.issue_code(&grant("client-a")).await.unwrap();
    let redeemed = storage
        .consume_code(code.expose(), "client-a", "https://app.example/cb")
        .await
        .unwrap();
    assert!(matches!(redeemed, CodeRedemption::Redeemed(_)));
    let pending_code = storage.issue_code(&grant("client-a")).await.unwrap();

    let refresh = storage
        .issue_refresh_token(&refresh_grant("gina"))
        .await
        .unwrap();
    storage
        .bind_code_family(code.expose(), &refresh.family)
        .await
        .unwrap();
    let RefreshOutcome::Rotated(rotated) = storage
        .rotate_refresh_token(refresh.token.expose(), "client-a")
        .await
        .unwrap()
    else {
        panic!("the first rotation rotates");
    };
    let RefreshOutcome::Retried(retried) = storage
        .rotate_refresh_token(refresh.token.expose(), "client-a")
        .await
        .unwrap()
    else {
        panic!("a retry within the grace window is a retry");
    };

    let device = storage
        .start_device_authorization("tv-app", "mcp")
        .await
        .unwrap();
    storage
        .approve_device(&device.user_code, "gina")
        .await
        .unwrap();
    storage
        .poll_device(device.device_code.expose(), "tv-app")
        .await
        .unwrap();
    let waiting_device = storage
        .start_device_authorization("tv-app", "mcp")
        .await
        .unwrap();

    let client = storage
        .register_client(ClientRegistration {
            redirect_uris: vec!["https://app.example/cb".into()],
            confidential: true,
            ..Default::default()
        })
        .await
        .unwrap();
    let client_secret = client.client_secret.expect("a confidential client has one");

    let kept_state = "scan-state-kept-0123456789";
    let taken_state = "scan-state-taken-0123456789";
    for state in [kept_state, taken_state] {
        storage.store_state(state, "payload").await.unwrap();
    }
    storage.consume_state(taken_state).await.unwrap();

    for secret in [
        &code,
        &pending_code,
        &refresh.token,
        &rotated.token,
        &retried.token,
        &device.device_code,
        &waiting_device.device_code,
        &client_secret,
    ] {
        secrets.push(secret.expose().to_owned());
    }
    secrets.extend([kept_state.to_owned(), taken_state.to_owned()]);

    let dump = harness::dump_everything(storage.config());
    for secret in &secrets {
        assert!(
            !dump.contains(secret.as_str()),
            "a secret is stored in clear text"
        );
    }
    for stored in [
        &pending_code,
        &retried.token,
        &waiting_device.device_code,
        &client_secret,
    ] {
        assert!(
            dump.contains(&harness::secret_hash(stored.expose())),
            "the scan saw the hash of a stored secret"
        );
    }
    assert!(dump.contains(&harness::secret_hash(kept_state)));
}
