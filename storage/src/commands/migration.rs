//! Reading and setting the migration phase, and measuring how far an index is from its
//! records.

use redis::Cmd;

use crate::commands::ScriptCall;
use crate::keys::KeySpace;
use crate::model::family::Family;
use crate::model::MigrationPhase;

/// Marks the migration finished: from now on listings read the index sets alone.
pub fn finish(keys: &KeySpace) -> Cmd {
    let mut cmd = redis::cmd("SET");
    cmd.arg(keys.migration_phase())
        .arg(MigrationPhase::finished_marker());
    cmd
}

/// Returns the store to the mixed phase (no phase key): listings scan for old-layer records
/// again.
pub fn roll_back(keys: &KeySpace) -> Cmd {
    let mut cmd = redis::cmd("DEL");
    cmd.arg(keys.migration_phase());
    cmd
}

/// Which of `found` (ids a keyspace scan found) `family`'s index lacks, and how many of its
/// entries name no record. Reply: `(unindexed ids, dangling)`.
pub fn index_gaps(keys: &KeySpace, family: &Family, found: &[String]) -> ScriptCall {
    let mut call = lua_script!("index_gaps");
    call.key(keys.index(family))
        .arg(keys.record_prefix(family))
        .arg(found);
    call
}

/// Removes the entries of `index` whose record (at `record_prefix` + member) is gone. Reply:
/// how many.
pub fn drop_dangling(index: &str, record_prefix: &str) -> ScriptCall {
    let mut call = lua_script!("drop_dangling");
    call.key(index).arg(record_prefix);
    call
}
