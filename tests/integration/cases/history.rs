//! The configuration's history: every change with its actor and the record before and
//! after, kept by count and by age, across a Redis that restarted empty, with the old
//! layer's changes recorded once; and rollback, refused past the retention or over a record
//! a writer changed since, racing a real writer.

use std::time::Duration;

use super::{concurrently, connect, maybe, maybe_test, pause, storage};
use crate::harness::{self, RedisServer};
use redis::Commands;
use storage::{
    Action, Actor, AuthConfig, Certificate, ChangeFamily, Error, HistoryQuery, ProxyTarget,
    RollbackScope, Route, Secret, StorageConfig, Timestamp,
};
use test_harness::legacy::LegacyWriter;

fn certificate(name: &str, domain: &str) -> Certificate {
    let mut cert = Certificate::new(name, [domain], "admin@example.com");
    cert.status = "active".into();
    cert.expires_at = Some(Timestamp::from_utc(
        Timestamp::now().instant() + chrono::Duration::days(60),
    ));
    cert.fullchain_pem = Some(Secret::new("-----BEGIN CERTIFICATE-----\nMIIBchain\n"));
    cert.private_key_pem = Some(Secret::new("-----BEGIN PRIVATE KEY-----\nMIIEkey\n"));
    cert
}

/// Every entry of `family` and `id`, oldest first.
#[maybe]
async fn history_of(
    storage: &super::Storage,
    family: ChangeFamily,
    id: &str,
) -> Vec<storage::HistoryEntry> {
    storage
        .history(&HistoryQuery::all().record(family, id))
        .await
        .unwrap()
}

#[maybe]
#[maybe_test]
async fn every_change_records_its_actor_and_the_record_before_and_after() {
    let config = harness::config("hist-actor").with_actor("certmanager@host-3");
    let storage = connect(config).await;
    storage
        .store_proxy_target(ProxyTarget::new("a.example", "http://a:1"))
        .await
        .unwrap();
    storage
        .update_proxy_target("a.example", |p| p.auth_enabled = true)
        .await
        .unwrap();
    storage
        .store_route(Route::to_url("api", "/api", 60, "http://api:1"))
        .await
        .unwrap();
    storage.delete_route("api").await.unwrap();
    storage
        .store_auth_config(AuthConfig::new("admin", "/admin/*"))
        .await
        .unwrap();
    storage
        .store_certificate(certificate("c1", "c1.example"))
        .await
        .unwrap();

    let proxy = history_of(&storage, ChangeFamily::Proxy, "a.example").await;
    assert_eq!(proxy.len(), 2, "{proxy:?}");
    assert!(proxy
        .iter()
        .all(|e| e.actor == Actor::Named("certmanager@host-3".into())));
    assert_eq!(proxy[0].change.action(), Action::Create);
    assert_eq!(
        proxy[1].change.before, proxy[0].change.after,
        "the chain is unbroken"
    );
    let fields: Vec<String> = proxy[1]
        .change
        .fields()
        .into_iter()
        .map(|f| f.field)
        .collect();
    assert_eq!(fields, ["auth_enabled"]);
    assert!(proxy[0].revision < proxy[1].revision);

    let route = history_of(&storage, ChangeFamily::Route, "api").await;
    let actions: Vec<Action> = route.iter().map(|e| e.change.action()).collect();
    assert_eq!(actions, [Action::Create, Action::Delete]);
    assert!(route[1].change.after.is_none() && route[1].change.before.is_some());
    let auth = history_of(&storage, ChangeFamily::AuthConfig, "admin").await;
    assert_eq!(auth.len(), 1);

    let cert = history_of(&storage, ChangeFamily::Certificate, "c1").await;
    assert_eq!(cert.len(), 1);
    let recorded = cert[0].change.after.as_deref().unwrap();
    assert!(recorded.contains("c1.example"), "{recorded}");
    // No PEM anywhere in the history, as Redis holds it.
    let raw: Vec<redis::Value> = redis::cmd("XRANGE")
        .arg(storage.keys().history())
        .arg("-")
        .arg("+")
        .query(&mut harness::raw(storage.config()))
        .unwrap();
    let shown = format!("{raw:?}");
    assert!(
        !shown.contains("MIIEkey") && !shown.contains("MIIBchain"),
        "PEM in the history"
    );

    // The seeded defaults are in it too, by the same actor.
    let seeded = history_of(&storage, ChangeFamily::Proxy, "localhost").await;
    assert_eq!(seeded.len(), 1);
    assert_eq!(seeded[0].actor.to_string(), "certmanager@host-3");
}

#[maybe]
#[maybe_test]
async fn the_history_is_kept_by_count_and_by_age_apart_from_the_feed() {
    let counted = connect(
        harness::config("hist-count").with_history_retention(50, Duration::from_secs(3600)),
    )
    .await;
    for round in 0..400 {
        counted
            .store_proxy_target(ProxyTarget::new("n.example", format!("http://n:{round}")))
            .await
            .unwrap();
    }
    let kept = counted.history(&HistoryQuery::all()).await.unwrap();
    // About 50: Redis trims whole stream nodes (100 entries by default).
    assert!((50..=160).contains(&kept.len()), "{}", kept.len());
    let (revision, oldest) = counted.history_bounds().await.unwrap();
    assert_eq!(oldest, kept[0].revision - 1);
    assert_eq!(kept.last().unwrap().revision, revision);
    // The feed keeps its own length.
    let feed: usize = harness::raw(counted.config())
        .xlen(counted.keys().changes())
        .unwrap();
    assert!(feed > kept.len(), "{feed}");

    let aged = connect(
        harness::config("hist-age").with_history_retention(10_000, Duration::from_millis(300)),
    )
    .await;
    for round in 0..5 {
        aged.store_proxy_target(ProxyTarget::new("o.example", format!("http://o:{round}")))
            .await
            .unwrap();
    }
    pause(Duration::from_millis(500)).await;
    // A write looks at the oldest entry's age every 16 revisions: 16 more pass one.
    for round in 0..16 {
        aged.store_proxy_target(ProxyTarget::new(
            "o.example",
            format!("http://o:{}", 100 + round),
        ))
        .await
        .unwrap();
    }
    let kept = aged.history(&HistoryQuery::all()).await.unwrap();
    let old = kept
        .iter()
        .filter(|e| {
            e.at.is_some_and(|at| at.elapsed().unwrap() > Duration::from_millis(400))
        })
        .count();
    assert_eq!(
        old,
        0,
        "no change older than the age is kept: {}",
        kept.len()
    );
    assert!(!kept.is_empty() && kept.len() <= 16, "{}", kept.len());

    let off = connect(harness::config("hist-off").without_history()).await;
    off.store_proxy_target(ProxyTarget::new("p.example", "http://p:1"))
        .await
        .unwrap();
    let none = off.history(&HistoryQuery::all()).await.unwrap();
    assert!(none.is_empty());
}

#[maybe]
#[maybe_test]
async fn a_rollback_restores_records_families_or_one_record_as_its_own_actor() {
    let storage = storage("hist-rollback").await;
    storage
        .store_proxy_target(ProxyTarget::new("keep.example", "http://k:1"))
        .await
        .unwrap();
    storage
        .store_route(Route::to_url("api", "/api", 60, "http://api:1"))
        .await
        .unwrap();
    let (good, _) = storage.history_bounds().await.unwrap();

    // The bad change: a proxy edited, one created, a route deleted and one moved.
    storage
        .update_proxy_target("keep.example", |p| p.target_url = "http://broken:1".into())
        .await
        .unwrap();
    storage
        .store_proxy_target(ProxyTarget::new("new.example", "http://n:1"))
        .await
        .unwrap();
    storage.delete_route("api").await.unwrap();
    storage
        .store_route(Route::to_url("other", "/other", 61, "http://o:1"))
        .await
        .unwrap();
    let (bad, _) = storage.history_bounds().await.unwrap();

    let diff = storage.diff_revisions(good, bad).await.unwrap();
    let named: Vec<(ChangeFamily, &str, Action)> = diff
        .iter()
        .map(|d| (d.family, d.id.as_str(), d.action()))
        .collect();
    assert_eq!(named.len(), 4, "{named:?}");

    // One record first.
    let plan = storage
        .plan_rollback(
            good,
            &RollbackScope::Record(ChangeFamily::Route, "api".into()),
        )
        .await
        .unwrap();
    assert_eq!(plan.steps.len(), 1);
    assert_eq!(plan.steps[0].change.action(), Action::Create);
    storage.apply_rollback(&plan, false).await.unwrap();
    let api = storage.get_route("api").await.unwrap();
    assert!(api.is_some());
    let other = storage.get_route("other").await.unwrap();
    assert!(other.is_some(), "out of scope");

    // Then one family.
    let plan = storage
        .plan_rollback(good, &RollbackScope::Family(ChangeFamily::Proxy))
        .await
        .unwrap();
    assert_eq!(plan.steps.len(), 2, "{plan:?}");
    storage.apply_rollback(&plan, false).await.unwrap();
    let kept = storage
        .get_proxy_target("keep.example")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.target_url, "http://k:1");
    let gone = storage.get_proxy_target("new.example").await.unwrap();
    assert!(gone.is_none());

    // Then the rest, by the one-call form.
    let plan = storage.rollback_to(good).await.unwrap();
    assert_eq!(
        plan.steps.len(),
        1,
        "only the route `other` was left: {plan:?}"
    );
    let other = storage.get_route("other").await.unwrap();
    assert!(other.is_none());
    let again = storage.rollback_to(good).await.unwrap();
    assert!(again.is_empty(), "nothing left to do");

    // The rollback's writes are in the history, by their own actor, and in the feed.
    let entries = history_of(&storage, ChangeFamily::Proxy, "keep.example").await;
    let last = entries.last().unwrap();
    let actor = last.actor.to_string();
    assert!(actor.ends_with(&format!("(rollback to {good})")), "{actor}");
    let live = storage.live_config().await.unwrap();
    assert_eq!(
        live.snapshot().proxy("keep.example").unwrap().target_url,
        "http://k:1"
    );
    assert!(live
        .snapshot()
        .route_for("keep.example", "/api/x")
        .is_some());
}

#[maybe]
#[maybe_test]
async fn a_rollback_over_a_record_changed_since_writes_nothing_unless_forced() {
    let storage = storage("hist-changed").await;
    for host in ["a.example", "b.example"] {
        storage
            .store_proxy_target(ProxyTarget::new(host, "http://v:1"))
            .await
            .unwrap();
    }
    let (good, _) = storage.history_bounds().await.unwrap();
    for host in ["a.example", "b.example"] {
        storage
            .update_proxy_target(host, |p| p.target_url = "http://v:2".into())
            .await
            .unwrap();
    }
    let plan = storage
        .plan_rollback(good, &RollbackScope::All)
        .await
        .unwrap();
    // A writer gets in between the plan and its writing.
    storage
        .update_proxy_target("b.example", |p| p.target_url = "http://v:3".into())
        .await
        .unwrap();
    match storage.apply_rollback(&plan, false).await {
        Err(Error::ChangedSince { keys, written }) => {
            assert_eq!(keys, [storage.keys().proxy("b.example")]);
            assert_eq!(written, 0);
        }
        other => panic!("expected ChangedSince, got {other:?}"),
    }
    let a = storage
        .get_proxy_target("a.example")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.target_url, "http://v:2", "nothing was written");
    // A record written behind the feed's and the history's back is a change since, too.
    let plan = storage
        .plan_rollback(good, &RollbackScope::All)
        .await
        .unwrap();
    let key = storage.keys().proxy("a.example");
    let mut raw = harness::raw(storage.config());
    let stored: String = raw.get(&key).unwrap();
    let _: () = raw
        .set(&key, stored.replace("http://v:2", "http://v:9"))
        .unwrap();
    let refused = storage.apply_rollback(&plan, false).await;
    assert!(matches!(refused, Err(Error::ChangedSince { .. })));

    storage.apply_rollback(&plan, true).await.unwrap();
    for host in ["a.example", "b.example"] {
        let proxy = storage.get_proxy_target(host).await.unwrap().unwrap();
        assert_eq!(proxy.target_url, "http://v:1", "{host}");
    }
}

#[maybe]
#[maybe_test]
async fn a_rollback_racing_a_writer_leaves_every_record_whole_and_the_history_unbroken() {
    let storage = storage("hist-race").await;
    storage
        .store_proxy_target(ProxyTarget::new("race.example", "http://r:0"))
        .await
        .unwrap();
    let (good, _) = storage.history_bounds().await.unwrap();
    let results = concurrently(2, |worker| {
        let storage = storage.clone();
        async move {
            let mut outcomes = Vec::new();
            for round in 1..=40 {
                if worker == 0 {
                    storage
                        .update_proxy_target("race.example", |p| {
                            p.target_url = format!("http://r:{round}");
                        })
                        .await
                        .unwrap();
                } else {
                    outcomes.push(storage.rollback_to(good).await.map(|plan| plan.steps.len()));
                }
            }
            outcomes
        }
    })
    .await;
    for outcome in results.into_iter().flatten() {
        match outcome {
            Ok(_) | Err(Error::ChangedSince { .. }) => {}
            Err(other) => panic!("a rollback racing a writer failed otherwise: {other}"),
        }
    }
    let entries = history_of(&storage, ChangeFamily::Proxy, "race.example").await;
    assert!(entries.len() > 40, "{}", entries.len());
    for pair in entries.windows(2) {
        assert_eq!(
            pair[1].change.before, pair[0].change.after,
            "revision {} does not follow {}",
            pair[1].revision, pair[0].revision
        );
    }
    let now = storage
        .get_proxy_target("race.example")
        .await
        .unwrap()
        .unwrap();
    let last = entries.last().unwrap().change.after.as_deref().unwrap();
    assert!(
        last.contains(&now.target_url),
        "the history ends at the record's value"
    );
}

#[maybe]
#[maybe_test]
async fn a_rollback_past_the_retention_is_refused_with_the_oldest_revision() {
    let storage =
        connect(harness::config("hist-past").with_history_retention(10, Duration::from_secs(3600)))
            .await;
    for round in 0..300 {
        storage
            .store_proxy_target(ProxyTarget::new("p.example", format!("http://p:{round}")))
            .await
            .unwrap();
    }
    let (_, oldest) = storage.history_bounds().await.unwrap();
    assert!(oldest > 5, "{oldest}");
    match storage.rollback_to(2).await {
        Err(Error::HistoryTooShort {
            requested,
            oldest: told,
        }) => {
            assert_eq!((requested, told), (2, oldest));
        }
        other => panic!("expected HistoryTooShort, got {other:?}"),
    }
    let diff = storage.diff_revisions(1, oldest + 1).await;
    assert!(matches!(diff, Err(Error::HistoryTooShort { .. })));
    let (revision, _) = storage.history_bounds().await.unwrap();
    let ahead = storage.rollback_to(revision + 5).await;
    assert!(matches!(ahead, Err(Error::Invalid { .. })));
    let plan = storage.rollback_to(oldest).await.unwrap();
    assert_eq!(
        plan.steps.len(),
        1,
        "the oldest revision kept can be restored"
    );
}

#[maybe]
#[maybe_test]
async fn the_history_starts_again_in_a_new_epoch_after_redis_restarted_empty() {
    let mut server = RedisServer::start();
    let config = StorageConfig::new(&server.url())
        .unwrap()
        .with_defaults_check_interval(Duration::from_millis(50));
    let storage = connect(config).await;
    for round in 0..5 {
        storage
            .store_proxy_target(ProxyTarget::new("e.example", format!("http://e:{round}")))
            .await
            .unwrap();
    }
    let before = storage.history(&HistoryQuery::all()).await.unwrap();
    let old_epoch = before.last().unwrap().epoch.clone();
    let (old_revision, _) = storage.history_bounds().await.unwrap();

    server.restart();
    // The next operation re-seeds the defaults: the history's first entries in the new epoch.
    let mut entries = Vec::new();
    for _ in 0..100 {
        if let Ok(found) = storage.history(&HistoryQuery::all()).await {
            if !found.is_empty() {
                entries = found;
                break;
            }
        }
        pause(Duration::from_millis(50)).await;
    }
    assert!(!entries.is_empty(), "the defaults re-seeded are recorded");
    assert!(entries.iter().all(|e| e.epoch != old_epoch), "{entries:?}");
    assert!(
        entries.iter().all(|e| e.change.id != "e.example"),
        "the old history is gone"
    );
    storage
        .store_proxy_target(ProxyTarget::new("e.example", "http://e:999"))
        .await
        .unwrap();
    let after = history_of(&storage, ChangeFamily::Proxy, "e.example").await;
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].change.action(), Action::Create);
    let (revision, oldest) = storage.history_bounds().await.unwrap();
    assert!(revision < old_revision, "revisions count again: {revision}");
    assert_eq!(oldest, 0);
}

#[maybe]
#[maybe_test]
async fn an_old_layer_change_is_recorded_once_as_unknown_with_the_value_found() {
    let config =
        harness::config("hist-old").with_live_reconcile_interval(Duration::from_millis(100));
    let first = connect(config.clone()).await;
    let second = connect(config).await;
    first
        .store_proxy_target(ProxyTarget::new("legacy.example", "http://l:1"))
        .await
        .unwrap();
    let lives = [
        first.live_config().await.unwrap(),
        second.live_config().await.unwrap(),
    ];
    let mut old = LegacyWriter::new(harness::raw(first.config()), first.keys().prefix());
    old.proxy("legacy.example", "http://l:2", |_| {});
    old.proxy("fresh.example", "http://f:1", |_| {});

    for _ in 0..100 {
        let found = history_of(&first, ChangeFamily::Proxy, "legacy.example").await;
        if found.len() >= 2 {
            break;
        }
        pause(Duration::from_millis(50)).await;
    }
    // Several reconcile passes of both processes later, it is still there once.
    pause(Duration::from_millis(500)).await;
    let found = history_of(&first, ChangeFamily::Proxy, "legacy.example").await;
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[1].actor, Actor::OldLayer);
    assert_eq!(found[1].actor.to_string(), "unknown (old layer)");
    assert!(found[1]
        .change
        .after
        .as_deref()
        .unwrap()
        .contains("http://l:2"));
    assert!(found[1]
        .change
        .before
        .as_deref()
        .unwrap()
        .contains("http://l:1"));
    let fresh = history_of(&first, ChangeFamily::Proxy, "fresh.example").await;
    assert_eq!(fresh.len(), 1, "{fresh:?}");
    assert_eq!(fresh[0].change.action(), Action::Create);
    for live in &lives {
        assert_eq!(
            live.snapshot().proxy("legacy.example").unwrap().target_url,
            "http://l:2"
        );
    }
}

#[maybe]
#[maybe_test]
async fn a_rollback_keeps_the_default_proxy_and_its_oauth_exclusions_whatever_the_history_holds() {
    let storage = storage("hist-defaults").await;
    let keys = storage.keys().clone();
    let mut raw = harness::raw(storage.config());
    let localhost: String = raw.get(keys.proxy("localhost")).unwrap();
    // A hostile writer's entry: localhost "was" a record without the paths OAuth needs.
    let mut stripped: serde_json::Value = serde_json::from_str(&localhost).unwrap();
    stripped["auth_excluded_paths"] = serde_json::json!(["/custom"]);
    let (revision, _) = storage.history_bounds().await.unwrap();
    let _: () = redis::cmd("XADD")
        .arg(keys.history())
        .arg(format!("{}-0", revision + 1))
        .arg(&[
            ("family", "proxy"),
            ("id", "localhost"),
            ("op", "put"),
            ("actor", "intruder"),
            ("before", &stripped.to_string()),
            ("after", &localhost),
        ])
        .query(&mut raw)
        .unwrap();
    let _: () = raw.set(keys.revision(), revision + 1).unwrap();

    let plan = storage.rollback_to(revision).await.unwrap();
    assert_eq!(plan.steps.len(), 1, "{plan:?}");
    let restored = storage
        .get_proxy_target("localhost")
        .await
        .unwrap()
        .unwrap();
    let paths = restored.auth_excluded_paths.unwrap_or_default();
    assert!(paths.contains(&"/custom".to_owned()), "{paths:?}");
    for required in ["/token", "/authorize", "/.well-known/"] {
        assert!(
            paths.iter().any(|p| p == required),
            "{required} lost: {paths:?}"
        );
    }
    let stored: String = raw.get(keys.proxy("localhost")).unwrap();
    assert!(
        stored.contains("/token"),
        "the stored record keeps them too"
    );

    // Back to before the defaults were seeded: the default proxy is left, with its reason.
    let plan = storage.plan_rollback(0, &RollbackScope::All).await.unwrap();
    let skipped: Vec<&str> = plan.skipped.iter().map(|s| s.change.id.as_str()).collect();
    assert!(skipped.contains(&"localhost"), "{plan:?}");
    storage.apply_rollback(&plan, false).await.unwrap();
    let localhost = storage.get_proxy_target("localhost").await.unwrap();
    assert!(localhost.is_some(), "the default proxy is required");
}

#[maybe]
#[maybe_test]
async fn a_hostile_history_entry_is_named_and_never_stops_a_write_nor_is_deleted() {
    let storage = storage("hist-hostile").await;
    let keys = storage.keys().clone();
    let mut raw = harness::raw(storage.config());
    let (revision, _) = storage.history_bounds().await.unwrap();
    let id = format!("{}-0", revision + 1);
    let _: () = redis::cmd("XADD")
        .arg(keys.history())
        .arg(&id)
        .arg(&[("family", "nonsense"), ("id", "x")])
        .query(&mut raw)
        .unwrap();
    let _: () = raw.set(keys.revision(), revision + 1).unwrap();
    storage
        .store_proxy_target(ProxyTarget::new("after.example", "http://a:1"))
        .await
        .unwrap();
    let read = storage.history(&HistoryQuery::all()).await;
    match read {
        Err(Error::Corrupt { key, reason }) => {
            assert_eq!(key, keys.history());
            assert!(reason.contains(&id), "{reason}");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    let refused = storage.rollback_to(revision).await;
    assert!(matches!(refused, Err(Error::Corrupt { .. })), "{refused:?}");
    let kept: Vec<redis::Value> = redis::cmd("XRANGE")
        .arg(keys.history())
        .arg(&id)
        .arg(&id)
        .query(&mut raw)
        .unwrap();
    assert_eq!(kept.len(), 1, "the entry is left where it is");
}
