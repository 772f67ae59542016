//! Certificate operations: one certificate per domain, an expiry index, and a delete that
//! leaves no proxy pointing at a certificate that is gone.

use std::time::Duration;

use super::conditional::Decision;
use super::{maybe, operation, Storage, MODE};
use crate::commands::{self, Discovery, Listed, ListedRecord, ListingQuery, WriteOutcome};
use crate::error::{Error, Result};
use crate::model::family::{CERTIFICATES, PROXIES};
use crate::model::{self, Certificate, Fence, Listing, Shape, Timestamp};

impl Storage {
    /// Stores `cert`, creating it or replacing the certificate of the same name, with its
    /// `cert:domain:*` index keys (including removing those of domains a re-store drops) and
    /// its expiry index entry, atomically. If a domain already belongs to another certificate,
    /// this is an [`Error::Conflict`] naming the domain's key and the owner, and nothing is
    /// written. Invalid input is an [`Error::Invalid`] naming the field. Two round trips.
    #[operation]
    pub async fn store_certificate(&self, cert: Certificate) -> Result<Certificate> {
        self.write_certificate(cert, None).await
    }

    /// [`store_certificate`](Self::store_certificate), refused with [`Error::Fenced`] (nothing
    /// written) if `fence`'s lock has issued a newer token than `fence.token`: the holder has
    /// lost the lock to another process. The check and the write are one atomic step.
    #[operation]
    pub async fn store_certificate_fenced(
        &self,
        cert: Certificate,
        fence: &Fence,
    ) -> Result<Certificate> {
        self.write_certificate(cert, Some(fence)).await
    }

    #[maybe]
    async fn write_certificate(
        &self,
        mut cert: Certificate,
        fence: Option<&Fence>,
    ) -> Result<Certificate> {
        let json = model::encode(&mut cert)?;
        self.put_certificate(&cert, &json, fence, Shape::LikeStored)
            .await?;
        Ok(cert)
    }

    /// Writes `cert` (validated) as `json`, with its domain and expiry index entries, if
    /// `fence` is still the newest token of its lock; see
    /// [`store_certificate`](Self::store_certificate).
    #[maybe]
    pub(super) async fn put_certificate(
        &self,
        cert: &Certificate,
        json: &str,
        fence: Option<&Fence>,
        shape: Shape,
    ) -> Result<()> {
        let keys = self.keys();
        let key = keys.cert(&cert.cert_name);
        let put = |json: &str, previous: Option<(&[u8], &Certificate)>| {
            commands::certificates::put_certificate(keys, self.audit(), cert, json, previous, fence)
        };
        self.replace(&key, json, shape, put, |refusal| match (refusal, fence) {
            (WriteOutcome::Conflict { owner }, _) => {
                let (domain, owner) = commands::certificates::certificate_conflict(cert, &owner);
                Error::Conflict {
                    key: keys.cert_domain(&domain),
                    owner,
                }
            }
            (WriteOutcome::Fenced { newest }, Some(fence)) => Error::Fenced {
                lock: fence.lock.clone(),
                token: fence.token,
                newest,
            },
            (unexpected, _) => unexpected.into_error(),
        })
        .await
    }

    /// The certificate `cert_name`, if there is one. One round trip.
    #[operation]
    pub async fn get_certificate(&self, cert_name: &str) -> Result<Option<Certificate>> {
        model::check_cert_name(cert_name)?;
        let key = self.keys().cert(cert_name);
        self.read(&key).await
    }

    /// The certificate that covers `domain` (matched case-insensitively), if any. One round
    /// trip.
    #[operation]
    pub async fn get_certificate_by_domain(&self, domain: &str) -> Result<Option<Certificate>> {
        let domain = model::canonical_domain(domain)?;
        let keys = self.keys();
        let call = commands::certificates::certificate_by_domain(keys, &domain);
        let reply: Vec<Vec<u8>> = self.read_script(&call).await?;
        commands::certificates::owned_record(reply)
            .map(|(name, raw)| model::decode(&keys.cert(&name), &raw))
            .transpose()
    }

    /// Every certificate, by name, including those the old layer wrote while the migration
    /// is mixed. Corrupt records are reported in the listing. One round trip once the
    /// migration is finished.
    #[operation]
    pub async fn list_certificates(&self) -> Result<Listing<Certificate>> {
        self.list_family(&CERTIFICATES).await
    }

    /// The certificates whose own `expires_at` is within `within` from now (already expired
    /// ones too), soonest first; pending ones (no `expires_at`) are not due. Each record is
    /// checked itself, and an expiry index entry that disagrees with its record (a
    /// certificate the old layer renewed or wrote) is repaired.
    ///
    /// Once the migration is finished the expiry index picks the candidates: one round trip,
    /// plus one when an entry needed repair. While it is mixed every certificate is checked,
    /// as [`list_certificates`](Self::list_certificates) finds them.
    #[operation]
    pub async fn get_expiring_certificates(
        &self,
        within: Duration,
    ) -> Result<Listing<Certificate>> {
        let within = i64::try_from(within.as_secs()).unwrap_or(i64::MAX);
        let until = Timestamp::now()
            .instant()
            .timestamp()
            .saturating_add(within);
        let keys = self.keys();
        let expiring = commands::certificates::expiring_certificates(keys, until);
        let reply = self
            .read_script(&commands::list_records(keys, &expiring, Discovery::Ask))
            .await?;
        let (revision, listed) = match commands::listed(reply)? {
            Listed::Records(revision, records) => (revision, records),
            Listed::Scan => {
                let every = commands::certificates::every_certificate_with_expiry(keys);
                self.listed_with_scan(&every, &CERTIFICATES).await?
            }
        };
        let (due, repairs) = commands::certificates::expiry_check(keys, listed, until);
        let due = due.at(revision);
        if !repairs.is_empty() {
            let call = commands::certificates::repair_expiry(keys, &repairs);
            let changed: u32 = self.script(&call).await?;
            tracing::info!(
                changed,
                "expiry index entries repaired from their certificates"
            );
        }
        Ok(due)
    }

    /// Removes the certificate `cert_name` with its domain and expiry index entries, and
    /// clears `cert_name` on every proxy whose top-level `cert_name` names it, in one atomic
    /// step: no proxy is left pointing at a deleted certificate, including proxies the old
    /// layer wrote while the migration is mixed. A proxy that names it but cannot be decoded
    /// is an [`Error::Corrupt`] naming that proxy, and nothing is deleted. Returns whether
    /// there was a certificate. Three round trips once the migration is finished (plus three
    /// per lost race); while it is mixed, a keyspace scan more.
    #[operation]
    pub async fn delete_certificate(&self, cert_name: &str) -> Result<bool> {
        model::check_cert_name(cert_name)?;
        let keys = self.keys();
        let key = keys.cert(cert_name);
        self.write_if_unchanged(
            &key,
            || self.certificate_and_proxies(&key),
            |(raw, proxies)| {
                let Some(raw) = raw else {
                    return Ok(Decision::Done(false));
                };
                let decoded: Option<Certificate> = model::decode(&key, &raw).ok();
                let hostnames: Vec<String> = proxies.iter().map(|p| p.member.clone()).collect();
                let stored = proxies
                    .into_iter()
                    .map(|p| (keys.proxy(&p.member), p.raw))
                    .collect();
                let rewrites = commands::certificates::proxy_rewrites(cert_name, stored)?;
                let call = commands::certificates::delete_certificate(
                    keys,
                    self.audit(),
                    cert_name,
                    &raw,
                    decoded.as_ref(),
                    &rewrites,
                    &hostnames,
                );
                Ok(Decision::WriteOnce(call, true))
            },
            WriteOutcome::into_error,
        )
        .await
    }

    /// What deleting a certificate depends on: its record as stored, and every proxy
    /// (those the old layer wrote too, while the migration is mixed). Two round trips.
    #[maybe]
    async fn certificate_and_proxies(
        &self,
        key: &str,
    ) -> Result<(Option<Vec<u8>>, Vec<ListedRecord>)> {
        let raw = self.read_raw(key).await?;
        let proxies = ListingQuery::of_family(self.keys(), &PROXIES);
        let (_, listed) = self.listed(&proxies, &PROXIES).await?;
        Ok((raw, listed))
    }
}
