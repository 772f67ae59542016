//! Reading the change feed.

use std::time::Duration;

use redis::streams::StreamReadReply;
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
            let fields: Vec<(String, Vec<u8>)> = entry
                .map
                .iter()
                .filter_map(|(name, value)| {
                    let value: Vec<u8> = redis::from_redis_value_ref(value).ok()?;
                    Some((name.clone(), value))
                })
                .collect();
            changes.push(decode_entry(&key, &entry.id, &fields)?);
        }
    }
    Ok(changes)
}

/// `GET meta:revision`: the store's revision (absent: 0).
pub fn revision(keys: &KeySpace) -> Cmd {
    let mut cmd = redis::cmd("GET");
    cmd.arg(keys.revision());
    cmd
}
