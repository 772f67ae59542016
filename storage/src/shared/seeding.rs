//! Initialization: run the pure `SeedPlan` against Redis, once per `Storage`.
//!
//! This is the one file besides `health_check` that talks to the connection directly
//! ([`Storage::connection_before_init`]): the runners every other operation uses call it.

use super::{maybe, operation, Storage, MODE};
use crate::commands::seeding::{self as commands, LegacyRecords};
use crate::commands::{compare_and_set, mget, put_indexed, routes, scan, Put, WriteOutcome};
use crate::error::Result;
use crate::seed::{self, SeedPlan};

impl Storage {
    /// Seeds the default proxies and routes and repairs `localhost` (see [`crate::seed`]).
    /// Runs once per instance: later calls, and the implicit call on first use, return at
    /// once. Safe against other processes, blocking or async, initializing the same Redis at
    /// the same moment. On an up-to-date store it costs one round trip (an `MGET`).
    #[operation]
    pub async fn initialize(&self) -> Result<()> {
        self.ready().await
    }

    /// Adds every legacy proxy, route and certificate record to the index sets that
    /// listings read.
    ///
    /// Initialization does this once per Redis (it leaves a marker). Run it again if a
    /// process of the old storage layer wrote records since: those writers do not know the
    /// index sets. Costs one `SCAN` pass over the keyspace per family.
    #[operation]
    pub async fn reindex(&self) -> Result<()> {
        self.ready().await?;
        self.rebuild_indexes().await
    }

    /// Snapshot, plan, write; again if another writer changed a record in between.
    #[maybe]
    pub(super) async fn seed(&self) -> Result<()> {
        let keys = self.keys();
        let snapshot_cmd = mget(&seed::snapshot_keys(keys));
        for _ in 0..self.config().max_update_attempts {
            let snapshot: Vec<Option<Vec<u8>>> =
                self.connection_before_init().cmd(&snapshot_cmd).await?;
            let plan = SeedPlan::new(keys, &snapshot)?;
            if plan.is_empty() || self.apply_seed_plan(&plan).await? {
                return Ok(());
            }
        }
        Err(self.contention(keys.proxy("localhost")))
    }

    /// Writes the plan. Returns false if another writer got in first somewhere, so the plan
    /// must be made again from a fresh snapshot.
    #[maybe]
    async fn apply_seed_plan(&self, plan: &SeedPlan) -> Result<bool> {
        let (keys, connection) = (self.keys(), self.connection_before_init());
        if plan.needs_reindex {
            self.rebuild_indexes().await?;
        }
        let mut settled = true;
        for (hostname, json) in &plan.create_proxies {
            let call = put_indexed(
                &keys.proxy(hostname),
                &keys.proxy_index(),
                hostname,
                json,
                Put::CreateOnly,
                None,
            );
            let reply: String = connection.script(&call).await?;
            settled &= WriteOutcome::parse(&reply)? == WriteOutcome::Written;
        }
        for repair in &plan.repair_proxies {
            let call = compare_and_set(&repair.key, &repair.expected, &repair.json);
            let reply: String = connection.script(&call).await?;
            settled &= WriteOutcome::parse(&reply)? == WriteOutcome::Written;
        }
        for (route, json) in &plan.create_routes {
            let call = routes::put_route(keys, route, json, None);
            let reply: String = connection.script(&call).await?;
            if let WriteOutcome::Conflict { owner } = WriteOutcome::parse(&reply)? {
                // An operator's route already serves this path; theirs wins.
                tracing::warn!(route_id = %route.route_id, %owner, "default route not created");
            }
        }
        Ok(settled)
    }

    #[maybe]
    async fn rebuild_indexes(&self) -> Result<()> {
        let keys = self.keys();
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
            self.connection_before_init()
                .cmd(&mget(&record_keys))
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
        self.connection_before_init().pipe::<()>(&pipe).await
    }

    #[maybe]
    async fn scan_keys(&self, pattern: &str) -> Result<Vec<String>> {
        let mut found = Vec::new();
        let mut cursor = 0;
        loop {
            let (next, mut batch): (u64, Vec<String>) = self
                .connection_before_init()
                .cmd(&scan(cursor, pattern))
                .await?;
            found.append(&mut batch);
            if next == 0 {
                return Ok(found);
            }
            cursor = next;
        }
    }
}
