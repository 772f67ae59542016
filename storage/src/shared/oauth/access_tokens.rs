//! Access tokens' introspection data, and revoking every grant of a user or a client.

use super::{maybe, operation, Storage, MODE};
use crate::commands;
use crate::error::Result;
use crate::model;
use crate::model::oauth::access_tokens::split_grants;
use crate::model::oauth::{now_ms, AccessToken};

impl Storage {
    /// Stores an access token's introspection data for its lifetime (its `expires_at`) and
    /// indexes it by user and by client (and by family, if it has one), so that "revoke
    /// everything of this user or client" works. Index entries expire with their tokens. One
    /// round trip.
    #[operation]
    pub async fn store_access_token(&self, mut token: AccessToken) -> Result<AccessToken> {
        let json = model::encode(&mut token)?;
        let now = now_ms();
        let expires = token.expiry_ms_after(now)?;
        let pipe = commands::oauth::access_tokens::token_with_indexes(
            self.keys(),
            &token,
            &json,
            now,
            expires,
        );
        self.pipe::<()>(&pipe).await?;
        Ok(token)
    }

    /// The introspection data of `jti` (RFC 7662), if the token is live: unexpired and not
    /// revoked. One round trip.
    #[operation]
    pub async fn introspect_access_token(&self, jti: &str) -> Result<Option<AccessToken>> {
        let key = self.keys().oauth_token(model::id_key("jti", jti)?);
        self.read(&key).await
    }

    /// Revokes the access token `jti` (RFC 7009). Returns whether it was live. One round
    /// trip.
    #[operation]
    pub async fn revoke_access_token(&self, jti: &str) -> Result<bool> {
        let key = self.keys().oauth_token(model::id_key("jti", jti)?);
        let removed: u32 = self.cmd_once(&commands::del(&key)).await?;
        Ok(removed > 0)
    }

    /// Revokes every live access token and refresh family of `user`. Returns how many were
    /// live. Two round trips, plus two per refresh family.
    #[operation]
    pub async fn revoke_user_grants(&self, user: &str) -> Result<usize> {
        let index = self.keys().oauth_user_grants(user);
        self.revoke_indexed_grants(&index).await
    }

    /// Revokes every live access token and refresh family of `client_id`. Returns how many
    /// were live. Two round trips, plus two per refresh family.
    #[operation]
    pub async fn revoke_client_grants(&self, client_id: &str) -> Result<usize> {
        let index = self.keys().oauth_client_grants(client_id);
        self.revoke_indexed_grants(&index).await
    }

    #[maybe]
    async fn revoke_indexed_grants(&self, index: &str) -> Result<usize> {
        let members: Vec<String> = self
            .read_cmd(&commands::oauth::access_tokens::live_grants(
                index,
                now_ms(),
            ))
            .await
            .map_err(|e| e.about(index))?;
        let keys = self.keys();
        let (jtis, families) = split_grants(&members);
        // The tokens and the index itself in one round trip; the index's own count is last.
        let doomed = jtis.iter().map(|jti| keys.oauth_token(jti));
        let pipe = commands::delete_each(doomed.chain(std::iter::once(index.to_owned())));
        let deleted: Vec<u32> = self.pipe(&pipe).await?;
        let mut revoked = deleted.iter().take(jtis.len()).filter(|n| **n > 0).count();
        for family in families {
            revoked += usize::from(self.revoke_family(family).await?);
        }
        Ok(revoked)
    }
}
