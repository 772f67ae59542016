//! Writing certificates with their domain and expiry indexes, finding them by domain or
//! expiry, and deleting one together with every proxy's reference to it.

use super::Audit;
use crate::commands::ScriptCall;

use super::{ListedRecord, ListingQuery};
use crate::error::{Error, Result};
use crate::keys::KeySpace;
use crate::model::family;
use crate::model::{self, Certificate, Fence, Listing, ProxyTarget};

/// Writes `cert` (validated, encoded as `json`) with its domain and expiry index entries.
/// `previous` is what it replaces (`None` for a create); `fence`, if given, must be the
/// newest token of its lock. Reply: [`WriteOutcome`], whose conflict owner reads
/// `{domain position}:{owner}` (see [`certificate_conflict`]).
pub fn put_certificate(
    keys: &KeySpace,
    audit: &Audit,
    cert: &Certificate,
    json: &str,
    previous: Option<(&[u8], &Certificate)>,
    fence: Option<&Fence>,
) -> ScriptCall {
    let name = &cert.cert_name;
    let mut call = lua_script!("put_certificate");
    call.key(keys.cert(name))
        .key(keys.cert_index())
        .key(keys.cert_expiry())
        .key(fence.map_or_else(|| keys.cert(name), |f| keys.fence(&f.lock)));
    for domain in &cert.domains {
        call.key(keys.cert_domain(domain));
    }
    let dropped = previous
        .iter()
        .flat_map(|(_, old)| old.domains.iter())
        .filter(|domain| !cert.domains.contains(domain));
    for domain in dropped {
        call.key(keys.cert_domain(domain));
    }
    match previous {
        None => call.arg("absent").arg(""),
        Some((raw, _)) => call.arg("exact").arg(raw),
    };
    let expiry = cert
        .expires_at
        .as_ref()
        .map(|t| t.instant().timestamp().to_string())
        .unwrap_or_default();
    call.arg(json)
        .arg(name)
        .arg(expiry)
        .arg(cert.domains.len())
        .arg(fence.map(|f| f.token.to_string()).unwrap_or_default())
        .arg(keys.record_prefix(&family::CERTIFICATES));
    super::with_feed(&mut call, keys, audit);
    call
}

/// The domain and owner named by a certificate write's conflict reply.
pub fn certificate_conflict(cert: &Certificate, reply_owner: &str) -> (String, String) {
    let (position, owner) = reply_owner.split_once(':').unwrap_or(("1", reply_owner));
    let domain = position
        .parse::<usize>()
        .ok()
        .and_then(|i| cert.domains.get(i.wrapping_sub(1)))
        .cloned()
        .unwrap_or_default();
    (domain, owner.to_owned())
}

/// A proxy to rewrite in the same script as a certificate's deletion.
pub struct ProxyRewrite {
    /// The proxy's hostname.
    pub hostname: String,
    /// Its record as read.
    pub expected: Vec<u8>,
    /// Its record without the certificate.
    pub json: String,
}

/// The proxies among `proxies` (key, stored value or `None` for a wrong Redis type) whose
/// top-level `cert_name` is `cert_name`, rewritten without it. A proxy that refers to it but
/// does not pass validation cannot be rewritten safely: that is an [`Error::Corrupt`] naming
/// the proxy, and the certificate stays.
pub fn proxy_rewrites(
    cert_name: &str,
    proxies: Vec<(String, Option<Vec<u8>>)>,
) -> Result<Vec<ProxyRewrite>> {
    let mut rewrites = Vec::new();
    for (key, raw) in proxies {
        let Some(raw) = raw else { continue };
        let refers = serde_json::from_slice::<serde_json::Value>(&raw)
            .is_ok_and(|json| json["cert_name"] == cert_name);
        if !refers {
            continue;
        }
        let mut proxy = model::decode::<ProxyTarget>(&key, &raw).map_err(|error| {
            Error::corrupt(
                &key,
                format!("refers to certificate `{cert_name}` but cannot be rewritten: {error}"),
            )
        })?;
        proxy.cert_name = None;
        let json = model::encode(&mut proxy)?;
        rewrites.push(ProxyRewrite {
            hostname: proxy.proxy_hostname,
            expected: raw,
            json,
        });
    }
    Ok(rewrites)
}

/// Removes the certificate stored as `raw` (decoded as `decoded`, or `None` if corrupt, in
/// which case its domain keys cannot be named), and rewrites the proxies that refer to it.
/// `scanned` are proxies a keyspace scan found (old-layer proxies in no index): the script
/// checks them too. Reply: [`WriteOutcome`].
pub fn delete_certificate(
    keys: &KeySpace,
    audit: &Audit,
    name: &str,
    raw: &[u8],
    decoded: Option<&Certificate>,
    rewrites: &[ProxyRewrite],
    scanned: &[String],
) -> ScriptCall {
    let domains = decoded.map(|c| c.domains.as_slice()).unwrap_or_default();
    let mut call = lua_script!("delete_certificate");
    call.key(keys.cert(name))
        .key(keys.cert_index())
        .key(keys.cert_expiry())
        .key(keys.proxy_index());
    for domain in domains {
        call.key(keys.cert_domain(domain));
    }
    for rewrite in rewrites {
        call.key(keys.proxy(&rewrite.hostname));
    }
    call.arg(raw)
        .arg(name)
        .arg(domains.len())
        .arg(keys.proxy(""))
        .arg(rewrites.len());
    for rewrite in rewrites {
        call.arg(&rewrite.hostname)
            .arg(&rewrite.expected)
            .arg(&rewrite.json);
    }
    call.arg(scanned);
    super::with_feed(&mut call, keys, audit);
    call
}

/// The certificate that owns `domain`, in one round trip. Reply: `[name, record]` or empty.
pub fn certificate_by_domain(keys: &KeySpace, domain: &str) -> ScriptCall {
    let mut call = lua_script!("get_by_owner");
    call.key(keys.cert_domain(domain))
        .arg(keys.record_prefix(&family::CERTIFICATES));
    call
}

/// The owner and record a [`certificate_by_domain`] reply names, if both exist.
pub fn owned_record(reply: Vec<Vec<u8>>) -> Option<(String, Vec<u8>)> {
    let mut items = reply.into_iter();
    let owner = String::from_utf8_lossy(&items.next()?).into_owned();
    Some((owner, items.next()?))
}

/// The certificates the expiry index names up to `until` (Unix s), soonest first, with
/// their index scores.
pub fn expiring_certificates(keys: &KeySpace, until: i64) -> ListingQuery {
    ListingQuery {
        index: keys.cert_expiry(),
        record_prefix: keys.record_prefix(&family::CERTIFICATES),
        until: Some(until),
        scores: Some(keys.cert_expiry()),
    }
}

/// Every certificate with its expiry index score: what the mixed phase checks, since the
/// old layer renews certificates without touching the index.
pub fn every_certificate_with_expiry(keys: &KeySpace) -> ListingQuery {
    ListingQuery {
        scores: Some(keys.cert_expiry()),
        ..ListingQuery::of_family(keys, &family::CERTIFICATES)
    }
}

/// An expiry index entry that disagrees with its certificate's own `expires_at`.
pub struct ExpiryRepair {
    /// The certificate's name.
    pub name: String,
    /// Its record as read: the repair applies only if it is still stored so.
    pub raw: Vec<u8>,
    /// Its own expiry (Unix s); `None` takes it out of the index.
    pub expiry: Option<i64>,
}

/// Sets each repair's index entry, where the certificate is still stored as read. Reply:
/// how many entries changed.
pub fn repair_expiry(keys: &KeySpace, repairs: &[ExpiryRepair]) -> ScriptCall {
    let mut call = lua_script!("repair_expiry");
    call.key(keys.cert_expiry());
    for repair in repairs {
        call.key(keys.cert(&repair.name));
        call.arg(&repair.name)
            .arg(&repair.raw)
            .arg(repair.expiry.map(|e| e.to_string()).unwrap_or_default());
    }
    call
}

/// Sorts the certificates a listing read into those whose own `expires_at` is at or before
/// `until` (soonest first), and the index entries that disagree with their certificate.
/// Corrupt records are reported in the listing and left alone.
pub fn expiry_check(
    keys: &KeySpace,
    listed: Vec<ListedRecord>,
    until: i64,
) -> (Listing<Certificate>, Vec<ExpiryRepair>) {
    let mut due: Listing<Certificate> = Listing::decode(std::iter::empty());
    let mut repairs = Vec::new();
    for entry in listed {
        let Some(cert) = due.take(keys.cert(&entry.member), entry.raw.as_deref()) else {
            continue;
        };
        let own = cert.expires_at.as_ref().map(|t| t.instant().timestamp());
        if own != entry.score {
            repairs.push(ExpiryRepair {
                name: entry.member,
                raw: entry.raw.unwrap_or_default(),
                expiry: own,
            });
        }
        if own.is_some_and(|expiry| expiry <= until) {
            due.records.push(cert);
        }
    }
    due.records
        .sort_by_key(|cert| cert.expires_at.as_ref().map(|t| t.instant()));
    (due, repairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(name: &str, expires: Option<&str>, score: Option<i64>) -> ListedRecord {
        let mut cert = Certificate::new(name, [format!("{name}.example")], "a@b.example");
        cert.expires_at = expires.map(|t| crate::model::Timestamp::parse(t).unwrap());
        ListedRecord {
            member: name.to_owned(),
            raw: Some(serde_json::to_vec(&cert).unwrap()),
            score,
        }
    }

    #[test]
    fn the_record_decides_expiry_and_disagreeing_entries_are_repaired() {
        let keys = KeySpace::new("");
        let soon = "2025-01-01T00:00:00+00:00";
        let later = "2030-01-01T00:00:00+00:00";
        let soon_s = 1_735_689_600;
        let until = soon_s + 86_400;
        let (due, repairs) = expiry_check(
            &keys,
            vec![
                // Renewed by the old layer: the index still says soon.
                listed("renewed", Some(later), Some(soon_s)),
                listed("due", Some(soon), Some(soon_s)),
                // Written by the old layer: no index entry yet.
                listed("unindexed", Some(soon), None),
                // Requested, not issued: no expiry, and a stale entry.
                listed("pending", None, Some(soon_s)),
            ],
            until,
        );
        let names: Vec<_> = due.records.iter().map(|c| c.cert_name.as_str()).collect();
        assert_eq!(names, ["due", "unindexed"]);
        let fixes: Vec<_> = repairs
            .iter()
            .map(|r| (r.name.as_str(), r.expiry))
            .collect();
        assert_eq!(
            fixes,
            [
                ("renewed", Some(1_893_456_000)),
                ("unindexed", Some(soon_s)),
                ("pending", None)
            ]
        );
    }
}
