//! The configuration's history, what changed between two revisions, and rollback, in this
//! mode: reads of `meta:history`, and a rollback's writes through the ordinary scripts, so
//! that it goes into the feed and the history itself, by its own actor.

use super::{maybe, operation, Storage, MODE};
use crate::commands::{self, history, Audit, Indexed, Put, WriteOutcome};
use crate::error::{Error, Result};
use crate::keys::KeySpace;
use crate::model::family;
use crate::model::history::{collapse, left_now, link};
use crate::model::{
    self, AuthConfig, ChangeFamily, HistoryEntry, HistoryQuery, ProxyTarget, RecordDelta,
    RollbackPlan, RollbackScope, Route,
};

impl Storage {
    /// The changes the history kept that `query` asks for, oldest first: who made each
    /// (the [`actor`](crate::StorageConfig::actor) of the writing process, or the old
    /// layer), when, and the record before and after. Reads every change kept after the
    /// query's first revision (a change's `after` is the next one's `before`): one round
    /// trip per 1 000 of them, and one for the records as they are now.
    ///
    /// ```text
    /// // blocking; the async API is the same call followed by `.await`
    /// for entry in storage.history(&HistoryQuery::all().record(ChangeFamily::Proxy, "api.example.com"))? {
    ///     println!("{} {} by {}: {:?}", entry.revision, entry.change.action(), entry.actor, entry.change.fields());
    /// }
    /// ```
    #[operation]
    pub async fn history(&self, query: &HistoryQuery) -> Result<Vec<HistoryEntry>> {
        let keys = self.keys();
        let mut found = Vec::new();
        let mut after = query.after_revision;
        loop {
            let cmd = history::read_history(keys, after);
            let batch = history::entries(keys, self.read_cmd(&cmd).await?)?;
            let full = batch.len() == history::HISTORY_BATCH;
            if let Some(last) = batch.last() {
                after = last.revision;
            }
            found.extend(batch);
            if !full {
                break;
            }
        }
        let last = link(&mut found);
        if !last.is_empty() {
            let record_keys: Vec<String> = last
                .iter()
                .map(|&index| record_key(keys, &found[index].change))
                .collect();
            let now: Vec<Option<Vec<u8>>> = self.read_cmd(&commands::mget(&record_keys)).await?;
            for (index, raw) in last.into_iter().zip(now) {
                let family = found[index].change.family;
                found[index].change.after = left_now(family, raw);
            }
        }
        found.retain(|entry| query.admits(entry));
        Ok(found)
    }

    /// The store's revision, and the oldest revision the history can restore (the one
    /// before its first change kept). One round trip.
    #[operation]
    pub async fn history_bounds(&self) -> Result<(u64, u64)> {
        let keys = self.keys();
        let reply = self.read_pipe(&history::history_bounds(keys)).await?;
        history::bounds(keys, reply)
    }

    /// What changed from revision `from` to revision `until`: per record, its value at
    /// `from` and at `until`, for the records where they differ. [`Error::HistoryTooShort`]
    /// when the history no longer reaches back to `from`.
    #[operation]
    pub async fn diff_revisions(&self, from: u64, until: u64) -> Result<Vec<RecordDelta>> {
        if from > until {
            return Err(Error::invalid(
                "revision",
                "the range ends before it starts",
            ));
        }
        let (_, oldest) = self.history_bounds().await?;
        if from < oldest {
            return Err(Error::HistoryTooShort {
                requested: from,
                oldest,
            });
        }
        let entries = self
            .history(&HistoryQuery::all().revisions(from, until))
            .await?;
        Ok(collapse(&entries))
    }

    /// What a rollback of the records in `scope` to their values at `revision` would write:
    /// reads only. [`Error::HistoryTooShort`] (with the oldest revision there is) when the
    /// history no longer reaches back to it, [`Error::Invalid`] for a revision the store
    /// has not reached.
    #[operation]
    pub async fn plan_rollback(
        &self,
        revision: u64,
        scope: &RollbackScope,
    ) -> Result<RollbackPlan> {
        let (current, oldest) = self.history_bounds().await?;
        if revision > current {
            return Err(Error::invalid(
                "revision",
                format!("is after the store's revision {current}"),
            ));
        }
        if revision < oldest {
            return Err(Error::HistoryTooShort {
                requested: revision,
                oldest,
            });
        }
        let entries = self.history(&scope.query(revision)).await?;
        Ok(RollbackPlan::new(revision, &entries))
    }

    /// Writes `plan`, each record atomically through the ordinary scripts, as the actor
    /// `"{actor} (rollback to {revision})"`. First every record is read: one whose value is
    /// not the one the plan read (a writer changed it since, through this crate or behind
    /// it) is [`Error::ChangedSince`] naming it, and nothing is written, unless `force`,
    /// which overwrites whatever is there. Each write is conditional on what was read, so a
    /// writer racing the rollback itself also stops it, at that record (the error says how
    /// many were written before). One round trip (`MGET`), then one per record.
    #[operation]
    pub async fn apply_rollback(&self, plan: &RollbackPlan, force: bool) -> Result<()> {
        let keys = self.keys();
        let record_keys: Vec<String> = plan
            .steps
            .iter()
            .map(|step| record_key(keys, &step.change))
            .collect();
        // Each value as an ordinary write of it would store it: validated, and a default
        // proxy with every path OAuth needs, whatever the revision held.
        let values = plan
            .steps
            .iter()
            .zip(&record_keys)
            .map(|(step, key)| self.value_to_restore(key, &step.change))
            .collect::<Result<Vec<_>>>()?;
        if record_keys.is_empty() {
            return Ok(());
        }
        let current: Vec<Option<Vec<u8>>> = self.read_cmd(&commands::mget(&record_keys)).await?;
        if !force {
            let changed: Vec<String> = plan
                .steps
                .iter()
                .zip(&current)
                .zip(&record_keys)
                .filter(|((step, now), _)| {
                    now.as_deref() != step.change.before.as_deref().map(str::as_bytes)
                })
                .map(|(_, key)| key.clone())
                .collect();
            if !changed.is_empty() {
                return Err(Error::ChangedSince {
                    keys: changed,
                    written: 0,
                });
            }
        }
        let actor = format!("{} (rollback to {})", self.config().actor, plan.revision);
        let audit = self.audit().by(actor);
        for (written, ((step, now), (key, value))) in plan
            .steps
            .iter()
            .zip(&current)
            .zip(record_keys.iter().zip(&values))
            .enumerate()
        {
            let outcome = self
                .roll_back_record(&audit, key, &step.change, value.as_deref(), now.as_deref())
                .await?;
            match outcome {
                WriteOutcome::Written => {}
                WriteOutcome::Stale => {
                    return Err(Error::ChangedSince {
                        keys: vec![key.clone()],
                        written,
                    })
                }
                refused => return Err(refused.into_error()),
            }
        }
        Ok(())
    }

    /// Rolls every record the history kept back to its value at `revision`: the plan of
    /// [`plan_rollback`](Self::plan_rollback) for all families, written by
    /// [`apply_rollback`](Self::apply_rollback) without force. Returns the plan written.
    ///
    /// ```text
    /// // blocking; the async API is the same call followed by `.await`
    /// let plan = storage.rollback_to(41)?;
    /// println!("{} records back at revision 41", plan.steps.len());
    /// ```
    #[operation]
    pub async fn rollback_to(&self, revision: u64) -> Result<RollbackPlan> {
        let plan = self.plan_rollback(revision, &RollbackScope::All).await?;
        self.apply_rollback(&plan, false).await?;
        Ok(plan)
    }

    /// Writes one record of a rollback back to `value` (none: deleted), if it still holds
    /// `now`.
    #[maybe]
    async fn roll_back_record(
        &self,
        audit: &Audit,
        key: &str,
        delta: &RecordDelta,
        value: Option<&str>,
        now: Option<&[u8]>,
    ) -> Result<WriteOutcome> {
        let keys = self.keys();
        let id = delta.id.as_str();
        let call = match (delta.family, value, now) {
            (_, None, None) => return Ok(WriteOutcome::Written),
            (ChangeFamily::Route, Some(after), now) => {
                let route: Route = model::decode(key, after.as_bytes())?;
                let previous = now
                    .map(|raw| model::decode::<Route>(key, raw).map(|old| (raw, old)))
                    .transpose()?;
                let previous = previous.as_ref().map(|(raw, old)| (*raw, old));
                commands::routes::put_route(keys, audit, &route, after, previous)
            }
            (ChangeFamily::Route, None, Some(raw)) => {
                let decoded: Option<Route> = model::decode(key, raw).ok();
                commands::routes::delete_route(keys, audit, id, raw, decoded.as_ref())
            }
            (family, after, now) => {
                let target = Indexed::new(keys, family::of_change(family), id);
                match (after, now) {
                    (Some(after), None) => {
                        commands::put_indexed(keys, audit, &target, after, Put::CreateOnly, None)
                    }
                    (Some(after), Some(raw)) => {
                        commands::compare_and_set(keys, audit, &target, raw, after)
                    }
                    (None, raw) => commands::delete_indexed(keys, audit, &target, raw),
                }
            }
        };
        let reply: String = self.script_once(&call).await?;
        match reply.as_str() {
            "0" | "1" => Ok(WriteOutcome::Written),
            other => WriteOutcome::parse(other),
        }
    }

    /// Records, in the history and the feed, a change a writer made without either (the
    /// old layer), found by a live configuration's reconcile pass; `before` is the record
    /// as that pass had it, at revision `since`. Once per change, however many processes
    /// find it.
    #[maybe]
    pub(super) async fn record_observed(
        &self,
        family: ChangeFamily,
        id: &str,
        before: Option<&str>,
        since: u64,
    ) -> Result<()> {
        if !self.audit().keeps_history() {
            return Ok(());
        }
        let keys = self.keys();
        let key = keys.record(family::of_change(family), id);
        let record = (family.as_str(), id);
        let call = history::observe_change(keys, self.audit(), &key, record, before, since);
        self.script::<String>(&call).await?;
        Ok(())
    }
}

/// The key of the record a step writes.
fn record_key(keys: &KeySpace, delta: &RecordDelta) -> String {
    keys.record(family::of_change(delta.family), &delta.id)
}

impl Storage {
    /// The value a step writes back, as an ordinary write of it would store it (none for a
    /// delete): the history is in Redis, where anyone may have written it, so it must
    /// decode as a record of its family and pass that family's validation.
    fn value_to_restore(&self, key: &str, delta: &RecordDelta) -> Result<Option<String>> {
        let Some(after) = delta.after.as_deref() else {
            return Ok(None);
        };
        let bytes = after.as_bytes();
        let json = match delta.family {
            ChangeFamily::Proxy => {
                let mut proxy: ProxyTarget = model::decode(key, bytes)?;
                self.check_root_exclusion(&proxy)?;
                model::encode(&mut proxy)?
            }
            ChangeFamily::Route => model::encode(&mut model::decode::<Route>(key, bytes)?)?,
            ChangeFamily::AuthConfig => {
                model::encode(&mut model::decode::<AuthConfig>(key, bytes)?)?
            }
            _ => {
                return Err(Error::invalid(
                    "family",
                    format!("{} records are not restored from the history", delta.family),
                ))
            }
        };
        Ok(Some(json))
    }
}
