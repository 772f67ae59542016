//! Adding records written without this crate's index sets (by the old layer) to them.

use redis::Pipeline;

use crate::keys::{KeySpace, INDEX_VERSION};
use crate::model::family::Family;
use crate::model::{self, Certificate};

/// What a pass over the keyspace found of records the old layer wrote.
#[derive(Debug, Default)]
pub struct LegacyRecords {
    /// The ids of each family's records.
    pub ids: Vec<(&'static Family, Vec<String>)>,
    /// Certificate names with the expiry (Unix s) their record has; corrupt and pending
    /// certificates have none and are left out.
    pub expiries: Vec<(String, i64)>,
}

/// Adds the records found to their index sets and expiry index, and marks the indexes
/// complete, atomically.
pub fn add_to_indexes(keys: &KeySpace, found: &LegacyRecords) -> Pipeline {
    let mut pipe = redis::pipe();
    pipe.atomic();
    for (family, ids) in &found.ids {
        if !ids.is_empty() {
            pipe.sadd(keys.index(family), ids).ignore();
        }
    }
    for (name, expiry) in &found.expiries {
        pipe.zadd(keys.cert_expiry(), name, expiry).ignore();
    }
    pipe.set(keys.index_version(), INDEX_VERSION).ignore();
    pipe
}

/// The expiry (Unix s) of each certificate record that has one, by name.
pub fn certificate_expiries(
    keys: &KeySpace,
    names: &[String],
    records: Vec<Option<Vec<u8>>>,
) -> Vec<(String, i64)> {
    names
        .iter()
        .zip(records)
        .filter_map(|(name, raw)| {
            let cert = model::decode::<Certificate>(&keys.cert(name), &raw?).ok()?;
            Some((name.clone(), cert.expires_at?.instant().timestamp()))
        })
        .collect()
}
