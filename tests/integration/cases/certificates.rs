//! Certificates: one per domain, atomic index keys, expiry index, cascade to proxies.

use std::time::Duration;

use super::{concurrently, maybe, maybe_test, storage};
use crate::harness;
use redis::Commands;
use storage::{Certificate, Error, ProxyTarget, Secret, Timestamp};

fn cert(name: &str, domains: &[&str], expires_in_days: i64) -> Certificate {
    let mut cert = Certificate::new(name, domains.iter().copied(), "Admin@Example.com");
    cert.status = "active".into();
    cert.expires_at = Some(Timestamp::from_utc(
        Timestamp::now().instant() + chrono::Duration::days(expires_in_days),
    ));
    cert.fullchain_pem = Some(Secret::new("-----BEGIN CERTIFICATE-----\nMIIBchain\n"));
    cert.private_key_pem = Some(Secret::new("-----BEGIN PRIVATE KEY-----\nMIIEkey\n"));
    cert
}

#[maybe]
#[maybe_test]
async fn store_get_by_name_and_by_domain() {
    let storage = storage("cert-crud").await;
    let stored = storage
        .store_certificate(cert("site", &["Example.com", "www.example.com"], 60))
        .await
        .unwrap();
    assert_eq!(stored.email, "admin@example.com");
    assert_eq!(stored.domains, ["example.com", "www.example.com"]);
    let by_name = storage.get_certificate("site").await.unwrap();
    assert_eq!(by_name.as_ref(), Some(&stored));
    let by_domain = storage
        .get_certificate_by_domain("WWW.example.com")
        .await
        .unwrap();
    assert_eq!(by_domain, Some(stored));
    let none = storage
        .get_certificate_by_domain("other.example")
        .await
        .unwrap();
    assert_eq!(none, None);
    let listing = storage.list_certificates().await.unwrap();
    assert_eq!(listing.records.len(), 1);
}

#[maybe]
#[maybe_test]
async fn a_domain_of_another_certificate_is_a_conflict_and_writes_nothing() {
    let storage = storage("cert-conflict").await;
    storage
        .store_certificate(cert("first", &["a.example", "b.example"], 60))
        .await
        .unwrap();
    let clash = storage
        .store_certificate(cert("second", &["c.example", "b.example"], 60))
        .await;
    match clash {
        Err(Error::Conflict { key, owner }) => {
            assert_eq!(owner, "first");
            assert_eq!(key, storage.keys().cert_domain("b.example"));
        }
        other => panic!("expected Conflict, got {other:?}"),
    }
    let second = storage.get_certificate("second").await.unwrap();
    assert_eq!(second, None);
    let c_owner = storage
        .get_certificate_by_domain("c.example")
        .await
        .unwrap();
    assert_eq!(c_owner, None, "no domain key written on conflict");
}

#[maybe]
#[maybe_test]
async fn restore_drops_the_domains_it_no_longer_covers() {
    let storage = storage("cert-restore").await;
    storage
        .store_certificate(cert("site", &["a.example", "b.example"], 60))
        .await
        .unwrap();
    storage
        .store_certificate(cert("site", &["b.example", "c.example"], 60))
        .await
        .unwrap();
    let a = storage
        .get_certificate_by_domain("a.example")
        .await
        .unwrap();
    assert_eq!(a, None);
    let exists: bool = harness::raw(storage.config())
        .exists(storage.keys().cert_domain("a.example"))
        .unwrap();
    assert!(!exists);
    let c = storage
        .get_certificate_by_domain("c.example")
        .await
        .unwrap();
    assert_eq!(c.map(|c| c.cert_name), Some("site".to_owned()));
    // The dropped domain is free for another certificate now.
    storage
        .store_certificate(cert("other", &["a.example"], 60))
        .await
        .unwrap();
}

#[maybe]
#[maybe_test]
async fn concurrent_stores_claiming_one_domain_have_one_winner() {
    let storage = storage("cert-race").await;
    let results = concurrently(12, |i| {
        let storage = storage.clone();
        async move {
            let name = format!("c{i}");
            storage
                .store_certificate(cert(
                    &name,
                    &[&format!("own{i}.example"), "shared.example"],
                    30,
                ))
                .await
        }
    })
    .await;
    let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    for result in &results {
        match result {
            Ok(_) | Err(Error::Conflict { .. }) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    let owner = storage
        .get_certificate_by_domain("shared.example")
        .await
        .unwrap();
    assert_eq!(
        owner.map(|c| c.cert_name),
        Some(winners[0].cert_name.clone())
    );
    let listing = storage.list_certificates().await.unwrap();
    assert_eq!(listing.records.len(), 1, "losers wrote nothing");
}

#[maybe]
#[maybe_test]
async fn delete_cascades_to_proxies_atomically() {
    let storage = storage("cert-delete").await;
    storage
        .store_certificate(cert("site", &["a.example"], 60))
        .await
        .unwrap();
    for host in ["one.example", "two.example", "other.example"] {
        let mut proxy = ProxyTarget::new(host, "http://backend:8080");
        if host != "other.example" {
            proxy.cert_name = Some("site".into());
        } else {
            proxy.cert_name = Some("unrelated".into());
        }
        storage.store_proxy_target(proxy).await.unwrap();
    }
    let removed = storage.delete_certificate("site").await.unwrap();
    assert!(removed);
    let again = storage.delete_certificate("site").await.unwrap();
    assert!(!again);
    for host in ["one.example", "two.example"] {
        let proxy = storage.get_proxy_target(host).await.unwrap().unwrap();
        assert_eq!(
            proxy.cert_name, None,
            "{host} still points at the deleted certificate"
        );
    }
    let other = storage
        .get_proxy_target("other.example")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(other.cert_name.as_deref(), Some("unrelated"));
    let by_domain = storage
        .get_certificate_by_domain("a.example")
        .await
        .unwrap();
    assert_eq!(by_domain, None);
    let expiring = storage
        .get_expiring_certificates(Duration::from_secs(365 * 86_400))
        .await
        .unwrap();
    assert!(expiring.records.is_empty());
}

#[maybe]
#[maybe_test]
async fn delete_is_atomic_against_concurrent_proxy_writers() {
    let storage = storage("cert-delete-race").await;
    storage
        .store_certificate(cert("site", &["a.example"], 60))
        .await
        .unwrap();
    for i in 0..8 {
        let mut proxy = ProxyTarget::new(format!("p{i}.example"), "http://b:1");
        proxy.cert_name = Some("site".into());
        storage.store_proxy_target(proxy).await.unwrap();
    }
    // While the certificate is deleted, writers change other fields of the proxies that
    // refer to it. Afterwards none refers to it, and no writer's change was lost.
    let results = concurrently(9, |i| {
        let storage = storage.clone();
        async move {
            if i == 8 {
                return storage.delete_certificate("site").await.map(|_| ());
            }
            for round in 0..5 {
                storage
                    .update_proxy_target(&format!("p{i}.example"), |p| {
                        let headers = p.custom_headers.get_or_insert_with(Default::default);
                        headers.insert(format!("X-Round-{round}"), "1".into());
                    })
                    .await?;
            }
            Ok(())
        }
    })
    .await;
    for result in results {
        result.unwrap();
    }
    let gone = storage.get_certificate("site").await.unwrap();
    assert_eq!(gone, None);
    let proxies = storage.list_proxy_targets().await.unwrap();
    for proxy in proxies
        .records
        .iter()
        .filter(|p| p.proxy_hostname != "localhost")
    {
        assert_eq!(
            proxy.cert_name, None,
            "{} points at a deleted certificate",
            proxy.proxy_hostname
        );
        let headers = proxy.custom_headers.as_ref().map_or(0, |h| h.len());
        assert_eq!(headers, 5, "{} lost an update", proxy.proxy_hostname);
    }
}

#[maybe]
#[maybe_test]
async fn expiring_certificates_come_from_the_index_soonest_first() {
    let storage = storage("cert-expiry").await;
    storage
        .store_certificate(cert("late", &["late.example"], 80))
        .await
        .unwrap();
    storage
        .store_certificate(cert("soon", &["soon.example"], 5))
        .await
        .unwrap();
    storage
        .store_certificate(cert("sooner", &["sooner.example"], 2))
        .await
        .unwrap();
    storage
        .store_certificate(cert("expired", &["expired.example"], -1))
        .await
        .unwrap();
    let mut undated = cert("undated", &["undated.example"], 1);
    undated.expires_at = None;
    storage.store_certificate(undated).await.unwrap();

    let within_30_days = storage
        .get_expiring_certificates(Duration::from_secs(30 * 86_400))
        .await
        .unwrap();
    let names: Vec<_> = within_30_days
        .records
        .iter()
        .map(|c| c.cert_name.as_str())
        .collect();
    assert_eq!(names, ["expired", "sooner", "soon"]);
    // Renewing moves a certificate out of the window.
    storage
        .store_certificate(cert("soon", &["soon.example"], 90))
        .await
        .unwrap();
    let after = storage
        .get_expiring_certificates(Duration::from_secs(30 * 86_400))
        .await
        .unwrap();
    let names: Vec<_> = after.records.iter().map(|c| c.cert_name.as_str()).collect();
    assert_eq!(names, ["expired", "sooner"]);
}

#[maybe]
#[maybe_test]
async fn bad_certificates_name_the_field_and_corrupt_ones_the_key() {
    let storage = storage("cert-bad").await;
    let cases = [
        (cert("bad name", &["a.example"], 1), "cert_name"),
        (cert("ok", &["a.*.example"], 1), "domains"),
        (cert("ok", &["a.example", "A.example"], 1), "domains"),
        (
            Certificate {
                email: "nobody".into(),
                ..cert("ok", &["a.example"], 1)
            },
            "email",
        ),
    ];
    for (bad, field) in cases {
        let result = storage.store_certificate(bad).await;
        assert!(
            matches!(result, Err(Error::Invalid { field: f, .. }) if f == field),
            "{field}: {result:?}"
        );
    }
    let nothing = storage.list_certificates().await.unwrap();
    assert!(nothing.records.is_empty());

    let keys = storage.keys().clone();
    let mut raw = harness::raw(storage.config());
    let _: () = raw.set(keys.cert("broken"), "{\"cert_name\":").unwrap();
    let _: () = raw.sadd(keys.cert_index(), "broken").unwrap();
    let got = storage.get_certificate("broken").await;
    assert!(
        matches!(got, Err(Error::Corrupt { ref key, .. }) if *key == keys.cert("broken")),
        "{got:?}"
    );
    let listing = storage.list_certificates().await.unwrap();
    assert_eq!(listing.corrupt.len(), 1);
    let still: String = raw.get(keys.cert("broken")).unwrap();
    assert_eq!(still, "{\"cert_name\":");
}
