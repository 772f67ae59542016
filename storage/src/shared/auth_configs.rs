//! Auth config operations, kept in `auth:config:pattern:{id}` with the `auth:config:index`
//! set, both changed together.

use super::{maybe, operation, Storage, MODE};
use crate::commands::{self, Indexed, ListingQuery, Put, WriteOutcome};
use crate::error::Result;
use crate::keys::LegacyFamily;
use crate::model::{self, AuthConfig, ChangeFamily, Listing};

impl Storage {
    /// Stores `config`, replacing any config with the same id, and indexes it, atomically.
    /// One round trip.
    #[operation]
    pub async fn store_auth_config(&self, mut config: AuthConfig) -> Result<AuthConfig> {
        let json = model::encode(&mut config)?;
        let keys = self.keys();
        let target = Indexed {
            record: &keys.auth_config(&config.id),
            index: &keys.auth_config_index(),
            member: &config.id,
            feed: Some(ChangeFamily::AuthConfig),
        };
        let call = commands::put_indexed(keys, &target, &json, Put::Replace, None);
        let reply: String = self.script(&call).await?;
        WriteOutcome::parse(&reply)?;
        Ok(config)
    }

    /// The auth config `id`, if there is one. One round trip.
    #[operation]
    pub async fn get_auth_config(&self, id: &str) -> Result<Option<AuthConfig>> {
        let key = self.keys().auth_config(model::id_key("id", id)?);
        self.read(&key).await
    }

    /// Every auth config, priority descending, ties by id. Corrupt records are reported in
    /// the listing. One round trip.
    #[operation]
    pub async fn list_auth_configs(&self) -> Result<Listing<AuthConfig>> {
        let family = LegacyFamily::AuthConfigs;
        let query = ListingQuery::of_family(self.keys(), family);
        self.listing(query, Some(family), AuthConfig::listing_order)
            .await
    }

    /// The auth configs whose `path_pattern` is exactly `path_pattern`, in listing order.
    #[operation]
    pub async fn find_auth_configs_by_pattern(
        &self,
        path_pattern: &str,
    ) -> Result<Listing<AuthConfig>> {
        let listing = self.list_auth_configs().await?;
        Ok(listing.filtered(|config| config.path_pattern == path_pattern))
    }

    /// Changes the stored auth config `id` with `edit`, atomically against other writers (as
    /// [`update_proxy_target`](Self::update_proxy_target)). Two round trips.
    #[operation]
    pub async fn update_auth_config(
        &self,
        id: &str,
        edit: impl FnMut(&mut AuthConfig),
    ) -> Result<AuthConfig> {
        let key = self.keys().auth_config(model::id_key("id", id)?);
        self.update(key, edit).await
    }

    /// Removes the auth config `id` and its index entry, atomically. Returns whether there
    /// was one. One round trip.
    #[operation]
    pub async fn delete_auth_config(&self, id: &str) -> Result<bool> {
        let id = model::id_key("id", id)?;
        let keys = self.keys();
        let target = Indexed {
            record: &keys.auth_config(id),
            index: &keys.auth_config_index(),
            member: id,
            feed: Some(ChangeFamily::AuthConfig),
        };
        let call = commands::delete_indexed(keys, &target);
        let removed: u32 = self.script_once(&call).await?;
        Ok(removed > 0)
    }
}
