//! Certificate operations: one certificate per domain, an expiry index, and a delete that
//! leaves no proxy pointing at a certificate that is gone.

use std::time::Duration;

use super::{maybe, operation, Storage, MODE};
use crate::commands::{self, WriteOutcome};
use crate::error::{Error, Result};
use crate::keys::KeySpace;
use crate::model::{self, Certificate, Fence, Listing, Timestamp};

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
        for _ in 0..self.config().max_update_attempts {
            let previous = self.read_with_raw::<Certificate>(&key).await?;
            let previous = previous.as_ref().map(|(raw, old)| (raw.as_slice(), old));
            let call = commands::certificates::put_certificate(keys, &cert, &json, previous, fence);
            let reply: String = self.script(&call).await?;
            match WriteOutcome::parse(&reply)? {
                WriteOutcome::Written => return Ok(cert),
                WriteOutcome::Stale => continue,
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
        let reply: Vec<Vec<u8>> = self.script(&call).await?;
        let found = commands::listed_records(reply, |name| keys.cert(name));
        found
            .into_iter()
            .next()
            .map(|(key, raw)| model::decode(&key, &raw))
            .transpose()
    }

    /// Every certificate, by name. Corrupt records are reported in the listing. One round
    /// trip.
    #[operation]
    pub async fn list_certificates(&self) -> Result<Listing<Certificate>> {
        let keys = self.keys();
        let call = commands::list_indexed(&keys.cert_index(), &keys.cert_record_prefix());
        self.listing(call, KeySpace::cert, |a: &Certificate, b| {
            a.cert_name.cmp(&b.cert_name)
        })
        .await
    }

    /// The certificates that expire within `within` from now (already expired ones too),
    /// soonest first, answered from the expiry index: no scan. One round trip.
    #[operation]
    pub async fn get_expiring_certificates(
        &self,
        within: Duration,
    ) -> Result<Listing<Certificate>> {
        let until = Timestamp::now().instant().timestamp()
            + i64::try_from(within.as_secs()).unwrap_or(i64::MAX / 2);
        let keys = self.keys();
        let call = commands::certificates::expiring_certificates(keys, until);
        let reply: Vec<Vec<u8>> = self.script(&call).await?;
        let entries = commands::listed_records(reply, |name| keys.cert(name));
        Ok(Listing::decode(entries))
    }

    /// Removes the certificate `cert_name` with its domain and expiry index entries, and
    /// clears `cert_name` on every proxy that referred to it, in one atomic step: no proxy is
    /// left pointing at a deleted certificate. Returns whether there was one. Three round
    /// trips (plus three per lost race).
    #[operation]
    pub async fn delete_certificate(&self, cert_name: &str) -> Result<bool> {
        model::cert_name(cert_name)?;
        let keys = self.keys();
        let key = keys.cert(cert_name);
        let get = commands::get(&key);
        let list = commands::list_indexed(&keys.proxy_index(), &keys.proxy(""));
        for _ in 0..self.config().max_update_attempts {
            let Some(raw) = self.cmd::<Option<Vec<u8>>>(&get).await? else {
                return Ok(false);
            };
            let decoded: Option<Certificate> = model::decode(&key, &raw).ok();
            let proxies: Vec<Vec<u8>> = self.script(&list).await?;
            let proxies = commands::listed_records(proxies, |host| keys.proxy(host));
            let rewrites = commands::certificates::proxy_rewrites(cert_name, proxies)?;
            let call = commands::certificates::delete_certificate(
                keys,
                cert_name,
                &raw,
                decoded.as_ref(),
                &rewrites,
            );
            let reply: String = self.script(&call).await?;
            if WriteOutcome::parse(&reply)? == WriteOutcome::Written {
                return Ok(true);
            }
        }
        Err(self.contention(key))
    }
}
