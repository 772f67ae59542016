//! Every Redis command and script call the storage sends, built without running it.
//!
//! As in redis-rs, building is separate from running: the functions here return `Cmd`,
//! `Pipeline` and `ScriptInvocation` values and decode replies, and the mode modules only
//! execute them. That keeps the two compiled copies of the storage free of logic and this
//! module unit-testable. This file holds the commands every family uses; the others are in
//! one file per family, named as in `model/` and `shared/`. The Lua sources are in `lua/`.

use std::time::Duration;

use redis::{Cmd, Pipeline, ScriptInvocation, ToRedisArgs};

use crate::error::{Error, Result};
use crate::keys::{KeySpace, LegacyFamily};
use crate::model::ChangeFamily;

/// A call of the script `lua/{name}.lua` after `lua/prologue.lua` (what every script
/// shares), the script built once per process; redis-rs sends it by its hash (`EVALSHA`) and
/// loads it only when the server does not know it yet.
macro_rules! lua_script {
    ($name:literal) => {{
        static SCRIPT: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
            redis::Script::new(concat!(
                include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/src/lua/prologue.lua")),
                include_str!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/src/lua/",
                    $name,
                    ".lua"
                ))
            ))
        });
        $crate::commands::ScriptCall::new(&SCRIPT)
    }};
}

pub(crate) mod acme;
pub(crate) mod certificates;
pub(crate) mod cluster;
pub(crate) mod locks;
pub(crate) mod migration;
pub(crate) mod oauth;
pub(crate) mod routes;
pub(crate) mod seeding;
pub(crate) mod watch;

/// A script call and the key that places it: on a cluster, the call runs on the master of
/// that key's slot, and a `WAIT` for its replicas must go there too. Built like redis-rs'
/// `ScriptInvocation`, whose keys are not readable back.
#[derive(Debug)]
pub struct ScriptCall {
    invocation: ScriptInvocation<'static>,
    first_key: Option<Vec<u8>>,
}

impl ScriptCall {
    pub(crate) fn new(script: &'static redis::Script) -> Self {
        ScriptCall {
            invocation: script.prepare_invoke(),
            first_key: None,
        }
    }

    /// Adds `key` to `KEYS`.
    pub fn key<T: ToRedisArgs>(&mut self, key: T) -> &mut Self {
        if self.first_key.is_none() {
            self.first_key = key.to_redis_args().into_iter().next();
        }
        self.invocation.key(key);
        self
    }

    /// Adds `arg` to `ARGV`.
    pub fn arg<T: ToRedisArgs>(&mut self, arg: T) -> &mut Self {
        self.invocation.arg(arg);
        self
    }

    /// The call as redis-rs runs it.
    pub fn invocation(&self) -> &ScriptInvocation<'static> {
        &self.invocation
    }

    /// The first key, which places the call on a cluster.
    pub fn first_key(&self) -> Option<&[u8]> {
        self.first_key.as_deref()
    }
}

/// One call as a connection runs it: its reply comes back as a `Value` for the caller to
/// decode, whichever mode and topology ran it.
#[derive(Clone, Copy)]
pub enum Call<'a> {
    /// A command.
    Cmd(&'a Cmd),
    /// A pipeline: one round trip.
    Pipe(&'a Pipeline),
    /// A script, sent by its hash.
    Script(&'a ScriptCall),
    /// A command for one node, such as one master's step of a keyspace scan.
    On(&'a cluster::Node, &'a Cmd),
}

impl<'a> Call<'a> {
    /// The first key: on a cluster, where the call runs and where `WAIT` must follow it.
    pub fn first_key(&self) -> Option<&'a [u8]> {
        match *self {
            Call::Cmd(cmd) => cluster::key_of(cmd),
            Call::Pipe(pipe) => pipe.cmd_iter().next().and_then(cluster::key_of),
            Call::Script(call) => call.first_key(),
            Call::On(..) => None,
        }
    }
}

/// How many keys one SCAN step asks for: larger steps mean fewer round trips over a big
/// keyspace, each still short enough (a few ms for Redis) not to stall other clients.
const SCAN_BATCH: usize = 5_000;

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

/// `DEL` of each key, pipelined: one round trip. Reply: one count per key.
pub fn delete_each(keys: impl IntoIterator<Item = String>) -> Pipeline {
    let mut pipe = redis::pipe();
    for key in keys {
        pipe.del(key);
    }
    pipe
}

/// `GETDEL key`: read a one-shot value and remove it in one step.
pub fn take(key: &str) -> Cmd {
    let mut cmd = redis::cmd("GETDEL");
    cmd.arg(key);
    cmd
}

/// `SET key value NX EX ttl`: create a short-lived value only if new.
pub fn create_with_ttl(key: &str, value: &str, ttl: Duration) -> Cmd {
    let mut cmd = redis::cmd("SET");
    cmd.arg(key)
        .arg(value)
        .arg("NX")
        .arg("EX")
        .arg(ttl.as_secs().max(1));
    cmd
}

/// Replaces `key` only if it still holds `expected`. Reply: [`WriteOutcome`].
/// `feed` names the change for the change feed: the record's family and id.
pub fn compare_and_set(
    keys: &KeySpace,
    key: &str,
    expected: &[u8],
    new: &str,
    feed: Option<(ChangeFamily, &str)>,
) -> ScriptCall {
    let mut call = lua_script!("compare_and_set");
    call.key(key);
    with_feed(&mut call, keys);
    call.arg(expected)
        .arg(new)
        .arg(feed.map(|(family, _)| family.as_str()).unwrap_or_default())
        .arg(feed.map(|(_, id)| id).unwrap_or_default());
    call
}

/// Adds the change feed's keys (the revision and the stream), which the scripts that write
/// configuration take last.
pub(crate) fn with_feed(call: &mut ScriptCall, keys: &KeySpace) {
    call.key(keys.revision()).key(keys.changes());
}

/// A record kept under a key and named in an index set by its id, and the family its
/// changes are fed as (`None` for a family outside the change feed, such as OAuth clients).
pub struct Indexed<'a> {
    /// The record's key.
    pub record: &'a str,
    /// The index set's key.
    pub index: &'a str,
    /// The record's id, its member in the index.
    pub member: &'a str,
    /// The family for the change feed.
    pub feed: Option<ChangeFamily>,
}

/// Whether a write may replace a record that exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Put {
    /// Only if there is no record yet; else the reply is "stale".
    CreateOnly,
    /// Whatever is there.
    Replace,
}

/// Writes a record and its index entry; `put` says whether it may replace one, `ttl` gives
/// the record a lifetime. Reply: [`WriteOutcome`].
pub fn put_indexed(
    keys: &KeySpace,
    target: &Indexed<'_>,
    json: &str,
    put: Put,
    ttl: Option<Duration>,
) -> ScriptCall {
    let mut call = lua_script!("put_indexed");
    call.key(target.record).key(target.index);
    with_feed(&mut call, keys);
    call.arg(json)
        .arg(target.member)
        .arg(match put {
            Put::CreateOnly => "absent",
            Put::Replace => "any",
        })
        .arg(
            ttl.map(|ttl| ttl.as_secs().max(1).to_string())
                .unwrap_or_default(),
        )
        .arg(target.feed.map(ChangeFamily::as_str).unwrap_or_default());
    call
}

/// Removes a record and its index entry. Reply: how many records went (0 or 1).
pub fn delete_indexed(keys: &KeySpace, target: &Indexed<'_>) -> ScriptCall {
    let mut call = lua_script!("delete_indexed");
    call.key(target.record).key(target.index);
    with_feed(&mut call, keys);
    call.arg(target.member)
        .arg(target.feed.map(ChangeFamily::as_str).unwrap_or_default());
    call
}

/// What a listing reads: an index, where its records are, and optionally scores.
pub struct ListingQuery {
    /// The index: a set, or a sorted set when `until` is given.
    pub index: String,
    /// Record key = this + member.
    pub record_prefix: String,
    /// Read a sorted-set index up to this score, soonest first.
    pub until: Option<i64>,
    /// A sorted set whose score of each listed member is returned (the expiry index).
    pub scores: Option<String>,
}

impl ListingQuery {
    /// The records of a family the old layer writes too.
    pub fn of_family(keys: &KeySpace, family: LegacyFamily) -> Self {
        ListingQuery::of_set(family.index(keys), family.record_prefix(keys))
    }

    /// The records an index set names.
    pub fn of_set(index: String, record_prefix: String) -> Self {
        ListingQuery {
            index,
            record_prefix,
            until: None,
            scores: None,
        }
    }
}

/// How a listing finds records beyond its index.
#[derive(Clone, Copy, Debug)]
pub enum Discovery<'a> {
    /// The index alone: a family only this crate writes.
    Indexed,
    /// The index alone once the migration is finished; else the reply asks for a scan.
    Ask,
    /// The index and these members, found by a keyspace scan.
    Scanned(&'a [String]),
}

/// Every record `query` names, in one round trip. Reply: decode with [`listed`].
pub fn list_records(keys: &KeySpace, query: &ListingQuery, discovery: Discovery<'_>) -> ScriptCall {
    let mut call = lua_script!("list_records");
    call.key(&query.index)
        .key(keys.migration_phase())
        .key(keys.revision());
    if let Some(scores) = &query.scores {
        call.key(scores);
    }
    call.arg(&query.record_prefix);
    match discovery {
        Discovery::Indexed => call.arg("indexed"),
        Discovery::Ask => call.arg("ask"),
        Discovery::Scanned(_) => call.arg("scanned"),
    };
    call.arg(
        query
            .until
            .map(|until| until.to_string())
            .unwrap_or_default(),
    );
    if let Discovery::Scanned(members) = discovery {
        call.arg(members);
    }
    call
}

/// A listing script's answer.
#[derive(Debug, PartialEq)]
pub enum Listed {
    /// The migration is mixed: scan the keyspace and ask again with what it found.
    Scan,
    /// The records, at a store revision.
    Records(u64, Vec<ListedRecord>),
}

/// One record a listing read.
#[derive(Debug, PartialEq)]
pub struct ListedRecord {
    /// The index member (the record's id).
    pub member: String,
    /// Its stored value; `None` when the key holds another Redis type than a string.
    pub raw: Option<Vec<u8>>,
    /// Its score in the listing's score set, if it has one there.
    pub score: Option<i64>,
}

/// Decodes a listing script's reply.
pub fn listed(reply: Vec<Vec<u8>>) -> Result<Listed> {
    let mut items = reply.into_iter();
    match items.next().as_deref() {
        Some(b"scan") => return Ok(Listed::Scan),
        Some(b"ok") => {}
        other => {
            return Err(Error::Protocol {
                reason: format!(
                    "unexpected listing status {:?}",
                    other.map(String::from_utf8_lossy)
                ),
            })
        }
    }
    let revision = items
        .next()
        .and_then(|r| std::str::from_utf8(&r).ok()?.parse().ok())
        .ok_or_else(|| Error::Protocol {
            reason: "a listing without its revision".to_owned(),
        })?;
    let mut records = Vec::with_capacity(items.len() / 4);
    while let (Some(member), Some(kind), Some(raw), Some(score)) =
        (items.next(), items.next(), items.next(), items.next())
    {
        records.push(ListedRecord {
            member: String::from_utf8_lossy(&member).into_owned(),
            raw: (kind != b"wrongtype").then_some(raw),
            // Scores are whole seconds written by this crate; anything else is no score.
            score: std::str::from_utf8(&score)
                .ok()
                .and_then(|s| s.parse::<f64>().ok())
                .map(|s| s as i64),
        });
    }
    Ok(Listed::Records(revision, records))
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
        Error::Protocol {
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
                    _ => Err(Error::Protocol {
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
            Err(Error::Protocol { .. })
        ));
    }

    #[test]
    fn listings_decode_records_wrong_types_scores_and_scan_requests() {
        let reply: Vec<Vec<u8>> = [
            "ok",
            "7",
            "a",
            "json",
            "{}",
            "",
            "b",
            "wrongtype",
            "",
            "1700000000",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
        let Listed::Records(revision, records) = listed(reply).unwrap() else {
            panic!("records expected");
        };
        assert_eq!(revision, 7);
        assert_eq!(records[0].member, "a");
        assert_eq!(records[0].raw.as_deref(), Some(&b"{}"[..]));
        assert_eq!(records[0].score, None);
        assert_eq!(records[1].raw, None);
        assert_eq!(records[1].score, Some(1_700_000_000));
        assert_eq!(listed(vec![b"scan".to_vec()]).unwrap(), Listed::Scan);
        assert!(matches!(
            listed(vec![b"what".to_vec()]),
            Err(Error::Protocol { .. })
        ));
    }

    #[test]
    fn a_scanned_listing_sends_what_the_scan_found() {
        let keys = KeySpace::new("{gw}:");
        let query = ListingQuery::of_set(keys.route_index(), keys.route_record_prefix());
        let found = ["a".to_owned(), "b".to_owned()];
        let shown = format!(
            "{:?}",
            list_records(&keys, &query, Discovery::Scanned(&found))
        );
        assert!(shown.contains("keys: 3"), "{shown}");
    }
}
