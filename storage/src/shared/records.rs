//! What every record family's operations share: reads, optimistic updates and listings, for
//! any family declared in [`crate::model::family`]. A new family's operations are calls of
//! these with its declaration; only what is special about it needs code of its own.

use std::time::Duration;

use super::conditional::Decision;
use super::{maybe, Storage};
use crate::commands::{
    self, Discovery, Indexed, Listed, ListedRecord, ListingQuery, Put, ScriptCall, WriteOutcome,
};
use crate::error::{Error, Result};
use crate::model::family::Family;
use crate::model::{self, Listing, Record, Shape};

impl Storage {
    /// The record at `key`, decoded, if there is one. One round trip.
    #[maybe]
    pub(super) async fn read<T: Record>(&self, key: &str) -> Result<Option<T>> {
        let raw = self.read_raw(key).await?;
        raw.map(|raw| model::decode(key, &raw)).transpose()
    }

    /// The bytes at `key`, if there are any. One round trip.
    #[maybe]
    pub(super) async fn read_raw(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.read_cmd(&commands::get(key))
            .await
            .map_err(|e| e.about(key))
    }

    /// Writes `json` as the record `target` with its index entry; `put` says whether it may
    /// replace one, `ttl` gives it a lifetime. A create is never resent (a second run would
    /// find the first one's record and answer stale). One round trip.
    #[maybe]
    pub(super) async fn put_record(
        &self,
        target: &Indexed<'_>,
        json: &str,
        put: Put,
        ttl: Option<Duration>,
    ) -> Result<WriteOutcome> {
        let call = commands::put_indexed(self.keys(), self.audit(), target, json, put, ttl);
        let reply: String = match put {
            Put::Replace => self.script(&call).await?,
            Put::CreateOnly => self.script_once(&call).await?,
        };
        WriteOutcome::parse(&reply)
    }

    /// Writes `json` at `key` with the script `put` builds from what it replaces (the stored
    /// bytes and their decoding; `None` for a create), which writes only if that is still
    /// stored; again after a lost race. The replaced record must decode: one that does not is
    /// [`Error::Corrupt`] and nothing is written. `shape` says whether fields the replaced
    /// record did not have at all stay absent (see [`model::shaped_like`]).
    #[maybe]
    pub(super) async fn replace<T: Record>(
        &self,
        key: &str,
        json: &str,
        shape: Shape,
        put: impl Fn(&str, Option<(&[u8], &T)>) -> ScriptCall,
        refused: impl Fn(WriteOutcome) -> Error,
    ) -> Result<()> {
        self.write_if_unchanged(
            key,
            || self.read_raw(key),
            |raw| {
                let previous = raw
                    .map(|raw| model::decode::<T>(key, &raw).map(|old| (raw, old)))
                    .transpose()?;
                let previous = previous.as_ref().map(|(raw, old)| (raw.as_slice(), old));
                let json = match shape {
                    Shape::LikeStored => {
                        model::shaped_like(json.to_owned(), previous.map(|(raw, _)| raw))
                    }
                    Shape::AsGiven => json.to_owned(),
                };
                Ok(Decision::Write(put(&json, previous), ()))
            },
            refused,
        )
        .await
    }

    /// Removes the record `target` and its index entry. Returns whether there was one. One
    /// round trip.
    #[maybe]
    pub(super) async fn delete_record(&self, target: &Indexed<'_>) -> Result<bool> {
        let call = commands::delete_indexed(self.keys(), self.audit(), target, None);
        let removed: u32 = self.script_once(&call).await?;
        Ok(removed > 0)
    }

    /// The optimistic read-modify-write every `update_*` is: read, `edit`, validate, write
    /// back only if the record is unchanged, else again. Fields the model does not know are
    /// kept, and so is the record's TTL.
    #[maybe]
    pub(super) async fn update<T: Record>(
        &self,
        target: Indexed<'_>,
        edit: impl FnMut(&mut T),
    ) -> Result<T> {
        self.update_checked(target, edit, |_| Ok(())).await
    }

    /// [`update`](Self::update), refusing with `check`'s error (nothing written) an edited
    /// record that breaks a rule of this storage's configuration.
    #[maybe]
    pub(super) async fn update_checked<T: Record>(
        &self,
        target: Indexed<'_>,
        mut edit: impl FnMut(&mut T),
        check: impl Fn(&T) -> Result<()>,
    ) -> Result<T> {
        let key = target.key();
        self.write_if_unchanged(
            key,
            || self.read_raw(key),
            |raw| {
                let (record, json) = model::edit(key, raw.as_deref(), &mut edit)?;
                check(&record)?;
                let expected = raw.as_deref().unwrap_or_default();
                let call =
                    commands::compare_and_set(self.keys(), self.audit(), &target, expected, &json);
                Ok(Decision::Write(call, record))
            },
            WriteOutcome::into_error,
        )
        .await
    }

    /// The ids of `family`'s records a keyspace scan finds: what the old layer wrote too.
    #[maybe]
    pub(super) async fn scan_ids(&self, family: &Family) -> Result<Vec<String>> {
        let keys = self.keys();
        let found = self.scan(&keys.scan_pattern(family)).await?;
        Ok(found
            .iter()
            .filter_map(|key| keys.id_of(family, key))
            .collect())
    }

    /// The records `query` names, of `family`. For a family the old layer writes, while the
    /// migration is mixed, also those a keyspace scan finds: one round trip once the
    /// migration is finished, else a scan and two.
    #[maybe]
    pub(super) async fn listed(
        &self,
        query: &ListingQuery,
        family: &Family,
    ) -> Result<(u64, Vec<ListedRecord>)> {
        let discovery = if family.legacy.is_some() {
            Discovery::Ask
        } else {
            Discovery::Indexed
        };
        let call = commands::list_records(self.keys(), query, discovery);
        match commands::listed(self.read_script(&call).await?)? {
            Listed::Records(revision, records) => Ok((revision, records)),
            Listed::Scan if family.legacy.is_some() => self.listed_with_scan(query, family).await,
            Listed::Scan => Err(Error::Protocol {
                reason: "a listing of an index alone asked for a scan".to_owned(),
            }),
        }
    }

    /// The records `query` names and those a keyspace scan for `family` finds: what the
    /// mixed phase reads, for a caller that already knows the phase. A scan and one round
    /// trip.
    #[maybe]
    pub(super) async fn listed_with_scan(
        &self,
        query: &ListingQuery,
        family: &Family,
    ) -> Result<(u64, Vec<ListedRecord>)> {
        let found = self.scan_ids(family).await?;
        let call = commands::list_records(self.keys(), query, Discovery::Scanned(&found));
        match commands::listed(self.read_script(&call).await?)? {
            Listed::Records(revision, records) => Ok((revision, records)),
            Listed::Scan => Err(Error::Protocol {
                reason: "a scanned listing asked for another scan".to_owned(),
            }),
        }
    }

    /// Every record of `family`, decoded, in the family's listing order; corrupt and
    /// wrong-typed records are reported in the listing by key.
    #[maybe]
    pub(super) async fn list_family<T: Record>(&self, family: &Family) -> Result<Listing<T>> {
        let query = ListingQuery::of_family(self.keys(), family);
        self.listing(&query, family).await
    }

    /// [`listed`](Self::listed), decoded and in `T`'s listing order; corrupt and wrong-typed
    /// records are reported in the listing by key.
    #[maybe]
    pub(super) async fn listing<T: Record>(
        &self,
        query: &ListingQuery,
        family: &Family,
    ) -> Result<Listing<T>> {
        let (revision, records) = self.listed(query, family).await?;
        let listing = decoded(query, records).at(revision);
        for corrupt in &listing.corrupt {
            self.telemetry().corrupt_met(&corrupt.key);
        }
        Ok(listing)
    }
}

/// The records a listing read, decoded and in `T`'s listing order.
pub(super) fn decoded<T: Record>(query: &ListingQuery, records: Vec<ListedRecord>) -> Listing<T> {
    let prefix = &query.record_prefix;
    let entries = records
        .into_iter()
        .map(|record| (format!("{prefix}{}", record.member), record.raw));
    Listing::decode(entries).sorted_by(T::listing_order)
}
