//! The records the gateway keeps, as plain serde types with validation and no I/O, one file
//! per family (named as in `commands/` and `shared/`), and the decoding every read shares.

mod acme;
mod auth_configs;
mod certificates;
pub(crate) mod locks;
pub(crate) mod oauth;
mod proxies;
mod routes;
mod secret;
mod timestamp;
pub(crate) mod validate;

pub use acme::Challenge;
pub(crate) use acme::{account_key_owner, challenge_token, provider};
pub use auth_configs::{AuthConfig, DEFAULT_AUTH_PRIORITY};
pub(crate) use certificates::{cert_name, domain, email};
pub use certificates::{Certificate, MAX_DOMAINS};
pub use locks::Fence;
pub use proxies::{AuthMode, ProxyTarget, RouteMode};
pub use routes::{Route, RouteScope, TargetType, TargetValue, MAX_PRIORITY};
pub use secret::Secret;
pub use timestamp::Timestamp;

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
}

impl Record for ProxyTarget {
    const ID_FIELD: &'static str = "proxy_hostname";

    fn id(&self) -> &str {
        &self.proxy_hostname
    }

    fn normalize(&mut self) -> Result<()> {
        ProxyTarget::normalize(self)
    }
}

impl Record for Certificate {
    const ID_FIELD: &'static str = "cert_name";

    fn id(&self) -> &str {
        &self.cert_name
    }

    fn normalize(&mut self) -> Result<()> {
        Certificate::normalize(self)
    }
}

impl Record for AuthConfig {
    const ID_FIELD: &'static str = "id";

    fn id(&self) -> &str {
        &self.id
    }

    fn normalize(&mut self) -> Result<()> {
        AuthConfig::normalize(self)
    }
}

impl Record for Route {
    const ID_FIELD: &'static str = "route_id";

    fn id(&self) -> &str {
        &self.route_id
    }

    fn normalize(&mut self) -> Result<()> {
        Route::normalize(self)
    }
}

/// Decodes and validates the value stored at `key`. Any failure is [`Error::Corrupt`] naming
/// the key; the stored value is never touched because of it.
pub(crate) fn decode<T: Record>(key: &str, raw: &[u8]) -> Result<T> {
    let mut record: T =
        serde_json::from_slice(raw).map_err(|e| Error::corrupt(key, json_reason(&e)))?;
    record.normalize().map_err(|e| match e {
        Error::Invalid { field, reason } => Error::corrupt(key, format!("`{field}` {reason}")),
        other => other,
    })?;
    Ok(record)
}

/// serde_json's message without the values it quotes (`invalid type: string "…"`): a stored
/// value may be a secret, and errors end up in logs. Field names (in backticks) stay.
fn json_reason(error: &serde_json::Error) -> String {
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

/// Validates `record` and encodes it for storing.
pub(crate) fn encode<T: Record>(record: &mut T) -> Result<String> {
    record.normalize()?;
    serde_json::to_string(record).map_err(|e| Error::invalid("record", e))
}

/// The canonical form of a hostname used to look a proxy up; [`Error::Invalid`] naming
/// `hostname` if it could never be a proxy's.
pub(crate) fn hostname_key(hostname: &str) -> Result<String> {
    validate::hostname("hostname", hostname)
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
    let json = encode(&mut record)?;
    Ok((record, json))
}

/// A listing that does not hide corrupt records: the ones that decoded, and the keys of the
/// ones that did not. Corrupt records are left in Redis untouched.
#[derive(Debug, Clone, PartialEq)]
#[must_use = "a listing may report corrupt records"]
pub struct Listing<T> {
    /// Records that decoded and validated.
    pub records: Vec<T>,
    /// Records that did not, as [`Error::Corrupt`] values naming their keys.
    pub corrupt: Vec<CorruptRecord>,
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

    /// Sorts the records (and the corrupt reports, by key).
    pub(crate) fn sorted_by(mut self, order: impl FnMut(&T, &T) -> std::cmp::Ordering) -> Self {
        self.records.sort_by(order);
        self.corrupt.sort_by(|a, b| a.key.cmp(&b.key));
        self
    }

    /// Decodes `(key, stored value)` pairs, sorting out the corrupt ones.
    pub(crate) fn decode(entries: impl IntoIterator<Item = (String, Vec<u8>)>) -> Self
    where
        T: Record,
    {
        let mut listing = Listing {
            records: Vec::new(),
            corrupt: Vec::new(),
        };
        for (key, raw) in entries {
            match decode(&key, &raw) {
                Ok(record) => listing.records.push(record),
                Err(Error::Corrupt { key, reason }) => {
                    tracing::warn!(%key, "skipping corrupt record in listing");
                    listing.corrupt.push(CorruptRecord { key, reason });
                }
                Err(other) => listing.corrupt.push(CorruptRecord {
                    key,
                    reason: other.to_string(),
                }),
            }
        }
        listing
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
