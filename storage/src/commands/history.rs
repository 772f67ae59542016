//! Reading the configuration's history, and recording the changes other writers made.

use redis::streams::StreamRangeReply;
use redis::Cmd;

use super::watch::fields_of;
use super::{with_feed, Audit, ScriptCall};
use crate::error::Result;
use crate::keys::KeySpace;
use crate::model::history::{decode_history_entry, HistoryEntry};

/// How many entries one history read takes at most.
pub(crate) const HISTORY_BATCH: usize = 1000;

/// `XRANGE meta:history ({after}-0 + COUNT n`: the entries after revision `after`.
/// Reply: [`entries`].
pub fn read_history(keys: &KeySpace, after: u64) -> Cmd {
    let mut cmd = redis::cmd("XRANGE");
    cmd.arg(keys.history())
        .arg(format!("({after}-0"))
        .arg("+")
        .arg("COUNT")
        .arg(HISTORY_BATCH);
    cmd
}

/// The entries an `XRANGE` of the history answered, in revision order.
pub fn entries(keys: &KeySpace, reply: StreamRangeReply) -> Result<Vec<HistoryEntry>> {
    let key = keys.history();
    reply
        .ids
        .iter()
        .map(|entry| decode_history_entry(&key, &entry.id, &fields_of(entry)))
        .collect()
}

/// `GET meta:revision` and the history's oldest entry, pipelined. Reply: [`bounds`].
pub fn history_bounds(keys: &KeySpace) -> redis::Pipeline {
    let mut pipe = redis::pipe();
    pipe.cmd("GET").arg(keys.revision());
    pipe.cmd("XRANGE")
        .arg(keys.history())
        .arg("-")
        .arg("+")
        .arg("COUNT")
        .arg(1);
    pipe
}

/// The store's revision and the oldest revision whose values the history still knows: the
/// one before its first entry (the revision now, for an empty history).
pub fn bounds(
    keys: &KeySpace,
    (revision, first): (Option<u64>, StreamRangeReply),
) -> Result<(u64, u64)> {
    let revision = revision.unwrap_or(0);
    let oldest = match entries(keys, first)?.first() {
        Some(entry) => entry.revision.saturating_sub(1),
        None => revision,
    };
    Ok((revision, oldest.min(revision)))
}

/// Records the value of the record at `key` in the history and the feed, as a change by
/// no one (the old layer), unless the feed holds a change of it after `since` that left
/// that value. `before` is the record as the noticing process had it at revision `since`.
/// Reply: "recorded" or "known".
pub fn observe_change(
    keys: &KeySpace,
    audit: &Audit,
    key: &str,
    (family, id): (&str, &str),
    before: Option<&str>,
    since: u64,
) -> ScriptCall {
    let mut call = lua_script!("observe_change");
    call.key(key);
    call.arg(family)
        .arg(id)
        .arg(before.unwrap_or_default())
        .arg(since);
    with_feed(&mut call, keys, audit);
    call
}
