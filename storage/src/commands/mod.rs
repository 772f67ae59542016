//! Every Redis command and script call the storage sends, built without running it.
//!
//! As in redis-rs, building is separate from running: the functions here return `Cmd`,
//! `Pipeline` and `ScriptInvocation` values and decode replies, and the mode modules only
//! execute them. That keeps the two compiled copies of the storage free of logic and this
//! module unit-testable. This file holds the commands every family uses; the others are in
//! one file per family, named as in `model/` and `shared/`. The Lua sources are in `lua/`.

use std::time::Duration;

use redis::{Cmd, Pipeline, ScriptInvocation, ToRedisArgs};

use crate::keys::KeySpace;

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
pub(crate) mod history;
pub(crate) mod locks;
pub(crate) mod migration;
pub(crate) mod oauth;
mod records;
pub(crate) mod routes;
pub(crate) mod seeding;
pub(crate) mod watch;

pub use records::{
    compare_and_set, delete_indexed, list_records, listed, put_indexed, Discovery, Indexed, Listed,
    ListedRecord, ListingQuery, Put, WriteOutcome,
};

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
pub(crate) const SCAN_BATCH: usize = 5_000;

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

/// `PEXPIRETIME key` for each of `keys`: when each expires, in milliseconds since the Unix
/// epoch (-1 for a key without expiry, -2 for one that is gone).
pub fn expiry_times(keys: &[String]) -> Pipeline {
    let mut pipe = redis::pipe();
    for key in keys {
        pipe.cmd("PEXPIRETIME").arg(key);
    }
    pipe
}

/// `SET key value PXAT at_ms`: a value that expires at an instant (milliseconds since the
/// Unix epoch), as a restored challenge keeps the expiry it had.
pub fn set_until(key: &str, value: &str, at_ms: i64) -> Cmd {
    let mut cmd = redis::cmd("SET");
    cmd.arg(key).arg(value).arg("PXAT").arg(at_ms);
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

/// Who a configuration write is by and how much history it keeps, as the scripts that write
/// configuration take it (see `lua/prologue.lua`).
#[derive(Clone, Debug)]
pub(crate) struct Audit {
    actor: String,
    keep: usize,
    keep_ms: u64,
}

impl Audit {
    /// `actor`'s writes, keeping at most about `keep` changes (0: no history) for `keep_for`.
    pub(crate) fn new(actor: &str, keep: usize, keep_for: Duration) -> Self {
        Audit {
            actor: actor.to_owned(),
            keep,
            keep_ms: ttl_millis(keep_for),
        }
    }

    /// The same, by another actor.
    pub(crate) fn by(&self, actor: String) -> Self {
        Audit {
            actor,
            ..self.clone()
        }
    }

    /// Whether the writes record history.
    pub(crate) fn keeps_history(&self) -> bool {
        self.keep > 0
    }
}

/// Adds the change feed's keys (the revision, the stream and the history) and the audit's
/// arguments, which the scripts that write configuration take last: call it after the
/// script's own arguments.
pub(crate) fn with_feed(call: &mut ScriptCall, keys: &KeySpace, audit: &Audit) {
    call.key(keys.revision())
        .key(keys.changes())
        .key(keys.history());
    call.arg(&audit.actor).arg(audit.keep).arg(audit.keep_ms);
}

fn ttl_millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}
