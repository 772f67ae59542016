//! OAuth `state` parameters: stored under their hash, taken once.

use super::{maybe, operation, Storage, MODE};
use crate::commands;
use crate::error::{Error, Result};
use crate::model::oauth::secrets::secret_hash;
use crate::model::oauth::state;

impl Storage {
    /// Stores the payload of an OAuth `state` parameter for [`state_ttl`] (default 300 s),
    /// under the hash of the state. One round trip.
    ///
    /// [`state_ttl`]: crate::StorageConfig::state_ttl
    #[operation]
    pub async fn store_state(&self, state: &str, payload: &str) -> Result<()> {
        state::check(state)?;
        let key = self.keys().oauth_state(&secret_hash(state));
        let set = commands::create_with_ttl(&key, payload, self.config().state_ttl);
        let created: Option<String> = self.cmd_once(&set).await?;
        created.map(drop).ok_or(Error::Conflict {
            key,
            owner: "an existing state".to_owned(),
        })
    }

    /// Takes the payload of `state`, once: a second call gets `None`. One round trip.
    #[operation]
    pub async fn consume_state(&self, state: &str) -> Result<Option<String>> {
        let key = self.keys().oauth_state(&secret_hash(state));
        self.cmd_once(&commands::take(&key))
            .await
            .map_err(|e| e.about(&key))
    }
}
