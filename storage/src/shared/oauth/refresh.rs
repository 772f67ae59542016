//! Refresh token families: issue, rotate on every use, revoke on reuse.

use super::{maybe, operation, Storage, MODE};
use crate::commands;
use crate::error::Result;
use crate::model::oauth::refresh::{check_family, family_expiry_ms, family_of, new_refresh_token};
use crate::model::oauth::secrets::{random_token, secret_hash};
use crate::model::oauth::{now_ms, IssuedRefresh, RefreshGrant, RefreshOutcome};
use crate::model::Secret;

impl Storage {
    /// Starts a refresh token family for `grant` and returns its first token; only its hash
    /// is stored. The family lives [`refresh_family_ttl`] (default 30 days). Two round trips.
    ///
    /// [`refresh_family_ttl`]: crate::StorageConfig::refresh_family_ttl
    #[operation]
    pub async fn issue_refresh_token(&self, grant: &RefreshGrant) -> Result<IssuedRefresh> {
        grant.check()?;
        let family = random_token(16)?;
        let token = new_refresh_token(&family)?;
        let lifetime = self.config().refresh_family_ttl;
        let keys = self.keys();
        // Indexed first: a failure in between leaves an index entry without a family
        // (revoking it finds nothing), never a family that revoking the user would miss.
        let now = now_ms();
        let index = commands::oauth::refresh::index_family(
            keys,
            grant,
            &family,
            now,
            family_expiry_ms(now, lifetime),
        );
        self.pipe::<()>(&index).await?;
        let create = commands::oauth::refresh::create_family(
            keys,
            &family,
            grant,
            &secret_hash(&token),
            lifetime,
        );
        self.pipe::<()>(&create).await?;
        Ok(IssuedRefresh {
            family,
            token: Secret::new(token),
            user: grant.user.clone(),
            scope: grant.scope.clone(),
        })
    }

    /// Presents a refresh token: rotation on every use, reuse detection, a grace window for
    /// client retries (see [`RefreshOutcome`]). Atomic: two concurrent refreshes with the
    /// same token never leave two working successors. One round trip (plus the revocation of
    /// the family's access tokens on reuse).
    #[operation]
    pub async fn rotate_refresh_token(
        &self,
        token: &str,
        client_id: &str,
    ) -> Result<RefreshOutcome> {
        let Some(family) = family_of(token) else {
            return Ok(RefreshOutcome::Unknown);
        };
        let successor = new_refresh_token(family)?;
        let call = commands::oauth::refresh::family_rotation(
            self.keys(),
            family,
            &secret_hash(token),
            &secret_hash(&successor),
            now_ms(),
            self.config().refresh_grace,
            client_id,
        );
        let reply: Vec<String> = self.script_once(&call).await?;
        let key = self.keys().oauth_family(family);
        let outcome = commands::oauth::refresh::rotation_reply(reply, family, &key)?
            .into_outcome(family, Secret::new(successor));
        if let RefreshOutcome::Reused { family } = &outcome {
            tracing::warn!("refresh token reuse: family revoked");
            self.revoke_family(family).await?;
        }
        Ok(outcome)
    }

    /// Revokes a refresh family and every access token issued in it. Returns whether the
    /// family was live. Two round trips (one if it issued no access token).
    #[operation]
    pub async fn revoke_family(&self, family: &str) -> Result<bool> {
        check_family(family)?;
        let keys = self.keys();
        let call = commands::oauth::refresh::family_revocation(keys, family);
        let reply: Vec<String> = self.script_once(&call).await?;
        let (revoked, jtis) = commands::oauth::refresh::revocation_reply(reply);
        if !jtis.is_empty() {
            let pipe = commands::delete_each(jtis.iter().map(|jti| keys.oauth_token(jti)));
            self.pipe::<()>(&pipe).await?;
        }
        Ok(revoked)
    }
}
