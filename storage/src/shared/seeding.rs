//! Initialization: run the pure `SeedPlan` against Redis, once per `Storage`.
//!
//! This is the one file besides `health_check` that talks to the connection directly
//! ([`Storage::connection_before_init`]): the runners every other operation uses call it.

use super::storage::scan_keys;
use super::{maybe, operation, Storage, MODE};
use crate::commands::seeding::LegacyRecords;
use crate::commands::{self, Call, Indexed, Put, ScriptCall, WriteOutcome};
use crate::error::Result;
use crate::model::family::{self, CERTIFICATES, PROXIES};
use crate::retry::{Deadline, Effect};
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

    /// Adds every proxy, route, certificate and auth config record that no index set names
    /// (written by the old layer) to the index sets, and each certificate's own expiry to the
    /// expiry index.
    ///
    /// Never needed for correct listings: while the migration is mixed they scan for such
    /// records anyway, and [`finish_migration`](Self::finish_migration) re-indexes first.
    /// Initialization does it once per Redis (it leaves a marker). Costs one `SCAN` pass
    /// over the keyspace per family.
    #[operation]
    pub async fn reindex(&self) -> Result<()> {
        self.ready().await?;
        self.rebuild_indexes().await
    }

    /// Snapshot, plan, write; again if another writer changed a record in between. Each
    /// round trip ends by `deadline`, the deadline of the call that asked for the check; a
    /// re-index (once per Redis) has its own per round trip.
    #[maybe]
    pub(super) async fn seed(&self, deadline: Deadline) -> Result<()> {
        if !self.config().seed_defaults {
            return Ok(());
        }
        let keys = self.keys();
        let snapshot_cmd = commands::mget(&seed::snapshot_keys(keys));
        let mut attempts = self.attempts(&keys.proxy("localhost"));
        loop {
            attempts.next().await?;
            let snapshot: Vec<Option<Vec<u8>>> = self
                .connection_before_init()
                .send(Call::Cmd(&snapshot_cmd), Effect::Read, deadline)
                .await?;
            let plan = SeedPlan::new(keys, &snapshot)?;
            if plan.is_empty() || self.apply_seed_plan(&plan, deadline).await? {
                return Ok(());
            }
        }
    }

    /// Writes the plan. Returns false if another writer got in first somewhere, so the plan
    /// must be made again from a fresh snapshot.
    #[maybe]
    async fn apply_seed_plan(&self, plan: &SeedPlan, deadline: Deadline) -> Result<bool> {
        let (keys, audit) = (self.keys(), self.audit());
        if plan.needs_reindex {
            self.rebuild_indexes().await?;
        }
        let mut settled = true;
        for (hostname, json) in &plan.create_proxies {
            let target = Indexed::new(keys, &PROXIES, hostname);
            let call = commands::put_indexed(keys, audit, &target, json, Put::CreateOnly, None);
            let record = format!("proxy:{hostname}");
            settled &= self.write_default(&call, &record, deadline).await? == WriteOutcome::Written;
        }
        for repair in &plan.repair_proxies {
            let target = Indexed::new(keys, &PROXIES, &repair.hostname);
            let call =
                commands::compare_and_set(keys, audit, &target, &repair.expected, &repair.json);
            let record = format!("proxy:{}", repair.hostname);
            settled &= self.write_default(&call, &record, deadline).await? == WriteOutcome::Written;
        }
        for (route, json) in &plan.create_routes {
            let call = commands::routes::put_route(keys, audit, route, json, None);
            let record = format!("route:{}", route.route_id);
            if let WriteOutcome::Conflict { owner } =
                self.write_default(&call, &record, deadline).await?
            {
                // An operator's route already serves this path; theirs wins.
                tracing::warn!(route_id = %route.route_id, %owner, "default route not created");
            }
        }
        Ok(settled)
    }

    /// Runs one write of a default `record` (`proxy:localhost`, `route:token`), counting it
    /// when it wrote.
    #[maybe]
    async fn write_default(
        &self,
        call: &ScriptCall,
        record: &str,
        deadline: Deadline,
    ) -> Result<WriteOutcome> {
        let reply: String = self
            .connection_before_init()
            .send(Call::Script(call), Effect::Write, deadline)
            .await?;
        let outcome = WriteOutcome::parse(&reply)?;
        if outcome == WriteOutcome::Written {
            self.telemetry().default_reseeded(record);
        }
        Ok(outcome)
    }

    /// Scans the keyspace for each family the old layer writes and adds what it finds to
    /// the index sets, with each certificate's own expiry.
    #[maybe]
    pub(super) async fn rebuild_indexes(&self) -> Result<()> {
        let (keys, connection) = (self.keys(), self.connection_before_init());
        let mut found = LegacyRecords::default();
        for family in family::legacy() {
            let scanned = scan_keys(connection, &keys.scan_pattern(family)).await?;
            let ids: Vec<String> = scanned
                .iter()
                .filter_map(|key| keys.id_of(family, key))
                .collect();
            if family.is(&CERTIFICATES) && !ids.is_empty() {
                let record_keys: Vec<String> = ids.iter().map(|name| keys.cert(name)).collect();
                let records: Vec<Option<Vec<u8>>> = connection
                    .send(
                        Call::Cmd(&commands::mget(&record_keys)),
                        Effect::Read,
                        self.call_deadline(),
                    )
                    .await?;
                found.expiries = commands::seeding::certificate_expiries(keys, &ids, records);
            }
            found.ids.push((family, ids));
        }
        connection
            .send::<()>(
                Call::Pipe(&commands::seeding::add_to_indexes(keys, &found)),
                Effect::Write,
                self.call_deadline(),
            )
            .await
    }
}
