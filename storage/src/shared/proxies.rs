//! Proxy target operations.

use super::{maybe, operation, Storage, MODE};
use crate::commands::{Indexed, Put};
use crate::error::{Error, Result};
use crate::model::family::PROXIES;
use crate::model::{self, Listing, ProxyTarget};

impl Storage {
    /// Stores `proxy` under its hostname, replacing any record there, and returns it in the
    /// canonical form it was stored in. Invalid input is an [`Error::Invalid`](crate::Error::Invalid) naming the
    /// field, and nothing is written. One round trip.
    ///
    /// A hostname in FQDN form (`api.example.com.`) is stored without its final dot. A
    /// default proxy (`localhost`) is stored with every excluded path OAuth needs merged
    /// into the operator's own, in the same write: no write, of any field, takes them away.
    #[operation]
    pub async fn store_proxy_target(&self, mut proxy: ProxyTarget) -> Result<ProxyTarget> {
        self.check_root_exclusion(&proxy)?;
        let json = model::encode(&mut proxy)?;
        let target = Indexed::new(self.keys(), &PROXIES, &proxy.proxy_hostname);
        self.put_record(&target, &json, Put::Replace, None).await?;
        Ok(proxy)
    }

    /// The proxy for `hostname` (matched case-insensitively, with or without an FQDN's final
    /// dot), if there is one. A stored record that cannot be used is an
    /// [`Error::Corrupt`](crate::Error::Corrupt) naming its key. One round trip.
    ///
    /// A default proxy (`localhost`) is answered with the excluded paths OAuth needs even if
    /// the stored record lacks them (an old-layer process wrote it): the defaults check
    /// repairs the stored record within `defaults_check_interval`, and every read until then
    /// already has them. The same holds for listings and live configurations.
    #[operation]
    pub async fn get_proxy_target(&self, hostname: &str) -> Result<Option<ProxyTarget>> {
        let key = self.keys().proxy(&model::hostname_key(hostname)?);
        self.read(&key).await
    }

    /// Every proxy, by hostname. Corrupt records are reported in the listing, not hidden and
    /// not fatal. One round trip, whatever the number of proxies.
    #[operation]
    pub async fn list_proxy_targets(&self) -> Result<Listing<ProxyTarget>> {
        self.list_family(&PROXIES).await
    }

    /// The proxies that publish OAuth protected-resource metadata (see
    /// [`ProxyTarget::has_resource_metadata`]). Same cost as [`list_proxy_targets`](Self::list_proxy_targets).
    #[operation]
    pub async fn get_proxy_targets_with_resource_metadata(&self) -> Result<Listing<ProxyTarget>> {
        let listing = self.list_proxy_targets().await?;
        Ok(listing.filtered(ProxyTarget::has_resource_metadata))
    }

    /// Removes the proxy for `hostname`. Returns whether there was one. One round trip.
    ///
    /// A default proxy (`localhost`) is refused with [`Error::Required`](crate::Error::Required)
    /// and stays as it is: without it, `/token` would demand the token it hands out.
    #[operation]
    pub async fn delete_proxy_target(&self, hostname: &str) -> Result<bool> {
        let hostname = model::hostname_key(hostname)?;
        let target = Indexed::new(self.keys(), &PROXIES, &hostname);
        if crate::seed::default_proxy(&hostname).is_some() {
            return Err(Error::Required {
                key: target.key().to_owned(),
            });
        }
        self.delete_record(&target).await
    }

    /// Changes the stored proxy for `hostname` with `edit` and returns the result.
    ///
    /// Atomic against every other writer: the record is read, edited and written back only if
    /// it is still what was read; otherwise `edit` runs again on the fresh record. So
    /// concurrent updates of different fields all survive, and `edit` must be a function of
    /// the record it is given (it may run more than once). Fields the model does not know are
    /// kept. Errors: [`Error::NotFound`](crate::Error::NotFound) if there is no such proxy, [`Error::Invalid`](crate::Error::Invalid) if the
    /// edited record fails validation or `edit` changed the hostname (nothing is written),
    /// [`Error::Contention`](crate::Error::Contention) after `max_update_attempts` lost races. Two round trips.
    ///
    /// ```text
    /// // blocking; the async API is the same call followed by `.await`
    /// storage.update_proxy_target("api.example.com", |proxy| proxy.auth_enabled = true)?;
    /// ```
    #[operation]
    pub async fn update_proxy_target(
        &self,
        hostname: &str,
        edit: impl FnMut(&mut ProxyTarget),
    ) -> Result<ProxyTarget> {
        let hostname = model::hostname_key(hostname)?;
        let target = Indexed::new(self.keys(), &PROXIES, &hostname);
        self.update_checked(target, edit, |proxy| self.check_root_exclusion(proxy))
            .await
    }

    /// Refuses a proxy that excludes `/` from authentication unless the configuration
    /// allows it.
    pub(super) fn check_root_exclusion(&self, proxy: &ProxyTarget) -> Result<()> {
        if proxy.excludes_root_from_auth() && !self.config().allow_root_auth_exclusion {
            return Err(Error::invalid(
                "auth_excluded_paths",
                "excluding `/` turns authentication off for the whole host; allow it with \
                 StorageConfig::with_root_auth_exclusion_allowed",
            ));
        }
        Ok(())
    }
}
