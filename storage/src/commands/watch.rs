//! Reading the change feed.

use std::time::Duration;

use redis::streams::{StreamId, StreamRangeReply, StreamReadReply};
use redis::Cmd;

use crate::error::Result;
use crate::keys::KeySpace;
use crate::model::watch::{decode_entry, Change};

/// How many changes one read takes at most.
const READ_BATCH: usize = 1000;

/// `XREAD COUNT n BLOCK ms STREAMS meta:changes {after}-0`: the changes after revision
/// `after`, waiting up to `block` for one. Reply: [`changes`].
pub fn read_changes(keys: &KeySpace, after: u64, block: Duration) -> Cmd {
    let mut cmd = redis::cmd("XREAD");
    cmd.arg("COUNT")
        .arg(READ_BATCH)
        .arg("BLOCK")
        .arg(u64::try_from(block.as_millis()).unwrap_or(u64::MAX).max(1))
        .arg("STREAMS")
        .arg(keys.changes())
        .arg(format!("{after}-0"));
    cmd
}

/// The changes an `XREAD` answered, in revision order; none when it timed out.
pub fn changes(keys: &KeySpace, reply: Option<StreamReadReply>) -> Result<Vec<Change>> {
    let key = keys.changes();
    let mut changes = Vec::new();
    for stream in reply.into_iter().flat_map(|reply| reply.keys) {
        for entry in stream.ids {
            changes.push(decode_entry(&key, &entry.id, &fields_of(&entry))?);
        }
    }
    Ok(changes)
}

/// Where the feed stands: the store's revision and the epoch of its newest entry.
#[derive(Debug, PartialEq, Eq)]
pub struct FeedHead {
    /// The store's revision (0 for a store that never changed).
    pub revision: u64,
    /// The epoch of the newest entry; none for an empty feed, or one older versions wrote.
    pub epoch: Option<String>,
}

/// `GET meta:revision` and `XREVRANGE meta:changes + - COUNT 1`, pipelined: one round trip.
/// Reply: [`feed_head`].
pub fn head(keys: &KeySpace) -> redis::Pipeline {
    let mut pipe = redis::pipe();
    pipe.cmd("GET").arg(keys.revision());
    pipe.cmd("XREVRANGE")
        .arg(keys.changes())
        .arg("+")
        .arg("-")
        .arg("COUNT")
        .arg(1);
    pipe
}

/// Decodes what [`head`] answered.
pub fn feed_head(
    keys: &KeySpace,
    (revision, newest): (Option<u64>, StreamRangeReply),
) -> Result<FeedHead> {
    let key = keys.changes();
    let epoch = match newest.ids.first() {
        Some(entry) => decode_entry(&key, &entry.id, &fields_of(entry))?.epoch,
        None => None,
    };
    Ok(FeedHead {
        revision: revision.unwrap_or(0),
        epoch,
    })
}

/// An entry's fields as bytes; values that are not strings are left out.
pub(crate) fn fields_of(entry: &StreamId) -> Vec<(String, Vec<u8>)> {
    entry
        .map
        .iter()
        .filter_map(|(name, value)| {
            let value: Vec<u8> = redis::from_redis_value_ref(value).ok()?;
            Some((name.clone(), value))
        })
        .collect()
}

/// `GET meta:revision`: the store's revision (absent: 0).
pub fn revision(keys: &KeySpace) -> Cmd {
    let mut cmd = redis::cmd("GET");
    cmd.arg(keys.revision());
    cmd
}
