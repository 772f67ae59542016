//! Auth config operations, kept in `auth:config:pattern:{id}` with the `auth:config:index`
//! set, both changed together.

use super::{maybe, operation, Storage, MODE};
use crate::commands::{Indexed, Put};
use crate::error::Result;
use crate::model::family::AUTH_CONFIGS;
use crate::model::{self, AuthConfig, Listing};

impl Storage {
    /// Stores `config`, replacing any config with the same id, and indexes it, atomically.
    /// One round trip.
    #[operation]
    pub async fn store_auth_config(&self, mut config: AuthConfig) -> Result<AuthConfig> {
        let json = model::encode(&mut config)?;
        let target = Indexed::new(self.keys(), &AUTH_CONFIGS, &config.id);
        self.put_record(&target, &json, Put::Replace, None).await?;
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
        self.list_family(&AUTH_CONFIGS).await
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
        let target = Indexed::new(self.keys(), &AUTH_CONFIGS, model::id_key("id", id)?);
        self.update(target, edit).await
    }

    /// Removes the auth config `id` and its index entry, atomically. Returns whether there
    /// was one. One round trip.
    #[operation]
    pub async fn delete_auth_config(&self, id: &str) -> Result<bool> {
        let target = Indexed::new(self.keys(), &AUTH_CONFIGS, model::id_key("id", id)?);
        self.delete_record(&target).await
    }
}
