//! The configuration's history, read back: who changed which record when, from what to
//! what, and what a rollback to a revision would write.
//!
//! The scripts that write configuration append each change to `meta:history` in the same
//! step as the change feed (see `lua/prologue.lua`); everything here is pure: the entries
//! decoded, records collapsed over a range of revisions, diffs per field, and the plan of a
//! rollback, which the storage then writes through the ordinary scripts.

use std::collections::BTreeMap;
use std::fmt;
use std::time::SystemTime;

use serde_json::Value;

use super::secret::SECRET_FIELDS;
use super::watch::decode_entry;
use super::{ChangeFamily, ChangeOp};
use crate::error::{Error, Result};

/// Who made a change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// A process of this crate, by its configured
    /// [`actor`](crate::StorageConfig::actor).
    Named(String),
    /// The old storage layer, whose writes name no one: recorded when a live configuration's
    /// reconcile pass found the change.
    OldLayer,
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Named(name) => f.write_str(name),
            Actor::OldLayer => f.write_str("unknown (old layer)"),
        }
    }
}

/// One record's value before and after a change, or over a range of revisions: the JSON
/// as stored (a certificate's without its PEMs). `None` is no record.
#[derive(Clone, PartialEq, Eq)]
pub struct RecordDelta {
    /// The record's family.
    pub family: ChangeFamily,
    /// The record's id (hostname, route id, name).
    pub id: String,
    /// The record before; `None` when it did not exist.
    pub before: Option<String>,
    /// The record after; `None` when it was deleted.
    pub after: Option<String>,
}

/// What a change did, or what a rollback would do, to a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// The record comes into being.
    Create,
    /// The record is replaced.
    Update,
    /// The record goes.
    Delete,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
        })
    }
}

/// One top-level field that differs between two values of a record. A field named in
/// [`SECRET_FIELDS`] is [`is_secret`](Self::is_secret): show that it changed, not how.
#[derive(Clone, PartialEq)]
pub struct FieldChange {
    /// The field's name.
    pub field: String,
    /// Its value before; `None` when it was absent.
    pub before: Option<Value>,
    /// Its value after; `None` when it is absent.
    pub after: Option<Value>,
}

impl FieldChange {
    /// Whether the field holds a secret (or its hash).
    pub fn is_secret(&self) -> bool {
        SECRET_FIELDS.contains(&self.field.as_str())
    }
}

impl fmt::Debug for FieldChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("FieldChange");
        out.field("field", &self.field);
        if self.is_secret() {
            out.finish_non_exhaustive()
        } else {
            out.field("before", &self.before)
                .field("after", &self.after)
                .finish()
        }
    }
}

impl RecordDelta {
    /// What it does to the record.
    pub fn action(&self) -> Action {
        match (&self.before, &self.after) {
            (None, _) => Action::Create,
            (Some(_), Some(_)) => Action::Update,
            (Some(_), None) => Action::Delete,
        }
    }

    /// The top-level fields that differ, by name. A value that is not a JSON object counts
    /// as one field named `""`.
    pub fn fields(&self) -> Vec<FieldChange> {
        let before = object(self.before.as_deref());
        let after = object(self.after.as_deref());
        let mut names: Vec<&String> = before.keys().chain(after.keys()).collect();
        names.sort();
        names.dedup();
        names
            .into_iter()
            .filter(|name| before.get(*name) != after.get(*name))
            .map(|name| FieldChange {
                field: name.clone(),
                before: before.get(name).cloned(),
                after: after.get(name).cloned(),
            })
            .collect()
    }
}

impl fmt::Debug for RecordDelta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A proxy may hold a secret: the fields are shown as their diff, which hides them.
        f.debug_struct("RecordDelta")
            .field("family", &self.family)
            .field("id", &self.id)
            .field("action", &self.action())
            .field("fields", &self.fields())
            .finish()
    }
}

/// A record as a map of its top-level fields.
fn object(json: Option<&str>) -> BTreeMap<String, Value> {
    match json.map(serde_json::from_str::<Value>) {
        None => BTreeMap::new(),
        Some(Ok(Value::Object(map))) => map.into_iter().collect(),
        Some(Ok(other)) => BTreeMap::from([(String::new(), other)]),
        Some(Err(_)) => BTreeMap::from([(
            String::new(),
            Value::String(json.unwrap_or_default().to_owned()),
        )]),
    }
}

/// One change the history kept. Its `change.after` is what it left: the `before` of the
/// record's next change, or the record as it is now for its last one (a change made without
/// history since, by a process that keeps none, shows there).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryEntry {
    /// The store revision the change made, as in the change feed.
    pub revision: u64,
    /// The store's epoch then: revisions count again from 1 after Redis lost its data, in a
    /// new epoch.
    pub epoch: Option<String>,
    /// When it was written, by the server's clock.
    pub at: Option<SystemTime>,
    /// Who made it.
    pub actor: Actor,
    /// What was written or deleted.
    pub op: ChangeOp,
    /// The record before and after.
    pub change: RecordDelta,
}

/// Decodes one entry of `meta:history` (at `key`); [`Error::Corrupt`] names the key and the
/// entry.
pub(crate) fn decode_history_entry(
    key: &str,
    id: &str,
    fields: &[(String, Vec<u8>)],
) -> Result<HistoryEntry> {
    let change = decode_entry(key, id, fields)?;
    let text = |name: &str| -> Result<Option<String>> {
        match fields.iter().find(|(field, _)| field == name) {
            None => Ok(None),
            Some((_, value)) => String::from_utf8(value.clone()).map(Some).map_err(|_| {
                Error::corrupt(key, format!("history entry {id}: `{name}` is not UTF-8"))
            }),
        }
    };
    let actor = match text("actor")? {
        Some(name) if !name.is_empty() => Actor::Named(name),
        _ => Actor::OldLayer,
    };
    Ok(HistoryEntry {
        revision: change.revision,
        epoch: change.epoch,
        at: change.at,
        actor,
        op: change.op,
        change: RecordDelta {
            family: change.family,
            id: change.id,
            before: text("before")?,
            after: None,
        },
    })
}

/// Fills each entry's `after` (`entries` in revision order): the next entry's `before` for
/// the same record. Returns, for each record's last entry that put a value, its index: its
/// `after` is the record now, which only a read can tell ([`left_now`]).
pub(crate) fn link(entries: &mut [HistoryEntry]) -> Vec<usize> {
    let mut next_before: BTreeMap<(String, String), Option<String>> = BTreeMap::new();
    let mut last = Vec::new();
    for index in (0..entries.len()).rev() {
        let change = &entries[index].change;
        let record = (change.family.to_string(), change.id.clone());
        let after = next_before.insert(record, change.before.clone());
        if entries[index].op == ChangeOp::Put {
            match after {
                Some(after) => entries[index].change.after = after,
                None => last.push(index),
            }
        }
    }
    last.reverse();
    last
}

/// A record read now, as the history shows it (a certificate without its PEMs).
pub(crate) fn left_now(family: ChangeFamily, raw: Option<Vec<u8>>) -> Option<String> {
    let text = String::from_utf8_lossy(&raw?).into_owned();
    if family != ChangeFamily::Certificate {
        return Some(text);
    }
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(mut fields)) => {
            fields.remove("fullchain_pem");
            fields.remove("private_key_pem");
            Some(Value::Object(fields).to_string())
        }
        _ => None,
    }
}

/// Which changes a history read returns: by default all of them, oldest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HistoryQuery {
    pub(crate) family: Option<ChangeFamily>,
    pub(crate) id: Option<String>,
    pub(crate) since: Option<SystemTime>,
    pub(crate) after_revision: u64,
    pub(crate) until_revision: Option<u64>,
}

impl HistoryQuery {
    /// Every change kept.
    pub fn all() -> Self {
        HistoryQuery::default()
    }

    /// Only changes of `family`.
    pub fn family(mut self, family: ChangeFamily) -> Self {
        self.family = Some(family);
        self
    }

    /// Only changes of one record.
    pub fn record(mut self, family: ChangeFamily, id: impl Into<String>) -> Self {
        self.family = Some(family);
        self.id = Some(id.into());
        self
    }

    /// Only changes written at `since` or later.
    pub fn since(mut self, since: SystemTime) -> Self {
        self.since = Some(since);
        self
    }

    /// Only changes after revision `from` up to and including `until`.
    pub fn revisions(mut self, from: u64, until: u64) -> Self {
        self.after_revision = from;
        self.until_revision = Some(until);
        self
    }

    /// Whether `entry` is one this query asks for (entries after `after_revision` are what
    /// Redis is asked for).
    pub(crate) fn admits(&self, entry: &HistoryEntry) -> bool {
        self.until_revision
            .is_none_or(|until| entry.revision <= until)
            && self
                .family
                .is_none_or(|family| family == entry.change.family)
            && self.id.as_ref().is_none_or(|id| *id == entry.change.id)
            && self
                .since
                .is_none_or(|since| entry.at.is_some_and(|at| at >= since))
    }
}

/// Each record's value before the first and after the last of `entries` (in revision
/// order), for the records whose value differs: what changed over their range, sorted by
/// family and id.
pub(crate) fn collapse(entries: &[HistoryEntry]) -> Vec<RecordDelta> {
    let mut records: BTreeMap<(String, String), RecordDelta> = BTreeMap::new();
    for entry in entries {
        let change = &entry.change;
        let key = (change.family.to_string(), change.id.clone());
        records
            .entry(key)
            .and_modify(|delta| delta.after = change.after.clone())
            .or_insert_with(|| change.clone());
    }
    records
        .into_values()
        .filter(|delta| delta.before != delta.after)
        .collect()
}

/// What a rollback writes for one record: from its value now (as the history last left it)
/// back to its value at the target revision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RollbackStep {
    /// `before` is the record as the plan read it, `after` its value at the target
    /// revision.
    pub change: RecordDelta,
}

/// What [`rollback_to`](crate::blocking::Storage::rollback_to) writes: one step per
/// record whose value differs from the one it had at the revision, and the records it
/// leaves as they are, with why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RollbackPlan {
    /// The revision the records go back to.
    pub revision: u64,
    /// The writes, by family and id.
    pub steps: Vec<RollbackStep>,
    /// Records changed since the revision that the rollback leaves as they are.
    pub skipped: Vec<SkippedRecord>,
}

/// A record a rollback leaves as it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedRecord {
    /// From its value now to the one it had at the revision.
    pub change: RecordDelta,
    /// Why it is left: a certificate (the history keeps no PEMs), or a default proxy that
    /// the rollback would delete (it is required, as `delete_proxy_target` says).
    pub reason: &'static str,
}

impl RollbackPlan {
    /// The plan that takes the records `entries` (every entry after `revision`, in
    /// revision order) changed back to their values at `revision`.
    pub(crate) fn new(revision: u64, entries: &[HistoryEntry]) -> Self {
        let mut plan = RollbackPlan {
            revision,
            steps: Vec::new(),
            skipped: Vec::new(),
        };
        for delta in collapse(entries) {
            let change = RecordDelta {
                before: delta.after,
                after: delta.before,
                ..delta
            };
            let reason = match change.family {
                ChangeFamily::Certificate => Some("the history keeps no certificate's PEMs"),
                ChangeFamily::Proxy
                    if change.after.is_none()
                        && crate::seed::default_proxy(&change.id).is_some() =>
                {
                    Some("a default proxy is required")
                }
                _ => None,
            };
            match reason {
                Some(reason) => plan.skipped.push(SkippedRecord { change, reason }),
                None => plan.steps.push(RollbackStep { change }),
            }
        }
        plan
    }

    /// Whether it writes nothing.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

/// Which records a rollback takes back.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RollbackScope {
    /// Every record of every family the history keeps.
    All,
    /// Every record of one family.
    Family(ChangeFamily),
    /// One record.
    Record(ChangeFamily, String),
}

impl RollbackScope {
    /// The history query that finds the changes in scope after `revision`.
    pub(crate) fn query(&self, revision: u64) -> HistoryQuery {
        let query = HistoryQuery {
            after_revision: revision,
            ..HistoryQuery::default()
        };
        match self {
            RollbackScope::All => query,
            RollbackScope::Family(family) => query.family(*family),
            RollbackScope::Record(family, id) => query.record(*family, id.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(revision: u64, id: &str, before: Option<&str>, after: Option<&str>) -> HistoryEntry {
        HistoryEntry {
            revision,
            epoch: None,
            at: None,
            actor: Actor::Named("test".into()),
            op: if after.is_some() {
                ChangeOp::Put
            } else {
                ChangeOp::Delete
            },
            change: RecordDelta {
                family: ChangeFamily::Proxy,
                id: id.into(),
                before: before.map(str::to_owned),
                after: after.map(str::to_owned),
            },
        }
    }

    #[test]
    fn fields_name_what_differs_and_hide_secrets_in_debug() {
        let delta = RecordDelta {
            family: ChangeFamily::Proxy,
            id: "a".into(),
            before: Some(r#"{"a":1,"b":2,"github_client_secret":"hunter2"}"#.into()),
            after: Some(r#"{"a":1,"c":3,"github_client_secret":"swordfish"}"#.into()),
        };
        let fields = delta.fields();
        let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(names, ["b", "c", "github_client_secret"]);
        assert!(fields[2].is_secret());
        let shown = format!("{delta:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("swordfish"),
            "{shown}"
        );
        assert_eq!(delta.action(), Action::Update);
    }

    #[test]
    fn a_range_collapses_to_first_before_and_last_after() {
        let entries = [
            entry(2, "a", None, Some("1")),
            entry(3, "b", Some("x"), Some("y")),
            entry(4, "a", Some("1"), Some("2")),
            entry(5, "b", Some("y"), Some("x")),
        ];
        let collapsed = collapse(&entries);
        assert_eq!(collapsed.len(), 1, "b is back where it was");
        assert_eq!(collapsed[0].before, None);
        assert_eq!(collapsed[0].after.as_deref(), Some("2"));

        let plan = RollbackPlan::new(1, &entries);
        assert_eq!(plan.steps.len(), 1);
        assert_eq!(plan.steps[0].change.action(), Action::Delete);
        assert_eq!(plan.steps[0].change.before.as_deref(), Some("2"));
    }

    #[test]
    fn entries_decode_with_their_actor_and_corrupt_ones_are_named() {
        let fields = |actor: &str| {
            vec![
                ("family".to_owned(), b"route".to_vec()),
                ("id".to_owned(), b"r".to_vec()),
                ("op".to_owned(), b"put".to_vec()),
                ("actor".to_owned(), actor.as_bytes().to_vec()),
                ("before".to_owned(), b"{}".to_vec()),
            ]
        };
        let named = decode_history_entry("h", "7-0", &fields("me@host:1")).unwrap();
        assert_eq!(named.actor, Actor::Named("me@host:1".into()));
        assert_eq!(named.change.before.as_deref(), Some("{}"));
        let old = decode_history_entry("h", "8-0", &fields("")).unwrap();
        assert_eq!(old.actor.to_string(), "unknown (old layer)");
        let mut bad = fields("x");
        bad[4].1 = vec![0xff];
        let error = decode_history_entry("h", "9-0", &bad).unwrap_err();
        assert!(error.to_string().contains("h"), "{error}");
    }
}
