//! The scripts every record family shares: a record and its index entry written, replaced
//! if unchanged, deleted, and listed, with the change feed in the same script. A family
//! declared in [`crate::model::family`] gets all of these without code of its own.

use std::time::Duration;

use super::{with_feed, Audit, ScriptCall};
use crate::error::{Error, Result};
use crate::keys::KeySpace;
use crate::model::family::Family;

/// One record of a family: its key, its family's index set and the id it is named by there,
/// and the name its changes are fed under (none for a family outside the change feed, such
/// as OAuth clients).
pub struct Indexed<'a> {
    record: String,
    index: String,
    member: &'a str,
    feed: &'static str,
}

impl<'a> Indexed<'a> {
    /// The record `id` of `family`.
    pub fn new(keys: &KeySpace, family: &Family, id: &'a str) -> Self {
        Indexed {
            record: keys.record(family, id),
            index: keys.index(family),
            member: id,
            feed: family.feed_name().unwrap_or_default(),
        }
    }

    /// The record's key.
    pub fn key(&self) -> &str {
        &self.record
    }
}

/// Replaces the record only if it still holds `expected` (its index entry is already there:
/// the record is). Reply: [`WriteOutcome`].
pub fn compare_and_set(
    keys: &KeySpace,
    audit: &Audit,
    target: &Indexed<'_>,
    expected: &[u8],
    new: &str,
) -> ScriptCall {
    let mut call = lua_script!("compare_and_set");
    call.key(&target.record);
    call.arg(expected)
        .arg(new)
        .arg(target.feed)
        .arg(target.member);
    with_feed(&mut call, keys, audit);
    call
}

/// Whether a write may replace a record that exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Put {
    /// Only if there is no record yet; else the reply is "stale".
    CreateOnly,
    /// Whatever is there.
    Replace,
}

/// Writes a record and its index entry; `put` says whether it may replace one, `ttl` gives
/// the record a lifetime. Reply: [`WriteOutcome`].
pub fn put_indexed(
    keys: &KeySpace,
    audit: &Audit,
    target: &Indexed<'_>,
    json: &str,
    put: Put,
    ttl: Option<Duration>,
) -> ScriptCall {
    let mut call = lua_script!("put_indexed");
    call.key(&target.record).key(&target.index);
    call.arg(json)
        .arg(target.member)
        .arg(match put {
            Put::CreateOnly => "absent",
            Put::Replace => "any",
        })
        .arg(
            ttl.map(|ttl| ttl.as_secs().max(1).to_string())
                .unwrap_or_default(),
        )
        .arg(target.feed);
    with_feed(&mut call, keys, audit);
    call
}

/// Removes a record and its index entry; with `expected`, only if it still holds that.
/// Reply: how many records went (0 or 1), or "stale".
pub fn delete_indexed(
    keys: &KeySpace,
    audit: &Audit,
    target: &Indexed<'_>,
    expected: Option<&[u8]>,
) -> ScriptCall {
    let mut call = lua_script!("delete_indexed");
    call.key(&target.record).key(&target.index);
    call.arg(target.member).arg(target.feed);
    match expected {
        Some(expected) => call.arg("exact").arg(expected),
        None => call.arg("any").arg(""),
    };
    with_feed(&mut call, keys, audit);
    call
}

/// What a listing reads: an index, where its records are, and optionally scores.
pub struct ListingQuery {
    /// The index: a set, or a sorted set when `until` is given.
    pub index: String,
    /// Record key = this + member.
    pub record_prefix: String,
    /// Read a sorted-set index up to this score, soonest first.
    pub until: Option<i64>,
    /// A sorted set whose score of each listed member is returned (the expiry index).
    pub scores: Option<String>,
}

impl ListingQuery {
    /// Every record of `family`.
    pub fn of_family(keys: &KeySpace, family: &Family) -> Self {
        ListingQuery {
            index: keys.index(family),
            record_prefix: keys.record_prefix(family),
            until: None,
            scores: None,
        }
    }
}

/// How a listing finds records beyond its index.
#[derive(Clone, Copy, Debug)]
pub enum Discovery<'a> {
    /// The index alone: a family only this crate writes.
    Indexed,
    /// The index alone once the migration is finished; else the reply asks for a scan.
    Ask,
    /// The index and these members, found by a keyspace scan.
    Scanned(&'a [String]),
}

/// Every record `query` names, in one round trip. Reply: decode with [`listed`].
pub fn list_records(keys: &KeySpace, query: &ListingQuery, discovery: Discovery<'_>) -> ScriptCall {
    let mut call = lua_script!("list_records");
    call.key(&query.index)
        .key(keys.migration_phase())
        .key(keys.revision());
    if let Some(scores) = &query.scores {
        call.key(scores);
    }
    call.arg(&query.record_prefix);
    match discovery {
        Discovery::Indexed => call.arg("indexed"),
        Discovery::Ask => call.arg("ask"),
        Discovery::Scanned(_) => call.arg("scanned"),
    };
    call.arg(
        query
            .until
            .map(|until| until.to_string())
            .unwrap_or_default(),
    );
    if let Discovery::Scanned(members) = discovery {
        call.arg(members);
    }
    call
}

/// A listing script's answer.
#[derive(Debug, PartialEq)]
pub enum Listed {
    /// The migration is mixed: scan the keyspace and ask again with what it found.
    Scan,
    /// The records, at a store revision.
    Records(u64, Vec<ListedRecord>),
}

/// One record a listing read.
#[derive(Debug, PartialEq)]
pub struct ListedRecord {
    /// The index member (the record's id).
    pub member: String,
    /// Its stored value; `None` when the key holds another Redis type than a string.
    pub raw: Option<Vec<u8>>,
    /// Its score in the listing's score set, if it has one there.
    pub score: Option<i64>,
}

/// Decodes a listing script's reply.
pub fn listed(reply: Vec<Vec<u8>>) -> Result<Listed> {
    let mut items = reply.into_iter();
    match items.next().as_deref() {
        Some(b"scan") => return Ok(Listed::Scan),
        Some(b"ok") => {}
        other => {
            return Err(Error::Protocol {
                reason: format!(
                    "unexpected listing status {:?}",
                    other.map(String::from_utf8_lossy)
                ),
            })
        }
    }
    let revision = items
        .next()
        .and_then(|r| std::str::from_utf8(&r).ok()?.parse().ok())
        .ok_or_else(|| Error::Protocol {
            reason: "a listing without its revision".to_owned(),
        })?;
    let mut records = Vec::with_capacity(items.len() / 4);
    while let (Some(member), Some(kind), Some(raw), Some(score)) =
        (items.next(), items.next(), items.next(), items.next())
    {
        records.push(ListedRecord {
            member: String::from_utf8_lossy(&member).into_owned(),
            raw: (kind != b"wrongtype").then_some(raw),
            // Scores are whole seconds written by this crate; anything else is no score.
            score: std::str::from_utf8(&score)
                .ok()
                .and_then(|s| s.parse::<f64>().ok())
                .map(|s| s as i64),
        });
    }
    Ok(Listed::Records(revision, records))
}

/// The reply of a conditional write script.
#[derive(Debug, PartialEq, Eq)]
pub enum WriteOutcome {
    /// Written.
    Written,
    /// The record changed since it was read (or exists, for a create); nothing written.
    Stale,
    /// Another record owns a unique key; nothing written.
    Conflict {
        /// The owner's id.
        owner: String,
    },
    /// The writer's fencing token is older than the newest issued; nothing written.
    Fenced {
        /// The newest token issued.
        newest: u64,
    },
}

impl WriteOutcome {
    /// An outcome the script that produced it cannot produce: a bug, reported as such.
    pub fn into_error(self) -> Error {
        Error::Protocol {
            reason: format!("unexpected script outcome {self:?}"),
        }
    }

    /// Decodes a script's status string.
    pub fn parse(reply: &str) -> Result<Self> {
        match reply {
            "ok" => Ok(WriteOutcome::Written),
            "stale" => Ok(WriteOutcome::Stale),
            other => {
                if let Some(owner) = other.strip_prefix("conflict:") {
                    return Ok(WriteOutcome::Conflict {
                        owner: owner.to_owned(),
                    });
                }
                match other.strip_prefix("fenced:").map(str::parse) {
                    Some(Ok(newest)) => Ok(WriteOutcome::Fenced { newest }),
                    _ => Err(Error::Protocol {
                        reason: format!("unexpected script reply `{other}`"),
                    }),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::family;

    #[test]
    fn write_outcomes_parse() {
        assert_eq!(WriteOutcome::parse("ok").unwrap(), WriteOutcome::Written);
        assert_eq!(WriteOutcome::parse("stale").unwrap(), WriteOutcome::Stale);
        assert_eq!(
            WriteOutcome::parse("conflict:token").unwrap(),
            WriteOutcome::Conflict {
                owner: "token".into()
            }
        );
        assert!(matches!(
            WriteOutcome::parse("what"),
            Err(Error::Protocol { .. })
        ));
    }

    #[test]
    fn listings_decode_records_wrong_types_scores_and_scan_requests() {
        let reply: Vec<Vec<u8>> = [
            "ok",
            "7",
            "a",
            "json",
            "{}",
            "",
            "b",
            "wrongtype",
            "",
            "1700000000",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
        let Listed::Records(revision, records) = listed(reply).unwrap() else {
            panic!("records expected");
        };
        assert_eq!(revision, 7);
        assert_eq!(records[0].member, "a");
        assert_eq!(records[0].raw.as_deref(), Some(&b"{}"[..]));
        assert_eq!(records[0].score, None);
        assert_eq!(records[1].raw, None);
        assert_eq!(records[1].score, Some(1_700_000_000));
        assert_eq!(listed(vec![b"scan".to_vec()]).unwrap(), Listed::Scan);
        assert!(matches!(
            listed(vec![b"what".to_vec()]),
            Err(Error::Protocol { .. })
        ));
    }

    #[test]
    fn a_scanned_listing_sends_what_the_scan_found() {
        let keys = KeySpace::new("{gw}:");
        let query = ListingQuery::of_family(&keys, &family::ROUTES);
        let found = ["a".to_owned(), "b".to_owned()];
        let shown = format!(
            "{:?}",
            list_records(&keys, &query, Discovery::Scanned(&found))
        );
        assert!(shown.contains("keys: 3"), "{shown}");
    }
}
