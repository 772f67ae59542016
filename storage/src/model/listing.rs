//! A listing that does not hide corrupt records.

use super::record::{decode, Record};
use crate::error::{Error, Result};

/// Why a listing reports a key that holds a hash, set or list where a record belongs.
const WRONG_TYPE: &str = "holds another Redis type than a JSON string";

/// A listing that does not hide corrupt records: the ones that decoded, and the keys of the
/// ones that did not. Corrupt records are left in Redis untouched.
#[derive(Debug, Clone, PartialEq)]
#[must_use = "a listing may report corrupt records"]
pub struct Listing<T> {
    /// Records that decoded and validated.
    pub records: Vec<T>,
    /// Records that did not, as [`Error::Corrupt`] values naming their keys.
    pub corrupt: Vec<CorruptRecord>,
    /// The store revision the listing saw (see the change feed, `Storage::watch`): every
    /// change up to it is in the listing, none after it. 0 for listings outside the feed
    /// (OAuth clients) and for a store that never changed.
    pub revision: u64,
}

/// One record a listing could not use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorruptRecord {
    /// The key holding it.
    pub key: String,
    /// Why it could not be used.
    pub reason: String,
}

impl<T> Listing<T> {
    /// The records, or an error naming the first corrupt key.
    pub fn into_strict(self) -> Result<Vec<T>> {
        match self.corrupt.into_iter().next() {
            None => Ok(self.records),
            Some(bad) => Err(Error::Corrupt {
                key: bad.key,
                reason: bad.reason,
            }),
        }
    }

    /// Keeps the records for which `keep` is true; corrupt reports stay.
    pub(crate) fn filtered(mut self, keep: impl FnMut(&T) -> bool) -> Self {
        let mut keep = keep;
        self.records.retain(|record| keep(record));
        self
    }

    /// The listing, saying it saw `revision`.
    pub(crate) fn at(mut self, revision: u64) -> Self {
        self.revision = revision;
        self
    }

    /// Sorts the records (and the corrupt reports, by key).
    pub(crate) fn sorted_by(mut self, order: impl FnMut(&T, &T) -> std::cmp::Ordering) -> Self {
        self.records.sort_by(order);
        self.corrupt.sort_by(|a, b| a.key.cmp(&b.key));
        self
    }

    /// Decodes `(key, stored value)` pairs, sorting out the corrupt ones; a value of `None`
    /// is a key that holds another Redis type than a string.
    pub(crate) fn decode(entries: impl IntoIterator<Item = (String, Option<Vec<u8>>)>) -> Self
    where
        T: Record,
    {
        let mut listing = Listing {
            records: Vec::new(),
            corrupt: Vec::new(),
            revision: 0,
        };
        for (key, raw) in entries {
            if let Some(record) = listing.take(key, raw.as_deref()) {
                listing.records.push(record);
            }
        }
        listing
    }

    /// The record at `key` decoded, or `None` with the reason recorded among the corrupt.
    pub(crate) fn take(&mut self, key: String, raw: Option<&[u8]>) -> Option<T>
    where
        T: Record,
    {
        let Some(raw) = raw else {
            tracing::warn!(%key, "skipping a key of the wrong Redis type in listing");
            self.corrupt.push(CorruptRecord {
                key,
                reason: WRONG_TYPE.to_owned(),
            });
            return None;
        };
        match decode(&key, raw) {
            Ok(record) => Some(record),
            Err(Error::Corrupt { key, reason }) => {
                tracing::warn!(%key, "skipping corrupt record in listing");
                self.corrupt.push(CorruptRecord { key, reason });
                None
            }
            Err(other) => {
                self.corrupt.push(CorruptRecord {
                    key,
                    reason: other.to_string(),
                });
                None
            }
        }
    }
}
