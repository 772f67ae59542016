//! Certificate operations: one certificate per domain, an expiry index, and a delete that
//! leaves no proxy pointing at a certificate that is gone.

use std::time::Duration;

use super::{maybe, operation, pause, Storage, MODE};
use crate::commands::{self, Discovery, Listed, ListingQuery, WriteOutcome};
use crate::error::{Error, Result};
use crate::keys::LegacyFamily;
use crate::model::{self, Backoff, Certificate, Fence, Listing, Timestamp};

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
        let keys = self.keys();
        let key = keys.cert(&cert.cert_name);
        let mut backoff = Backoff::new();
        for _ in 0..self.config().max_update_attempts {
            let previous = self.read_with_raw::<Certificate>(&key).await?;
            let previous = previous.as_ref().map(|(raw, old)| (raw.as_slice(), old));
            let json = model::shaped_like(json.clone(), previous.map(|(raw, _)| raw));
            let call = commands::certificates::put_certificate(keys, &cert, &json, previous, fence);
            let reply: String = self.script(&call).await?;
            match WriteOutcome::parse(&reply)? {
                WriteOutcome::Written => return Ok(cert),
                WriteOutcome::Stale => pause(backoff.next_wait()).await,
                WriteOutcome::Conflict { owner } => {
                    let (domain, owner) =
                        commands::certificates::certificate_conflict(&cert, &owner);
                    return Err(Error::Conflict {
                        key: keys.cert_domain(&domain),
                        owner,
                    });
                }
                WriteOutcome::Fenced { newest } => {
                    return Err(match fence {
                        Some(fence) => Error::Fenced {
                            lock: fence.lock.clone(),
                            token: fence.token,
                            newest,
                        },
                        None => WriteOutcome::Fenced { newest }.into_error(),
                    });
                }
            }
        }
        Err(self.contention(key))
    }

    /// The certificate `cert_name`, if there is one. One round trip.
    #[operation]
    pub async fn get_certificate(&self, cert_name: &str) -> Result<Option<Certificate>> {
        model::cert_name(cert_name)?;
        let key = self.keys().cert(cert_name);
        self.read(&key).await
    }

    /// The certificate that covers `domain` (matched case-insensitively), if any. One round
    /// trip.
    #[operation]
    pub async fn get_certificate_by_domain(&self, domain: &str) -> Result<Option<Certificate>> {
        let domain = model::domain(domain)?;
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
        let family = LegacyFamily::Certificates;
        let query = ListingQuery::of_family(self.keys(), family);
        self.listing(query, Some(family), |a: &Certificate, b| {
            a.cert_name.cmp(&b.cert_name)
        })
        .await
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
                self.listed_with_scan(&every, LegacyFamily::Certificates)
                    .await?
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
        model::cert_name(cert_name)?;
        let keys = self.keys();
        let key = keys.cert(cert_name);
        let proxies = ListingQuery::of_family(keys, LegacyFamily::Proxies);
        let mut backoff = Backoff::new();
        for _ in 0..self.config().max_update_attempts {
            let Some(raw) = self.read_raw(&key).await? else {
                return Ok(false);
            };
            let decoded: Option<Certificate> = model::decode(&key, &raw).ok();
            let (_, listed) = self.listed(&proxies, Some(LegacyFamily::Proxies)).await?;
            let hostnames: Vec<String> = listed.iter().map(|p| p.member.clone()).collect();
            let stored = listed
                .into_iter()
                .map(|p| (keys.proxy(&p.member), p.raw))
                .collect();
            let rewrites = commands::certificates::proxy_rewrites(cert_name, stored)?;
            let call = commands::certificates::delete_certificate(
                keys,
                cert_name,
                &raw,
                decoded.as_ref(),
                &rewrites,
                &hostnames,
            );
            let reply: String = self.script_once(&call).await?;
            if WriteOutcome::parse(&reply)? == WriteOutcome::Written {
                return Ok(true);
            }
            pause(backoff.next_wait()).await;
        }
        Err(self.contention(key))
    }
}
