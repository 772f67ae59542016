//! Adding records written without this crate's index sets (by the old layer) to them.

use redis::Pipeline;

use crate::keys::{KeySpace, INDEX_VERSION};
use crate::model::{self, Certificate};

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
