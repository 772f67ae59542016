//! Backups that restore exactly: each record as the bytes Redis holds, not as this crate
//! would encode it again.
//!
//! Re-encoding a record the old layer wrote adds the fields it never had (as `null`), so a
//! backup of typed records is not the store it was taken from. A [`StoredRecord`] carries
//! the stored text itself; restoring writes that text through the family's own script (its
//! indexes and the change feed included) once it has been checked to decode, and changes it
//! only where the gateway's own promises require (a `localhost` without the excluded paths
//! OAuth needs gets them, every other field as it was).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::oauth::OAuthClient;
use super::{
    account_key_owner, decode_as_stored, shaped_like, validate, AuthConfig, Certificate, Challenge,
    CorruptRecord, ProxyTarget, Record, Route, Secret,
};
use crate::error::{Error, Result};
use crate::keys::KeySpace;

/// The kinds of record a backup holds: the configuration families, OAuth clients (with the
/// hashes of their secrets), and the ACME state. OAuth codes, tokens and grants are left
/// out: they are short-lived, and a restored one would be a credential nobody issued.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StoredFamily {
    /// Proxy targets, by hostname.
    Proxy,
    /// Routes, by route id.
    Route,
    /// Certificates with their PEMs, by name.
    Certificate,
    /// Auth configs, by id.
    AuthConfig,
    /// OAuth clients, by client id.
    OauthClient,
    /// ACME account keys (PEM), by `{provider}:{email}`.
    AcmeAccount,
    /// Pending HTTP-01 challenges, by token, with their expiry.
    Challenge,
}

impl StoredFamily {
    /// Every kind, in the order a backup lists them.
    pub const ALL: [StoredFamily; 7] = [
        StoredFamily::Proxy,
        StoredFamily::Route,
        StoredFamily::Certificate,
        StoredFamily::AuthConfig,
        StoredFamily::OauthClient,
        StoredFamily::AcmeAccount,
        StoredFamily::Challenge,
    ];

    /// The key of the record `id`: what precedes ids of its kind, and the id.
    pub fn key(self, keys: &KeySpace, id: &str) -> String {
        let mut key = self.key_prefix(keys);
        key.push_str(id);
        key
    }

    /// What precedes an id in the keys of this kind.
    pub(crate) fn key_prefix(self, keys: &KeySpace) -> String {
        match self {
            StoredFamily::Proxy => keys.proxy(""),
            StoredFamily::Route => keys.route(""),
            StoredFamily::Certificate => keys.cert(""),
            StoredFamily::AuthConfig => keys.auth_config(""),
            StoredFamily::OauthClient => keys.oauth_client(""),
            StoredFamily::AcmeAccount => keys.account_key_prefix(),
            StoredFamily::Challenge => keys.challenge(""),
        }
    }

    /// The name a backup file gives it (`"proxy"`, `"acme_account"`, …).
    pub fn name(self) -> &'static str {
        match self {
            StoredFamily::Proxy => "proxy",
            StoredFamily::Route => "route",
            StoredFamily::Certificate => "certificate",
            StoredFamily::AuthConfig => "auth_config",
            StoredFamily::OauthClient => "oauth_client",
            StoredFamily::AcmeAccount => "acme_account",
            StoredFamily::Challenge => "challenge",
        }
    }
}

impl fmt::Display for StoredFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One record exactly as stored: its kind, its id, the text at its key and, for a key Redis
/// expires by itself (a challenge), the instant it does. Its `Debug` shows the text's
/// length only: the text may be a private key.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRecord {
    /// What kind of record it is.
    pub family: StoredFamily,
    /// Its id within the kind.
    pub id: String,
    /// The text stored at its key.
    pub value: String,
    /// When Redis expires the key, in milliseconds since the Unix epoch: a challenge's,
    /// whatever its text says. None for a record kept until deleted (an OAuth client's
    /// lifetime is its `expires_at` field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at_ms: Option<i64>,
}

impl StoredRecord {
    /// Checks that [`restore`](crate::blocking::Storage::restore) would accept the record
    /// (its text decodes as its kind, its id names it), without writing: for reading a
    /// whole backup before restoring any of it. Errors name the key.
    pub fn check(&self, keys: &KeySpace) -> Result<()> {
        check_restorable(keys, self)
    }
}

impl fmt::Debug for StoredRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredRecord")
            .field("family", &self.family)
            .field("id", &self.id)
            .field("value", &format_args!("<{} bytes>", self.value.len()))
            .field("expires_at_ms", &self.expires_at_ms)
            .finish()
    }
}

/// What [`backup`](crate::blocking::Storage::backup) read: every record, in
/// [`StoredFamily::ALL`]'s order and by id within a kind, and those it could not use.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Backup {
    /// The records that decode, as stored.
    pub records: Vec<StoredRecord>,
    /// Records that do not decode (or hold another Redis type), by key: a restore could not
    /// write them, so they are named rather than carried.
    pub corrupt: Vec<CorruptRecord>,
}

/// What [`restore`](crate::blocking::Storage::restore) did with one record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Restored {
    /// Written as the backup holds it.
    Exact,
    /// Written with what the gateway requires added (the OAuth excluded paths of
    /// `localhost`); every field the backup had is as it was.
    Completed,
    /// A challenge or an OAuth client whose expiry has passed: not written.
    Expired,
}

/// The text to write for `record` (stored at `key`): the backup's own text when it decodes
/// to a record that already keeps every rule, else the record completed, shaped like the
/// backup's text. A text that does not decode is [`Error::Invalid`] naming the key.
pub(crate) fn restorable<T: Record>(key: &str, value: &str) -> Result<(T, String, Restored)> {
    let record: T = decode_as_stored(key, value.as_bytes()).map_err(|e| match e {
        Error::Corrupt { key, reason } => Error::Invalid {
            field: "record",
            reason: format!("`{key}` in the backup: {reason}"),
        },
        other => other,
    })?;
    let as_given = serde_json::to_value(&record).map_err(|e| Error::invalid("record", e))?;
    let mut completed =
        serde_json::from_value::<T>(as_given.clone()).map_err(|e| Error::invalid("record", e))?;
    completed.keep_required();
    let after = serde_json::to_value(&completed).map_err(|e| Error::invalid("record", e))?;
    if after == as_given {
        return Ok((record, value.to_owned(), Restored::Exact));
    }
    let json = after.to_string();
    validate::record_size(&json)?;
    Ok((
        completed,
        shaped_like(json, Some(value.as_bytes())),
        Restored::Completed,
    ))
}

/// Checks that `record` can be restored, as [`restorable`] does for the JSON kinds: a
/// backup line that could not be restored is refused before anything is written.
pub(crate) fn check_restorable(keys: &KeySpace, record: &StoredRecord) -> Result<()> {
    let key = record.family.key(keys, &record.id);
    let value = record.value.as_str();
    match record.family {
        StoredFamily::Proxy => restorable::<ProxyTarget>(&key, value).map(drop),
        StoredFamily::Route => restorable::<Route>(&key, value).map(drop),
        StoredFamily::Certificate => restorable::<Certificate>(&key, value).map(drop),
        StoredFamily::AuthConfig => restorable::<AuthConfig>(&key, value).map(drop),
        StoredFamily::OauthClient => restorable::<OAuthClient>(&key, value).map(drop),
        StoredFamily::Challenge => restorable::<Challenge>(&key, value).map(drop),
        StoredFamily::AcmeAccount => {
            let (provider, email) = record.id.split_once(':').ok_or_else(|| {
                Error::invalid(
                    "id",
                    format!("`{key}`: an ACME account is `provider:email`"),
                )
            })?;
            account_key_owner(provider, email, &Secret::new(value)).map(drop)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_that_keeps_every_rule_is_restored_as_its_exact_text() {
        let text =
            r#"{"proxy_hostname":"app.example.org","target_url":"http://app:80","enabled":true}"#;
        let (_, json, restored) = restorable::<ProxyTarget>("proxy:app.example.org", text).unwrap();
        assert_eq!(restored, Restored::Exact);
        assert_eq!(json, text);
    }

    #[test]
    fn a_localhost_without_the_oauth_exclusions_gets_them_and_keeps_its_shape() {
        let text = r#"{"proxy_hostname":"localhost","target_url":"http://api:9000"}"#;
        let (proxy, json, restored) = restorable::<ProxyTarget>("proxy:localhost", text).unwrap();
        assert_eq!(restored, Restored::Completed);
        let excluded = proxy.auth_excluded_paths.unwrap_or_default();
        assert!(excluded.iter().any(|p| p == "/token"), "{excluded:?}");
        let written: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(written["target_url"], "http://api:9000");
        assert!(written.get("owner_token_hash").is_none(), "{json}");
    }

    #[test]
    fn a_line_that_does_not_decode_is_refused_naming_its_key() {
        let error = restorable::<Route>("route:r1", "{\"route_id\": 5}").unwrap_err();
        assert!(matches!(error, Error::Invalid { .. }), "{error:?}");
        assert!(error.to_string().contains("route:r1"), "{error}");
    }

    #[test]
    fn debug_never_shows_the_stored_text() {
        let record = StoredRecord {
            family: StoredFamily::AcmeAccount,
            id: "le:ops@example.org".into(),
            value: "-----BEGIN PRIVATE KEY-----secret".into(),
            expires_at_ms: None,
        };
        assert!(!format!("{record:?}").contains("secret"));
    }
}
