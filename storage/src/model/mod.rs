//! The records the gateway keeps, as plain serde types with validation and no I/O, one file
//! per family (named as in `commands/` and `shared/`), and the decoding every read shares.

mod acme;
mod auth_configs;
mod backoff;
mod certificates;
mod live;
pub(crate) mod locks;
mod migration;
pub(crate) mod oauth;
#[cfg(test)]
mod properties;
mod proxies;
mod routes;
mod secret;
mod timestamp;
pub(crate) mod validate;
pub(crate) mod watch;

pub use acme::Challenge;
pub(crate) use acme::{account_key_owner, challenge_token, provider};
pub use auth_configs::{AuthConfig, DEFAULT_AUTH_PRIORITY};
pub(crate) use backoff::Backoff;
pub(crate) use certificates::{cert_name, domain, email};
pub use certificates::{Certificate, MAX_DOMAINS};
pub use live::ConfigSnapshot;
pub use locks::Fence;
pub use migration::{FamilyCounts, MigrationPhase, MigrationStatus};
pub use proxies::{AuthMode, ProxyTarget, RouteMode};
pub use routes::{Route, RouteScope, TargetType, TargetValue, MAX_PRIORITY};
pub use secret::Secret;
pub use timestamp::Timestamp;
pub use watch::{Change, ChangeFamily, ChangeOp, WatchEvent};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{Error, Result};

/// A JSON record kept under one key.
pub(crate) trait Record: Serialize + DeserializeOwned {
    /// The field that names the record (and its key).
    const ID_FIELD: &'static str;

    /// The record's id: part of its key, so an update may not change it.
    fn id(&self) -> &str;

    /// Canonical form and every validation rule; errors name the field.
    fn normalize(&mut self) -> Result<()>;

    /// What precedes the id in the record's key (`proxy:` for `proxy:{hostname}`), for
    /// records kept under `{prefix}{family}{id}`: such a record must name itself as its key
    /// does. `None` where the key is built otherwise.
    const KEY_FAMILY: Option<&'static str> = None;

    /// The family its changes are fed as, for records the change feed carries.
    const CHANGE_FAMILY: Option<ChangeFamily> = None;

    /// Takes the id from the key, for a record whose JSON does not carry it (the old layer
    /// keeps an auth config's id only in its key). Most records always carry theirs.
    fn adopt_id(&mut self, _id: &str) {}

    /// Sets what the old layer's readers require and this record may lack, before it is
    /// written (a `created_at`: one record without it breaks their whole listing).
    fn fill_required(&mut self) {}

    /// Brings the record up to what the gateway itself requires of it, on every read and
    /// every write: a default proxy keeps the excluded paths OAuth needs, whoever wrote it
    /// last (see [`crate::seed`]). Runs after [`normalize`](Self::normalize).
    fn keep_required(&mut self) {}
}

impl Record for ProxyTarget {
    const ID_FIELD: &'static str = "proxy_hostname";
    const KEY_FAMILY: Option<&'static str> = Some("proxy:");
    const CHANGE_FAMILY: Option<ChangeFamily> = Some(ChangeFamily::Proxy);

    fn fill_required(&mut self) {
        self.created_at.get_or_insert_with(Timestamp::now);
    }

    fn keep_required(&mut self) {
        if let Some(default) = crate::seed::default_proxy(&self.proxy_hostname) {
            default.repair(self);
        }
    }

    fn id(&self) -> &str {
        &self.proxy_hostname
    }

    fn normalize(&mut self) -> Result<()> {
        ProxyTarget::normalize(self)
    }
}

impl Record for Certificate {
    const ID_FIELD: &'static str = "cert_name";
    const KEY_FAMILY: Option<&'static str> = Some("cert:");

    fn id(&self) -> &str {
        &self.cert_name
    }

    fn normalize(&mut self) -> Result<()> {
        Certificate::normalize(self)
    }
}

impl Record for AuthConfig {
    const ID_FIELD: &'static str = "id";
    const KEY_FAMILY: Option<&'static str> = Some("auth:config:pattern:");
    const CHANGE_FAMILY: Option<ChangeFamily> = Some(ChangeFamily::AuthConfig);

    fn adopt_id(&mut self, id: &str) {
        id.clone_into(&mut self.id);
    }

    fn id(&self) -> &str {
        &self.id
    }

    fn normalize(&mut self) -> Result<()> {
        AuthConfig::normalize(self)
    }
}

impl Record for Route {
    const ID_FIELD: &'static str = "route_id";
    const KEY_FAMILY: Option<&'static str> = Some("route:");

    fn fill_required(&mut self) {
        self.created_at.get_or_insert_with(Timestamp::now);
    }

    fn id(&self) -> &str {
        &self.route_id
    }

    fn normalize(&mut self) -> Result<()> {
        Route::normalize(self)
    }
}

/// Decodes and validates the value stored at `key`, with what the gateway requires of it
/// ([`Record::keep_required`]). Any failure is [`Error::Corrupt`] naming the key; the stored
/// value is never touched because of it.
pub(crate) fn decode<T: Record>(key: &str, raw: &[u8]) -> Result<T> {
    let mut record: T = decode_as_stored(key, raw)?;
    record.keep_required();
    Ok(record)
}

/// [`decode`] without [`Record::keep_required`]: the record as its writer left it, for the
/// defaults check that decides whether the stored record needs a repair.
pub(crate) fn decode_as_stored<T: Record>(key: &str, raw: &[u8]) -> Result<T> {
    let mut record: T =
        serde_json::from_slice(raw).map_err(|e| Error::corrupt(key, json_reason(&e)))?;
    let key_id = T::KEY_FAMILY
        .and_then(|family| key.rsplit_once(family))
        .map(|(_, id)| id);
    if let Some(id) = key_id.filter(|_| record.id().is_empty()) {
        record.adopt_id(id);
    }
    record.normalize().map_err(|e| match e {
        Error::Invalid { field, reason } => Error::corrupt(key, format!("`{field}` {reason}")),
        other => other,
    })?;
    if key_id.is_some_and(|id| id != record.id()) {
        return Err(Error::corrupt(
            key,
            format!("its `{}` names another key", T::ID_FIELD),
        ));
    }
    Ok(record)
}

/// serde_json's message without the values it quotes (`invalid type: string "…"`): a stored
/// value may be a secret, and errors end up in logs. Field names (in backticks) stay.
pub(crate) fn json_reason(error: &serde_json::Error) -> String {
    let mut reason = String::new();
    let mut quoted = false;
    for c in error.to_string().chars() {
        if c == '"' {
            quoted = !quoted;
            if quoted {
                reason.push_str("\"…\"");
            }
        } else if !quoted {
            reason.push(c);
        }
    }
    reason
}

/// Completes, validates and encodes `record` for storing.
pub(crate) fn encode<T: Record>(record: &mut T) -> Result<String> {
    record.fill_required();
    record.normalize()?;
    record.keep_required();
    let json = serde_json::to_string(record).map_err(|e| Error::invalid("record", e))?;
    validate::record_size(&json)?;
    Ok(json)
}

/// `json` (an encoded record that replaces `previous`, the bytes stored before), with the
/// fields it writes as `null` removed where `previous` did not have them at all: a record the
/// old layer wrote keeps its shape through an update, absent fields staying absent.
pub(crate) fn shaped_like(json: String, previous: Option<&[u8]>) -> String {
    let Some(Ok(serde_json::Value::Object(before))) =
        previous.map(serde_json::from_slice::<serde_json::Value>)
    else {
        return json;
    };
    let Ok(serde_json::Value::Object(mut after)) = serde_json::from_str(&json) else {
        return json;
    };
    let fields = after.len();
    after.retain(|field, value| !value.is_null() || before.contains_key(field));
    if after.len() == fields {
        return json;
    }
    serde_json::Value::Object(after).to_string()
}

/// The canonical form of a hostname used to look a proxy up (lower case, without the dot of
/// an FQDN's `api.example.com.` form); [`Error::Invalid`] naming `proxy_hostname`, as a
/// store does, if it could never be a proxy's.
pub(crate) fn hostname_key(hostname: &str) -> Result<String> {
    validate::hostname("proxy_hostname", hostname)
}

/// The canonical form of a route id used to look a route up; [`Error::Invalid`] naming
/// `route_id` if it could never be a route's.
pub(crate) fn route_id_key(route_id: &str) -> Result<&str> {
    id_key("route_id", route_id)
}

/// An id that is part of a key (letters, digits, `-`, `_`, `.`); [`Error::Invalid`] naming
/// `field` otherwise.
pub(crate) fn id_key<'a>(field: &'static str, id: &'a str) -> Result<&'a str> {
    validate::record_id(field, id)?;
    Ok(id)
}

/// One step of an optimistic update: the record stored at `key` (read as `raw`), changed by
/// `edit`, validated and encoded. The caller writes it only if `key` still holds `raw`.
pub(crate) fn edit<T: Record>(
    key: &str,
    raw: Option<&[u8]>,
    edit: &mut impl FnMut(&mut T),
) -> Result<(T, String)> {
    let raw = raw.ok_or_else(|| Error::NotFound {
        key: key.to_owned(),
    })?;
    let mut record: T = decode(key, raw)?;
    let id = record.id().to_owned();
    edit(&mut record);
    if record.id() != id {
        return Err(Error::invalid(T::ID_FIELD, "an update cannot change it"));
    }
    let json = shaped_like(encode(&mut record)?, Some(raw));
    Ok((record, json))
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrupt_reasons_name_the_key_and_field_but_no_value() {
        let raw = br#"{"proxy_hostname":"a","target_url":"http://b","config_version":"s3cret-v"}"#;
        let error = decode::<ProxyTarget>("proxy:a", raw).unwrap_err();
        let text = error.to_string();
        assert!(text.contains("proxy:a"), "{text}");
        assert!(!text.contains("s3cret-v"), "{text}");
        assert!(text.contains("invalid type"), "{text}");
    }

    #[test]
    fn a_replacement_keeps_absent_fields_absent_and_present_nulls_null() {
        let previous = br#"{"a":1,"b":null}"#;
        let json = r#"{"a":2,"b":null,"c":null,"d":"new"}"#.to_owned();
        assert_eq!(
            shaped_like(json.clone(), Some(previous)),
            r#"{"a":2,"b":null,"d":"new"}"#
        );
        assert_eq!(shaped_like(json.clone(), None), json);
        assert_eq!(shaped_like(json.clone(), Some(b"{")), json);
    }

    #[test]
    fn invalid_stored_fields_are_corrupt_with_the_field_named() {
        let raw = br#"{"proxy_hostname":"a b","target_url":"http://b"}"#;
        match decode::<ProxyTarget>("proxy:a b", raw) {
            Err(Error::Corrupt { key, reason }) => {
                assert_eq!(key, "proxy:a b");
                assert!(reason.contains("proxy_hostname"), "{reason}");
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }
}
