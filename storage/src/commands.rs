//! Every Redis command and script call the storage sends, built without running it.
//!
//! As in redis-rs, building is separate from running: the functions here return `Cmd` and
//! `ScriptInvocation` values and decode replies, and the mode modules only execute them. That
//! keeps the two compiled copies of the storage free of logic and this file unit-testable.
//! The Lua sources live beside it in `lua/`.

use std::sync::LazyLock;
use std::time::Duration;

use redis::{Cmd, Pipeline, Script, ScriptInvocation};

use crate::error::{Error, Result};
use crate::keys::{KeySpace, INDEX_VERSION};
use crate::model::{self, Certificate, ProxyTarget, Route};

static COMPARE_AND_SET: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/compare_and_set.lua")));
static PUT_INDEXED: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/put_indexed.lua")));
static DELETE_INDEXED: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/delete_indexed.lua")));
static PUT_ROUTE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/put_route.lua")));
static DELETE_ROUTE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/delete_route.lua")));
static LIST_RECORDS: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/list_records.lua")));
static PUT_CERTIFICATE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/put_certificate.lua")));
static DELETE_CERTIFICATE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/delete_certificate.lua")));
static GET_BY_OWNER: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/get_by_owner.lua")));
static FENCED_SET: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/fenced_set.lua")));
static LOCK_ACQUIRE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/lock_acquire.lua")));
static LOCK_RENEW: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/lock_renew.lua")));
static LOCK_RELEASE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/lock_release.lua")));

/// How many keys one SCAN step asks for while rebuilding the indexes.
const SCAN_BATCH: usize = 1000;

/// `PING`.
pub fn ping() -> Cmd {
    redis::cmd("PING")
}

/// `GET key`.
pub fn get(key: &str) -> Cmd {
    let mut cmd = redis::cmd("GET");
    cmd.arg(key);
    cmd
}

/// `MGET keys...`.
pub fn mget(keys: &[String]) -> Cmd {
    let mut cmd = redis::cmd("MGET");
    cmd.arg(keys);
    cmd
}

/// One step of `SCAN cursor MATCH pattern COUNT n`; the reply is `(next cursor, keys)`.
pub fn scan(cursor: u64, pattern: &str) -> Cmd {
    let mut cmd = redis::cmd("SCAN");
    cmd.arg(cursor)
        .arg("MATCH")
        .arg(pattern)
        .arg("COUNT")
        .arg(SCAN_BATCH);
    cmd
}

/// What a pass over the keyspace found of records written without this crate's indexes.
#[derive(Debug, Default)]
pub struct LegacyRecords {
    /// Hostnames of proxy records.
    pub hostnames: Vec<String>,
    /// Ids from the legacy route ordering index.
    pub route_ids: Vec<String>,
    /// Certificate names, with their expiry (Unix s) where their record has one.
    pub certificates: Vec<(String, Option<i64>)>,
}

/// Adds legacy records to the index sets and marks the indexes complete, atomically.
pub fn add_to_indexes(keys: &KeySpace, found: &LegacyRecords) -> Pipeline {
    let mut pipe = redis::pipe();
    pipe.atomic();
    if !found.hostnames.is_empty() {
        pipe.sadd(keys.proxy_index(), &found.hostnames).ignore();
    }
    if !found.route_ids.is_empty() {
        pipe.sadd(keys.route_index(), &found.route_ids).ignore();
    }
    for (name, expiry) in &found.certificates {
        pipe.sadd(keys.cert_index(), name).ignore();
        if let Some(expiry) = expiry {
            pipe.zadd(keys.cert_expiry(), name, expiry).ignore();
        }
    }
    pipe.set(keys.index_version(), INDEX_VERSION).ignore();
    pipe
}

/// The expiry (Unix s) of each certificate record found, by name; corrupt ones get none.
pub fn certificate_expiries(
    keys: &KeySpace,
    names: Vec<String>,
    records: Vec<Option<Vec<u8>>>,
) -> Vec<(String, Option<i64>)> {
    names
        .into_iter()
        .zip(records)
        .map(|(name, raw)| {
            let expiry = raw
                .and_then(|raw| model::decode::<Certificate>(&keys.cert(&name), &raw).ok())
                .and_then(|cert| cert.expires_at)
                .map(|at| at.instant().timestamp());
            (name, expiry)
        })
        .collect()
}

/// Replaces `key` only if it still holds `expected`. Reply: [`WriteOutcome`].
pub fn compare_and_set(key: &str, expected: &[u8], new: &str) -> ScriptInvocation<'static> {
    let mut call = COMPARE_AND_SET.prepare_invoke();
    call.key(key).arg(expected).arg(new);
    call
}

/// Writes a record and its index entry; `only_if_absent` makes it a create, `ttl` gives the
/// record a lifetime. Reply: [`WriteOutcome`].
pub fn put_indexed(
    record: &str,
    index: &str,
    member: &str,
    json: &str,
    only_if_absent: bool,
    ttl: Option<Duration>,
) -> ScriptInvocation<'static> {
    let mut call = PUT_INDEXED.prepare_invoke();
    call.key(record)
        .key(index)
        .arg(json)
        .arg(member)
        .arg(if only_if_absent { "absent" } else { "any" });
    if let Some(ttl) = ttl {
        call.arg(ttl.as_secs().max(1));
    }
    call
}

/// Removes a record and its index entry. Reply: how many records went (0 or 1).
pub fn delete_indexed(record: &str, index: &str, member: &str) -> ScriptInvocation<'static> {
    let mut call = DELETE_INDEXED.prepare_invoke();
    call.key(record).key(index).arg(member);
    call
}

/// Writes `route` (already validated, encoded as `json`) with its index keys. `previous` is
/// what it replaces: `None` for a create, else the stored bytes (compared atomically before
/// writing) and their decoded route (whose index keys go). Reply: [`WriteOutcome`].
pub fn put_route(
    keys: &KeySpace,
    route: &Route,
    json: &str,
    previous: Option<(&[u8], &Route)>,
) -> ScriptInvocation<'static> {
    let id = &route.route_id;
    let mut call = PUT_ROUTE.prepare_invoke();
    call.key(keys.route(id))
        .key(keys.route_unique(&route.path_pattern, route.priority))
        .key(keys.route_priority(route.priority, id))
        .key(keys.route_index());
    match previous {
        None => {
            call.arg("absent").arg("");
        }
        Some((raw, old)) => {
            call.key(keys.route_unique(&old.path_pattern, old.priority))
                .key(keys.route_priority(old.priority, id));
            call.arg("exact").arg(raw);
        }
    }
    call.arg(json).arg(id).arg(keys.route_record_prefix());
    call
}

/// Removes the route stored as `raw` with its index keys; `decoded` is `None` when the record
/// is corrupt, in which case its legacy index keys cannot be named and stay. Reply:
/// [`WriteOutcome`].
pub fn delete_route(
    keys: &KeySpace,
    route_id: &str,
    raw: &[u8],
    decoded: Option<&Route>,
) -> ScriptInvocation<'static> {
    let mut call = DELETE_ROUTE.prepare_invoke();
    call.key(keys.route(route_id)).key(keys.route_index());
    if let Some(route) = decoded {
        call.key(keys.route_unique(&route.path_pattern, route.priority))
            .key(keys.route_priority(route.priority, route_id));
    }
    call.arg(raw).arg(route_id);
    call
}

/// Every record named by the index set `index`, in one round trip; a member's record is at
/// `record_prefix` + member. Reply: decode with [`listed_records`].
pub fn list_indexed(index: &str, record_prefix: &str) -> ScriptInvocation<'static> {
    let mut call = LIST_RECORDS.prepare_invoke();
    call.key(index).arg(record_prefix);
    call
}

/// Pairs the flat `member, record, ...` reply of a listing with each record's key.
pub fn listed_records(
    reply: Vec<Vec<u8>>,
    key_of: impl Fn(&str) -> String,
) -> Vec<(String, Vec<u8>)> {
    let mut entries = Vec::with_capacity(reply.len() / 2);
    let mut items = reply.into_iter();
    while let (Some(member), Some(raw)) = (items.next(), items.next()) {
        entries.push((key_of(&String::from_utf8_lossy(&member)), raw));
    }
    entries
}

/// `SET key value` (with `EX ttl_secs` when given).
pub fn set(key: &str, value: &str, ttl_secs: Option<u64>) -> Cmd {
    let mut cmd = redis::cmd("SET");
    cmd.arg(key).arg(value);
    if let Some(ttl) = ttl_secs {
        cmd.arg("EX").arg(ttl.max(1));
    }
    cmd
}

/// `DEL key`; the reply is how many keys went.
pub fn del(key: &str) -> Cmd {
    let mut cmd = redis::cmd("DEL");
    cmd.arg(key);
    cmd
}

/// A fencing token to check a write against: refused if `lock` issued a newer one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fence {
    /// The lock's name.
    pub lock: String,
    /// The token the writer holds.
    pub token: u64,
}

/// Writes `cert` (validated, encoded as `json`) with its domain and expiry index entries.
/// `previous` is what it replaces (`None` for a create); `fence`, if given, must be the
/// newest token of its lock. Reply: [`WriteOutcome`], whose conflict owner reads
/// `{domain position}:{owner}` (see [`certificate_conflict`]).
pub fn put_certificate(
    keys: &KeySpace,
    cert: &Certificate,
    json: &str,
    previous: Option<(&[u8], &Certificate)>,
    fence: Option<&Fence>,
) -> ScriptInvocation<'static> {
    let name = &cert.cert_name;
    let mut call = PUT_CERTIFICATE.prepare_invoke();
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
        .arg(keys.cert_record_prefix());
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

/// The proxies among `proxies` (key, stored value) that refer to `cert_name`, rewritten
/// without it. Corrupt proxy records are skipped: they cannot be rewritten safely.
pub fn proxy_rewrites(
    cert_name: &str,
    proxies: Vec<(String, Vec<u8>)>,
) -> Result<Vec<ProxyRewrite>> {
    let mut rewrites = Vec::new();
    for (key, raw) in proxies {
        let Ok(mut proxy) = model::decode::<ProxyTarget>(&key, &raw) else {
            continue;
        };
        if proxy.cert_name.as_deref() == Some(cert_name) {
            proxy.cert_name = None;
            let json = model::encode(&mut proxy)?;
            rewrites.push(ProxyRewrite {
                hostname: proxy.proxy_hostname,
                expected: raw,
                json,
            });
        }
    }
    Ok(rewrites)
}

/// Removes the certificate stored as `raw` (decoded as `decoded`, or `None` if corrupt, in
/// which case its domain keys cannot be named), and rewrites the proxies that refer to it.
/// Reply: [`WriteOutcome`].
pub fn delete_certificate(
    keys: &KeySpace,
    name: &str,
    raw: &[u8],
    decoded: Option<&Certificate>,
    rewrites: &[ProxyRewrite],
) -> ScriptInvocation<'static> {
    let domains = decoded.map(|c| c.domains.as_slice()).unwrap_or_default();
    let mut call = DELETE_CERTIFICATE.prepare_invoke();
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
        .arg(keys.proxy(""));
    for rewrite in rewrites {
        call.arg(&rewrite.hostname)
            .arg(&rewrite.expected)
            .arg(&rewrite.json);
    }
    call
}

/// The certificate that owns `domain`, in one round trip. Reply: `[name, record]` or empty.
pub fn certificate_by_domain(keys: &KeySpace, domain: &str) -> ScriptInvocation<'static> {
    let mut call = GET_BY_OWNER.prepare_invoke();
    call.key(keys.cert_domain(domain))
        .arg(keys.cert_record_prefix());
    call
}

/// The certificates expiring at or before `until` (Unix seconds), soonest first, in one
/// round trip. Reply: decode with [`listed_records`].
pub fn expiring_certificates(keys: &KeySpace, until: i64) -> ScriptInvocation<'static> {
    let mut call = LIST_RECORDS.prepare_invoke();
    call.key(keys.cert_expiry())
        .arg(keys.cert_record_prefix())
        .arg(until);
    call
}

/// `SET key value`, refused unless `fence` is still its lock's newest token. Reply:
/// [`WriteOutcome`].
pub fn fenced_set(
    keys: &KeySpace,
    key: &str,
    value: &str,
    fence: &Fence,
) -> ScriptInvocation<'static> {
    let mut call = FENCED_SET.prepare_invoke();
    call.key(key)
        .key(keys.fence(&fence.lock))
        .arg(fence.token)
        .arg(value);
    call
}

/// Takes lock `name` for `holder` if free. Reply: the fencing token, or nil if held.
pub fn lock_acquire(
    keys: &KeySpace,
    name: &str,
    holder: &str,
    ttl: Duration,
) -> ScriptInvocation<'static> {
    let mut call = LOCK_ACQUIRE.prepare_invoke();
    call.key(keys.lock(name))
        .key(keys.fence(name))
        .arg(holder)
        .arg(ttl_millis(ttl));
    call
}

/// Extends the lease of the holder whose lock value is `value`. Reply: 1, or 0 if lost.
pub fn lock_renew(
    keys: &KeySpace,
    name: &str,
    value: &str,
    ttl: Duration,
) -> ScriptInvocation<'static> {
    let mut call = LOCK_RENEW.prepare_invoke();
    call.key(keys.lock(name)).arg(value).arg(ttl_millis(ttl));
    call
}

/// Releases the lock if `value` still holds it. Reply: 1, or 0 if it was no longer held.
pub fn lock_release(keys: &KeySpace, name: &str, value: &str) -> ScriptInvocation<'static> {
    let mut call = LOCK_RELEASE.prepare_invoke();
    call.key(keys.lock(name)).arg(value);
    call
}

fn ttl_millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// The reply of a conditional write script.
#[derive(Debug, PartialEq, Eq)]
pub enum WriteOutcome {
    /// Written.
    Written,
    /// The record changed since it was read (or exists, for a create); nothing written.
    Stale,
    /// Another record owns a unique key; nothing written.
    Conflict {
        /// The owner's id.
        owner: String,
    },
    /// The writer's fencing token is older than the newest issued; nothing written.
    Fenced {
        /// The newest token issued.
        newest: u64,
    },
}

impl WriteOutcome {
    /// An outcome the script that produced it cannot produce: a bug, reported as such.
    pub fn into_error(self) -> Error {
        Error::Redis {
            reason: format!("unexpected script outcome {self:?}"),
        }
    }

    /// Decodes a script's status string.
    pub fn parse(reply: &str) -> Result<Self> {
        match reply {
            "ok" => Ok(WriteOutcome::Written),
            "stale" => Ok(WriteOutcome::Stale),
            other => {
                if let Some(owner) = other.strip_prefix("conflict:") {
                    return Ok(WriteOutcome::Conflict {
                        owner: owner.to_owned(),
                    });
                }
                match other.strip_prefix("fenced:").map(str::parse) {
                    Some(Ok(newest)) => Ok(WriteOutcome::Fenced { newest }),
                    _ => Err(Error::Redis {
                        reason: format!("unexpected script reply `{other}`"),
                    }),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_outcomes_parse() {
        assert_eq!(WriteOutcome::parse("ok").unwrap(), WriteOutcome::Written);
        assert_eq!(WriteOutcome::parse("stale").unwrap(), WriteOutcome::Stale);
        assert_eq!(
            WriteOutcome::parse("conflict:token").unwrap(),
            WriteOutcome::Conflict {
                owner: "token".into()
            }
        );
        assert!(matches!(
            WriteOutcome::parse("what"),
            Err(Error::Redis { .. })
        ));
    }

    #[test]
    fn listed_records_pair_members_with_keys() {
        let reply = vec![b"a".to_vec(), b"{}".to_vec(), b"b".to_vec(), b"[]".to_vec()];
        let keys = KeySpace::new("p:");
        let entries = listed_records(reply, |id| keys.route(id));
        assert_eq!(
            entries,
            vec![
                ("p:route:a".into(), b"{}".to_vec()),
                ("p:route:b".into(), b"[]".to_vec())
            ]
        );
    }

    #[test]
    fn route_rewrite_names_old_and_new_index_keys() {
        let keys = KeySpace::new("");
        let old = Route::to_url("r", "/old", 10, "http://a");
        let new = Route::to_url("r", "/new", 20, "http://a");
        let call = put_route(&keys, &new, "{}", Some((b"x", &old)));
        let shown = format!("{call:?}");
        // Six keys: record, new unique, new priority, index, old unique, old priority.
        assert!(shown.contains("keys: 6"), "{shown}");
    }
}
