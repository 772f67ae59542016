//! Every Redis command and script call the storage sends, built without running it.
//!
//! As in redis-rs, building is separate from running: the functions here return `Cmd` and
//! `ScriptInvocation` values and decode replies, and the mode modules only execute them. That
//! keeps the two compiled copies of the storage free of logic and this file unit-testable.
//! The Lua sources live beside it in `lua/`.

use std::sync::LazyLock;

use redis::{Cmd, Pipeline, Script, ScriptInvocation};

use crate::error::{Error, Result};
use crate::keys::KeySpace;
use crate::model::Route;

static COMPARE_AND_SET: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/compare_and_set.lua")));
static PUT_PROXY: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/put_proxy.lua")));
static DELETE_PROXY: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/delete_proxy.lua")));
static PUT_ROUTE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/put_route.lua")));
static DELETE_ROUTE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/delete_route.lua")));
static LIST_RECORDS: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/list_records.lua")));

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

/// Adds legacy records to the index sets and marks the indexes complete, atomically.
pub fn add_to_indexes(keys: &KeySpace, hostnames: &[String], route_ids: &[String]) -> Pipeline {
    let mut pipe = redis::pipe();
    pipe.atomic();
    if !hostnames.is_empty() {
        pipe.sadd(keys.proxy_index(), hostnames).ignore();
    }
    if !route_ids.is_empty() {
        pipe.sadd(keys.route_index(), route_ids).ignore();
    }
    pipe.set(keys.index_version(), 1).ignore();
    pipe
}

/// Replaces `key` only if it still holds `expected`. Reply: [`WriteOutcome`].
pub fn compare_and_set(key: &str, expected: &[u8], new: &str) -> ScriptInvocation<'static> {
    let mut call = COMPARE_AND_SET.prepare_invoke();
    call.key(key).arg(expected).arg(new);
    call
}

/// Writes a proxy record and its index entry; `only_if_absent` makes it a create. Reply:
/// [`WriteOutcome`].
pub fn put_proxy(
    keys: &KeySpace,
    hostname: &str,
    json: &str,
    only_if_absent: bool,
) -> ScriptInvocation<'static> {
    let mut call = PUT_PROXY.prepare_invoke();
    call.key(keys.proxy(hostname))
        .key(keys.proxy_index())
        .arg(json)
        .arg(hostname)
        .arg(if only_if_absent { "absent" } else { "any" });
    call
}

/// Removes a proxy record and its index entry. Reply: how many records went (0 or 1).
pub fn delete_proxy(keys: &KeySpace, hostname: &str) -> ScriptInvocation<'static> {
    let mut call = DELETE_PROXY.prepare_invoke();
    call.key(keys.proxy(hostname))
        .key(keys.proxy_index())
        .arg(hostname);
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

/// Every proxy record, in one round trip. Reply: decode with [`listed_records`].
pub fn list_proxies(keys: &KeySpace) -> ScriptInvocation<'static> {
    let mut call = LIST_RECORDS.prepare_invoke();
    call.key(keys.proxy_index()).arg(keys.proxy(""));
    call
}

/// Every route record, in one round trip. Reply: decode with [`listed_records`].
pub fn list_routes(keys: &KeySpace) -> ScriptInvocation<'static> {
    let mut call = LIST_RECORDS.prepare_invoke();
    call.key(keys.route_index()).arg(keys.route_record_prefix());
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
}

impl WriteOutcome {
    /// Decodes a script's status string.
    pub fn parse(reply: &str) -> Result<Self> {
        match reply {
            "ok" => Ok(WriteOutcome::Written),
            "stale" => Ok(WriteOutcome::Stale),
            other => match other.strip_prefix("conflict:") {
                Some(owner) => Ok(WriteOutcome::Conflict {
                    owner: owner.to_owned(),
                }),
                None => Err(Error::Redis {
                    reason: format!("unexpected script reply `{other}`"),
                }),
            },
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
