//! The migration from the old storage layer: where it stands, and finishing it.

use super::{maybe, operation, Storage, MODE};
use crate::commands;
use crate::error::Result;
use crate::model::family;
use crate::model::{FamilyCounts, MigrationPhase, MigrationStatus};

impl Storage {
    /// The migration's phase, and per family how many records no index names (written by
    /// the old layer) and how many index entries name no record. Reads only. Costs a
    /// keyspace scan per family plus one round trip each.
    ///
    /// ```text
    /// // blocking; the async API is the same call followed by `.await`
    /// let status = storage.migration_status()?;
    /// if status.phase == MigrationPhase::Mixed && status.unindexed.total() > 0 {
    ///     println!("{} records written by old-layer processes", status.unindexed.total());
    /// }
    /// ```
    #[operation]
    pub async fn migration_status(&self) -> Result<MigrationStatus> {
        let keys = self.keys();
        let phase = self.migration_phase().await?;
        let mut unindexed = FamilyCounts::default();
        let mut unindexed_keys = Vec::new();
        let mut dangling = FamilyCounts::default();
        for family in family::legacy() {
            let found = self.scan_ids(family).await?;
            let call = commands::migration::index_gaps(keys, family, &found);
            let (missing, gone): (Vec<String>, usize) = self.read_script(&call).await?;
            unindexed.add(family, missing.len());
            unindexed_keys.extend(missing.iter().map(|id| keys.record(family, id)));
            dangling.add(family, gone);
        }
        unindexed_keys.sort();
        Ok(MigrationStatus {
            phase,
            unindexed,
            unindexed_keys,
            dangling,
        })
    }

    /// The migration's phase alone: one `GET`.
    #[maybe]
    pub(super) async fn migration_phase(&self) -> Result<MigrationPhase> {
        let key = self.keys().migration_phase();
        let stored: Option<String> = self.read_cmd(&commands::get(&key)).await?;
        MigrationPhase::from_stored(&key, stored.as_deref())
    }

    /// Finishes the migration: declares that no process of the old layer writes to this
    /// Redis any more. Re-indexes first (every record the old layer wrote joins the index
    /// sets, every certificate's own expiry the expiry index), then stores the phase, so
    /// from then on listings read the indexes alone, in one round trip. Returns the status
    /// afterwards. Idempotent.
    ///
    /// Call it only once every old-layer writer is stopped: a record one writes afterwards
    /// is missing from listings until the next [`reindex`](Self::reindex). A store that
    /// loses its data (a flush, a restart without persistence) starts mixed again.
    #[operation]
    pub async fn finish_migration(&self) -> Result<MigrationStatus> {
        self.ready().await?;
        self.rebuild_indexes().await?;
        self.cmd::<()>(&commands::migration::finish(self.keys()))
            .await?;
        tracing::info!("migration finished: listings read the index sets alone");
        self.migration_status().await
    }

    /// Takes back [`finish_migration`](Self::finish_migration): the store is mixed again, so
    /// listings, the expiry scan and the certificate cascade scan for old-layer records once
    /// more, and a process of the old layer may be started again. Nothing else changes (the
    /// index sets stay; they only name records). Returns the status afterwards. Idempotent.
    #[operation]
    pub async fn roll_back_migration(&self) -> Result<MigrationStatus> {
        self.cmd::<()>(&commands::migration::roll_back(self.keys()))
            .await?;
        tracing::info!("migration rolled back: listings scan for old-layer records again");
        self.migration_status().await
    }

    /// Removes every index entry whose record is gone (an old-layer process deleted the
    /// record, or it was never written), in each family's index set and in the expiry
    /// index. Records are never touched. Returns how many entries went, per family
    /// (certificates count both their indexes). One round trip per index.
    #[operation]
    pub async fn drop_dangling_index_entries(&self) -> Result<FamilyCounts> {
        let keys = self.keys();
        let mut dropped = FamilyCounts::default();
        for family in family::legacy() {
            let call = commands::migration::drop_dangling(
                &keys.index(family),
                &keys.record_prefix(family),
            );
            dropped.add(family, self.script::<usize>(&call).await?);
        }
        let certificates = &family::CERTIFICATES;
        let call = commands::migration::drop_dangling(
            &keys.cert_expiry(),
            &keys.record_prefix(certificates),
        );
        dropped.add(certificates, self.script::<usize>(&call).await?);
        Ok(dropped)
    }
}
