//! Backups that restore exactly: reading every record as stored, and writing one back
//! through its family's own script (see [`crate::model::StoredRecord`]).

use super::{maybe, operation, Storage, MODE};
use crate::commands::{self, Indexed, ListingQuery, Put};
use crate::error::Result;
use crate::model::family::{self, Family};
use crate::model::oauth::OAuthClient;
use crate::model::{
    self, AuthConfig, Backup, Certificate, Challenge, CorruptRecord, ProxyTarget, Restored, Route,
    Shape, StoredFamily, StoredRecord, Timestamp,
};

/// How many keys one `MGET` of a backup reads.
const READ_BATCH: usize = 1_000;

impl Storage {
    /// Every record this crate keeps beyond OAuth's short-lived codes and tokens, exactly as
    /// stored: proxies, routes, certificates with their PEMs, auth configs, OAuth clients
    /// with the hashes of their secrets, ACME account keys and pending challenges. Records
    /// the index sets lack (an old-layer writer, even after the migration is finished) are
    /// found by a keyspace scan and included; records that do not decode are named in
    /// [`Backup::corrupt`], not carried. Reads only: a keyspace scan per kind, one round
    /// trip per indexed family and two per batch of ACME keys (their expiry is read with
    /// `PEXPIRETIME`: Redis 7.0 or newer).
    ///
    /// ```text
    /// // blocking; the async API is the same call followed by `.await`
    /// let backup = storage.backup()?;
    /// for record in &backup.records {
    ///     other.restore(record)?;
    /// }
    /// ```
    #[operation]
    pub async fn backup(&self) -> Result<Backup> {
        let mut backup = Backup::default();
        for (kind, family) in [
            (StoredFamily::Proxy, &family::PROXIES),
            (StoredFamily::Route, &family::ROUTES),
            (StoredFamily::Certificate, &family::CERTIFICATES),
            (StoredFamily::AuthConfig, &family::AUTH_CONFIGS),
            (StoredFamily::OauthClient, &family::OAUTH_CLIENTS),
        ] {
            self.back_up_family(kind, family, &mut backup).await?;
        }
        for kind in [StoredFamily::AcmeAccount, StoredFamily::Challenge] {
            self.back_up_keys(kind, &mut backup).await?;
        }
        for corrupt in &backup.corrupt {
            self.telemetry().corrupt_met(&corrupt.key);
        }
        Ok(backup)
    }

    /// Writes `record` as the backup holds it, creating it or replacing what is there, with
    /// its index entries and its change in the change feed. The text is checked first: one
    /// that does not decode as its kind is [`Error::Invalid`](crate::Error::Invalid) naming
    /// the key, and nothing is written. The gateway's own rules still hold (a `localhost`
    /// without the excluded paths OAuth needs is written with them,
    /// [`Restored::Completed`]); a challenge or an OAuth client past its expiry is not
    /// written ([`Restored::Expired`]), one before it keeps it. A route or certificate that collides with another record's
    /// path or domain is [`Error::Conflict`](crate::Error::Conflict). One or two round trips.
    #[operation]
    pub async fn restore(&self, record: &StoredRecord) -> Result<Restored> {
        let keys = self.keys();
        let key = record.family.key(keys, &record.id);
        let value = record.value.as_str();
        match record.family {
            StoredFamily::Proxy => {
                let (proxy, json, restored) = model::restorable::<ProxyTarget>(&key, value)?;
                self.check_root_exclusion(&proxy)?;
                let target = Indexed::new(keys, &family::PROXIES, &proxy.proxy_hostname);
                self.put_record(&target, &json, Put::Replace, None).await?;
                Ok(restored)
            }
            StoredFamily::Route => {
                let (route, json, restored) = model::restorable::<Route>(&key, value)?;
                self.write_route(&route, &json, Shape::AsGiven).await?;
                Ok(restored)
            }
            StoredFamily::Certificate => {
                let (cert, json, restored) = model::restorable::<Certificate>(&key, value)?;
                self.put_certificate(&cert, &json, None, Shape::AsGiven)
                    .await?;
                Ok(restored)
            }
            StoredFamily::AuthConfig => {
                let (config, json, restored) = model::restorable::<AuthConfig>(&key, value)?;
                let target = Indexed::new(keys, &family::AUTH_CONFIGS, &config.id);
                self.put_record(&target, &json, Put::Replace, None).await?;
                Ok(restored)
            }
            StoredFamily::OauthClient => {
                let (client, json, restored) = model::restorable::<OAuthClient>(&key, value)?;
                // A client registered with a lifetime keeps it; one past it is not written.
                let Ok(lifetime) = client.remaining_lifetime(Timestamp::now()) else {
                    return Ok(Restored::Expired);
                };
                let target = Indexed::new(keys, &family::OAUTH_CLIENTS, &client.client_id);
                self.put_record(&target, &json, Put::Replace, lifetime)
                    .await?;
                Ok(restored)
            }
            StoredFamily::Challenge => {
                let (challenge, json, restored) = model::restorable::<Challenge>(&key, value)?;
                let expires = record
                    .expires_at_ms
                    .unwrap_or_else(|| challenge.expires_at.instant().timestamp_millis());
                if expires <= chrono::Utc::now().timestamp_millis() {
                    return Ok(Restored::Expired);
                }
                self.cmd::<()>(&commands::set_until(&key, &json, expires))
                    .await?;
                Ok(restored)
            }
            _ => {
                model::check_restorable(keys, record)?;
                self.cmd::<()>(&commands::set(&key, value, None)).await?;
                Ok(Restored::Exact)
            }
        }
    }

    /// Adds every record of `family` (its index and a keyspace scan) to `backup`, by id.
    #[maybe]
    async fn back_up_family(
        &self,
        kind: StoredFamily,
        family: &Family,
        backup: &mut Backup,
    ) -> Result<()> {
        let query = ListingQuery::of_family(self.keys(), family);
        let (_, mut listed) = self.listed_with_scan(&query, family).await?;
        listed.sort_by(|a, b| a.member.cmp(&b.member));
        for record in listed {
            let key = format!("{}{}", query.record_prefix, record.member);
            let Some(raw) = record.raw else {
                let reason = "holds another Redis type than a string".to_owned();
                backup.corrupt.push(CorruptRecord { key, reason });
                continue;
            };
            keep(self.keys(), (kind, record.member), raw, None, key, backup);
        }
        Ok(())
    }

    /// Adds every key of `kind` (found by a keyspace scan) to `backup`, by id.
    #[maybe]
    async fn back_up_keys(&self, kind: StoredFamily, backup: &mut Backup) -> Result<()> {
        let prefix = kind.key_prefix(self.keys());
        let mut found = self.scan(&format!("{prefix}*")).await?;
        found.sort();
        found.dedup();
        for batch in found.chunks(READ_BATCH) {
            let values: Vec<Option<Vec<u8>>> = self.read_cmd(&commands::mget(batch)).await?;
            let expiries: Vec<i64> = self.read_pipe(&commands::expiry_times(batch)).await?;
            // None: gone since the scan (or not a string, which no writer of these keeps).
            for ((key, raw), expiry) in batch.iter().zip(values).zip(expiries) {
                if let (Some(id), Some(raw)) = (key.strip_prefix(&prefix), raw) {
                    let expiry = (expiry >= 0).then_some(expiry);
                    keep(
                        self.keys(),
                        (kind, id.to_owned()),
                        raw,
                        expiry,
                        key.clone(),
                        backup,
                    );
                }
            }
        }
        Ok(())
    }
}

/// Adds the record `id` of `family` with the text `raw` (and its key's expiry) to `backup`
/// if it can be restored, else names `key` in its corrupt records.
fn keep(
    keys: &crate::KeySpace,
    (family, id): (StoredFamily, String),
    raw: Vec<u8>,
    expires_at_ms: Option<i64>,
    key: String,
    backup: &mut Backup,
) {
    let checked = String::from_utf8(raw)
        .map_err(|_| "is not UTF-8 text".to_owned())
        .and_then(|value| {
            let stored = StoredRecord {
                family,
                id,
                value,
                expires_at_ms,
            };
            model::check_restorable(keys, &stored)
                .map(|()| stored)
                .map_err(|e| e.to_string())
        });
    match checked {
        Ok(stored) => backup.records.push(stored),
        Err(reason) => backup.corrupt.push(CorruptRecord { key, reason }),
    }
}
