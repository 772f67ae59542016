//! Every Redis command and script call the storage sends, built without running it.
//!
//! As in redis-rs, building is separate from running: the functions here return `Cmd`,
//! `Pipeline` and `ScriptInvocation` values and decode replies, and the mode modules only
//! execute them. That keeps the two compiled copies of the storage free of logic and this
//! module unit-testable. This file holds the commands every family uses; the others are in
//! one file per family, named as in `model/` and `shared/`. The Lua sources are in `lua/`.

use std::time::Duration;

use redis::{Cmd, Pipeline, ScriptInvocation};

use crate::error::{Error, Result};

/// The script `lua/{name}.lua`, built once per process; redis-rs sends it by its hash
/// (`EVALSHA`) and loads it only when the server does not know it yet.
macro_rules! lua_script {
    ($name:literal) => {{
        static SCRIPT: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
            redis::Script::new(include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/src/lua/",
                $name,
                ".lua"
            )))
        });
        &*SCRIPT
    }};
}

pub(crate) mod acme;
pub(crate) mod certificates;
pub(crate) mod locks;
pub(crate) mod oauth;
pub(crate) mod routes;
pub(crate) mod seeding;

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
pub fn compare_and_set(key: &str, expected: &[u8], new: &str) -> ScriptInvocation<'static> {
    let mut call = lua_script!("compare_and_set").prepare_invoke();
    call.key(key).arg(expected).arg(new);
    call
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
    record: &str,
    index: &str,
    member: &str,
    json: &str,
    put: Put,
    ttl: Option<Duration>,
) -> ScriptInvocation<'static> {
    let mut call = lua_script!("put_indexed").prepare_invoke();
    call.key(record)
        .key(index)
        .arg(json)
        .arg(member)
        .arg(match put {
            Put::CreateOnly => "absent",
            Put::Replace => "any",
        });
    if let Some(ttl) = ttl {
        call.arg(ttl.as_secs().max(1));
    }
    call
}

/// Removes a record and its index entry. Reply: how many records went (0 or 1).
pub fn delete_indexed(record: &str, index: &str, member: &str) -> ScriptInvocation<'static> {
    let mut call = lua_script!("delete_indexed").prepare_invoke();
    call.key(record).key(index).arg(member);
    call
}

/// Every record named by the index set `index`, in one round trip; a member's record is at
/// `record_prefix` + member. Reply: decode with [`listed_records`].
pub fn list_indexed(index: &str, record_prefix: &str) -> ScriptInvocation<'static> {
    let mut call = lua_script!("list_records").prepare_invoke();
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
    use crate::keys::KeySpace;

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
}
