//! What every record shares: the [`Record`] trait a family's type implements, and the one
//! decoding and encoding every read and write goes through.

use std::cmp::Ordering;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::family::Family;
use super::validate;
use crate::error::{Error, Result};

/// A JSON record kept under one key.
pub(crate) trait Record: Serialize + DeserializeOwned {
    /// The field that names the record (and its key).
    const ID_FIELD: &'static str;

    /// The record's id: part of its key, so an update may not change it.
    fn id(&self) -> &str;

    /// Canonical form and every validation rule; errors name the field.
    fn normalize(&mut self) -> Result<()>;

    /// The family it belongs to, for records kept under `{prefix}{marker}{id}` and named in
    /// an index set: such a record must name itself as its key does. `None` where the key is
    /// built otherwise (OAuth state, ACME challenges).
    const FAMILY: Option<&'static Family> = None;

    /// The order of its listings: by id unless the family says otherwise.
    fn listing_order(a: &Self, b: &Self) -> Ordering {
        a.id().cmp(b.id())
    }

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
    let key_id = T::FAMILY
        .and_then(|family| key.rsplit_once(family.marker))
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

/// How a write treats fields the record it replaces did not have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// Fields written as `null` that the stored record lacked stay absent
    /// ([`shaped_like`]): an update keeps the old layer's shape.
    LikeStored,
    /// The text as given: a restore writes what the backup holds.
    AsGiven,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ProxyTarget;

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
