//! Initialization: run the pure `SeedPlan` against Redis, once per `Storage`.

use std::sync::atomic::Ordering;

use super::connection::lock_init;
use super::storage::Storage;
use super::{maybe, MODE};
use crate::commands::{self, LegacyRecords, WriteOutcome};
use crate::error::Result;
use crate::seed::{self, SeedPlan};

impl Storage {
    /// Seeds the default proxies and routes and repairs `localhost` (see [`crate::seed`]).
    /// Runs once per instance: later calls, and the implicit call on first use, return at
    /// once. Safe against other processes, blocking or async, initializing the same Redis at
    /// the same moment. On an up-to-date store it costs one round trip (an `MGET`).
    #[maybe]
    #[tracing::instrument(name = "initialize", skip_all, fields(mode = MODE))]
    pub async fn initialize(&self) -> Result<()> {
        self.ready().await
    }

    /// Initializes if this instance has not yet; called first by every operation.
    #[maybe]
    pub(super) async fn ready(&self) -> Result<()> {
        let inner = &self.inner;
        if inner.initialized.load(Ordering::Acquire) {
            return Ok(());
        }
        let _guard = lock_init(&inner.init_lock).await;
        if inner.initialized.load(Ordering::Acquire) {
            return Ok(());
        }
        self.seed().await?;
        inner.initialized.store(true, Ordering::Release);
        Ok(())
    }

    /// Snapshot, plan, write; again if another writer changed a record in between.
    #[maybe]
    async fn seed(&self) -> Result<()> {
        let inner = &self.inner;
        let snapshot_keys = seed::snapshot_keys(&inner.keys);
        let snapshot_cmd = commands::mget(&snapshot_keys);
        for _ in 0..inner.config.max_update_attempts {
            let snapshot: Vec<Option<Vec<u8>>> = inner.connection.cmd(&snapshot_cmd).await?;
            let plan = SeedPlan::new(&inner.keys, &snapshot)?;
            if plan.is_empty() || self.apply_seed_plan(&plan).await? {
                return Ok(());
            }
        }
        Err(self.contention(inner.keys.proxy("localhost")))
    }

    /// Writes the plan. Returns false if another writer got in first somewhere, so the plan
    /// must be made again from a fresh snapshot.
    #[maybe]
    async fn apply_seed_plan(&self, plan: &SeedPlan) -> Result<bool> {
        let inner = &self.inner;
        if plan.needs_reindex {
            self.rebuild_indexes().await?;
        }
        let mut settled = true;
        for (hostname, json) in &plan.create_proxies {
            let keys = &inner.keys;
            let call = commands::put_indexed(
                &keys.proxy(hostname),
                &keys.proxy_index(),
                hostname,
                json,
                true,
                None,
            );
            let reply: String = inner.connection.script(&call).await?;
            settled &= WriteOutcome::parse(&reply)? == WriteOutcome::Written;
        }
        for repair in &plan.repair_proxies {
            let call = commands::compare_and_set(&repair.key, &repair.expected, &repair.json);
            let reply: String = inner.connection.script(&call).await?;
            settled &= WriteOutcome::parse(&reply)? == WriteOutcome::Written;
        }
        for (route, json) in &plan.create_routes {
            let call = commands::put_route(&inner.keys, route, json, None);
            let reply: String = inner.connection.script(&call).await?;
            if let WriteOutcome::Conflict { owner } = WriteOutcome::parse(&reply)? {
                // An operator's route already serves this path; theirs wins.
                tracing::warn!(route_id = %route.route_id, %owner, "default route not created");
            }
        }
        Ok(settled)
    }

    /// Adds every legacy proxy and route record to the index sets that listings read.
    ///
    /// Initialization does this once per Redis (it leaves a marker). Run it again if a
    /// process of the old storage layer wrote records since: those writers do not know the
    /// index sets. Costs one `SCAN` pass over the keyspace.
    #[maybe]
    #[tracing::instrument(name = "reindex", skip_all, fields(mode = MODE))]
    pub async fn reindex(&self) -> Result<()> {
        self.ready().await?;
        self.rebuild_indexes().await
    }

    #[maybe]
    async fn rebuild_indexes(&self) -> Result<()> {
        let keys = &self.inner.keys;
        let proxy_keys = self.scan_keys(&keys.proxy_scan_pattern()).await?;
        let route_keys = self.scan_keys(&keys.route_priority_scan_pattern()).await?;
        let cert_keys = self.scan_keys(&keys.cert_scan_pattern()).await?;
        let names: Vec<String> = cert_keys
            .iter()
            .filter_map(|k| keys.cert_name_of(k))
            .collect();
        let records: Vec<Option<Vec<u8>>> = if names.is_empty() {
            Vec::new()
        } else {
            let record_keys: Vec<String> = names.iter().map(|name| keys.cert(name)).collect();
            self.inner
                .connection
                .cmd(&commands::mget(&record_keys))
                .await?
        };
        let found = LegacyRecords {
            hostnames: proxy_keys
                .iter()
                .filter_map(|k| keys.hostname_of(k))
                .collect(),
            route_ids: route_keys
                .iter()
                .filter_map(|k| keys.route_id_of_priority_key(k))
                .collect(),
            certificates: commands::certificate_expiries(keys, names, records),
        };
        let pipe = commands::add_to_indexes(keys, &found);
        self.inner.connection.pipe::<()>(&pipe).await
    }

    #[maybe]
    async fn scan_keys(&self, pattern: &str) -> Result<Vec<String>> {
        let mut found = Vec::new();
        let mut cursor = 0;
        loop {
            let (next, mut batch): (u64, Vec<String>) = self
                .inner
                .connection
                .cmd(&commands::scan(cursor, pattern))
                .await?;
            found.append(&mut batch);
            if next == 0 {
                return Ok(found);
            }
            cursor = next;
        }
    }
}
