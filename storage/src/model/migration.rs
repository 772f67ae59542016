//! The move from the old storage layer, expand then contract, as a phase stored in Redis.
//!
//! While old-layer processes may still write ([`MigrationPhase::Mixed`]), nothing they write
//! is in this crate's index sets, so listings, the expiry scan and the certificate cascade
//! also scan the keyspace for their family and ignore index entries whose record is gone.
//! Once an operator declares the old writers gone ([`MigrationPhase::Finished`], after a
//! re-index), listings read the index sets alone: one round trip whatever the keyspace holds.
//! A store without the phase key is mixed: one the old layer created, one that lost its data,
//! and any store until an operator finishes the migration.

use super::family::{self, Family};
use crate::error::{Error, Result};

/// Where the move from the old storage layer stands, for the whole store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MigrationPhase {
    /// Old-layer processes may write: every listing scans for their records too.
    Mixed,
    /// The old writers are gone and every record is indexed: listings read the indexes.
    Finished,
}

impl MigrationPhase {
    const FINISHED: &'static str = "finished";

    /// The phase stored at `meta:migration` (absent: mixed).
    pub(crate) fn from_stored(key: &str, stored: Option<&str>) -> Result<Self> {
        match stored {
            None => Ok(MigrationPhase::Mixed),
            Some(Self::FINISHED) => Ok(MigrationPhase::Finished),
            Some(_) => Err(Error::corrupt(key, "is not a migration phase")),
        }
    }

    /// What `finish_migration` stores.
    pub(crate) fn finished_marker() -> &'static str {
        Self::FINISHED
    }
}

/// What [`migration_status`](crate::blocking::Storage::migration_status) found: the phase,
/// and what a re-index would change.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MigrationStatus {
    /// The phase the store is in.
    pub phase: MigrationPhase,
    /// Records of each family that no index set names yet (written by the old layer).
    pub unindexed: FamilyCounts,
    /// Those records' keys, sorted: after the migration is finished, each one is a write
    /// of an old-layer process that listings do not show.
    pub unindexed_keys: Vec<String>,
    /// Index entries whose record is gone (listings skip them).
    pub dangling: FamilyCounts,
}

/// A count per family of records the old layer writes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FamilyCounts {
    /// Proxy targets.
    pub proxies: usize,
    /// Routes.
    pub routes: usize,
    /// Certificates.
    pub certificates: usize,
    /// Auth configs.
    pub auth_configs: usize,
}

impl FamilyCounts {
    /// Adds `n` to the count of `family` (a family only this crate writes has none).
    pub(crate) fn add(&mut self, family: &Family, n: usize) {
        if let Some(count) = family.legacy {
            *count(self) += n;
        }
    }

    /// Each family's name (`"proxies"`, `"auth configs"`, …) and count, in a fixed order.
    ///
    /// ```
    /// let counts = storage::FamilyCounts { routes: 2, ..Default::default() };
    /// let shown: Vec<String> = counts.by_family().map(|(name, n)| format!("{n} {name}")).collect();
    /// assert_eq!(shown.join(", "), "0 proxies, 2 routes, 0 certificates, 0 auth configs");
    /// ```
    pub fn by_family(&self) -> impl Iterator<Item = (&'static str, usize)> + '_ {
        family::legacy().filter_map(|family| {
            let count = family.legacy?;
            let mut copy = *self;
            Some((family.name, *count(&mut copy)))
        })
    }

    /// The sum over the families.
    pub fn total(&self) -> usize {
        self.proxies + self.routes + self.certificates + self.auth_configs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_phase_is_mixed_and_garbage_is_corrupt() {
        assert_eq!(
            MigrationPhase::from_stored("k", None).unwrap(),
            MigrationPhase::Mixed
        );
        assert_eq!(
            MigrationPhase::from_stored("k", Some("finished")).unwrap(),
            MigrationPhase::Finished
        );
        assert!(matches!(
            MigrationPhase::from_stored("k", Some("done")),
            Err(Error::Corrupt { .. })
        ));
    }
}
