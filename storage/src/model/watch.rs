//! The change feed: what changed, at which revision.
//!
//! Every write to proxies, routes, certificates or auth configs increments one store
//! revision and appends a [`Change`] to a capped stream, in the same script as the write.
//! A watcher reads the stream from a revision on; when the stream no longer holds the
//! revisions it needs (trimmed, or Redis lost its data), it says so with
//! [`WatchEvent::Resync`] instead of skipping changes.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::family;
use crate::error::{Error, Result};

/// The families whose changes the feed carries. More may come: match with a wildcard arm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChangeFamily {
    /// Proxy targets, by hostname.
    Proxy,
    /// Routes, by route id.
    Route,
    /// Certificates, by name.
    Certificate,
    /// Auth configs, by id.
    AuthConfig,
}

impl ChangeFamily {
    /// The name the feed stores, from the family's declaration.
    pub(crate) fn as_str(self) -> &'static str {
        family::feeds()
            .find(|feed| feed.change == self)
            .map_or("", |feed| feed.name)
    }

    fn parse(text: &str) -> Option<Self> {
        family::feeds()
            .find(|feed| feed.name == text)
            .map(|feed| feed.change)
    }
}

impl fmt::Display for ChangeFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a change did to its record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeOp {
    /// Created or replaced.
    Put,
    /// Deleted.
    Delete,
}

/// One change, at one revision.
#[derive(Clone, PartialEq, Eq)]
pub struct Change {
    /// The store revision this change made.
    pub revision: u64,
    /// The family of the changed record.
    pub family: ChangeFamily,
    /// The changed record's id (hostname, route id, name).
    pub id: String,
    /// What happened to it.
    pub op: ChangeOp,
    /// The record written, for proxies and routes: what a live configuration applies
    /// without reading it back. Never printed (a proxy may hold a secret).
    pub(crate) value: Option<Vec<u8>>,
    /// The store's epoch when it was written: a new one after Redis lost its data. None
    /// for entries an older version of this crate wrote.
    pub(crate) epoch: Option<String>,
    /// When it was written, by the server's clock. None for entries an older version of
    /// this crate wrote.
    pub(crate) at: Option<SystemTime>,
}

impl Change {
    /// How long ago it was written, as far as the clocks tell (zero if the server's clock
    /// is ahead of this one).
    pub(crate) fn age(&self) -> Option<Duration> {
        self.at.map(|at| at.elapsed().unwrap_or_default())
    }
}

impl fmt::Debug for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Change")
            .field("revision", &self.revision)
            .field("family", &self.family)
            .field("id", &self.id)
            .field("op", &self.op)
            .finish_non_exhaustive()
    }
}

/// What a watcher yields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WatchEvent {
    /// The next change, in revision order.
    Change(Change),
    /// Changes after `seen` are no longer in the feed (it was trimmed past them, or Redis
    /// lost its data and started counting again, however many writes followed): read
    /// everything again, for example with a listing, which says its revision, and watch on
    /// from there.
    Resync {
        /// The last revision the watcher had delivered.
        seen: u64,
        /// The store's revision now.
        current: u64,
    },
}

/// Decodes one stream entry (`{revision}-0`, its fields) into a change.
pub(crate) fn decode_entry(key: &str, id: &str, fields: &[(String, Vec<u8>)]) -> Result<Change> {
    let corrupt = |what: &str| Error::corrupt(key, format!("change feed entry {id}: {what}"));
    let revision = id
        .split_once('-')
        .and_then(|(revision, _)| revision.parse().ok())
        .ok_or_else(|| corrupt("its id is not a revision"))?;
    let field = |name: &str| {
        fields
            .iter()
            .find(|(field, _)| field == name)
            .and_then(|(_, value)| std::str::from_utf8(value).ok())
    };
    let family = field("family")
        .and_then(ChangeFamily::parse)
        .ok_or_else(|| corrupt("no known family"))?;
    let op = match field("op") {
        Some("put") => ChangeOp::Put,
        Some("delete") => ChangeOp::Delete,
        _ => return Err(corrupt("no known op")),
    };
    let id = field("id").ok_or_else(|| corrupt("no id"))?.to_owned();
    let value = fields
        .iter()
        .find(|(field, _)| field == "value")
        .map(|(_, value)| value.clone());
    let epoch = field("epoch").map(str::to_owned);
    let at = field("at")
        .and_then(|ms| ms.parse().ok())
        .map(|ms| UNIX_EPOCH + Duration::from_millis(ms));
    Ok(Change {
        revision,
        family,
        id,
        op,
        value,
        epoch,
        at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_change_family_is_declared_once_and_its_name_parses_back() {
        let all = [
            ChangeFamily::Proxy,
            ChangeFamily::Route,
            ChangeFamily::Certificate,
            ChangeFamily::AuthConfig,
        ];
        for change in all {
            let declared = family::feeds().filter(|feed| feed.change == change).count();
            assert_eq!(declared, 1, "{change:?}");
            assert_eq!(ChangeFamily::parse(change.as_str()), Some(change));
        }
        assert_eq!(family::feeds().count(), all.len());
        assert_eq!(ChangeFamily::parse("nonsense"), None);
    }

    /// The scripts that feed a family's changes themselves name it as a literal: each must
    /// be a declared feed name.
    #[test]
    fn the_scripts_feed_only_declared_names() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/lua");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let source = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            for literal in source.split("feed('").skip(1) {
                let name = literal.split('\'').next().unwrap();
                assert!(ChangeFamily::parse(name).is_some(), "feed('{name}'");
                seen += 1;
            }
        }
        assert!(seen >= 4, "{seen}");
    }

    #[test]
    fn entries_decode_and_nonsense_is_corrupt_by_key() {
        let fields = |f: &str, op: &str| {
            vec![
                ("family".to_owned(), f.as_bytes().to_vec()),
                ("id".to_owned(), b"a.example".to_vec()),
                ("op".to_owned(), op.as_bytes().to_vec()),
            ]
        };
        let change = decode_entry("k", "42-0", &fields("proxy", "put")).unwrap();
        assert_eq!(change.revision, 42);
        assert_eq!(change.family, ChangeFamily::Proxy);
        assert_eq!(change.op, ChangeOp::Put);
        assert!(matches!(
            decode_entry("k", "x-0", &fields("proxy", "put")),
            Err(Error::Corrupt { .. })
        ));
        assert!(decode_entry("k", "1-0", &fields("tokens", "put")).is_err());
        assert!(decode_entry("k", "1-0", &fields("route", "rename")).is_err());
    }
}
