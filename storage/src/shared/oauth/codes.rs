//! Authorization codes: issued once, redeemed once, and a replay revokes what the first
//! redemption was given (RFC 6749 section 4.1.2).

use super::{maybe, operation, Storage, MODE};
use crate::commands;
use crate::error::{Error, Result};
use crate::model::oauth::codes::new_code;
use crate::model::oauth::refresh::check_family;
use crate::model::oauth::secrets::secret_hash;
use crate::model::oauth::{CodeGrant, CodeRedemption};
use crate::model::{Secret, Timestamp};

impl Storage {
    /// Issues an authorization code bound to `grant`, living [`code_ttl`] (default 10
    /// minutes). Returns the code; only its hash is stored. One round trip.
    ///
    /// [`code_ttl`]: crate::StorageConfig::code_ttl
    #[operation]
    pub async fn issue_code(&self, grant: &CodeGrant) -> Result<Secret> {
        grant.check()?;
        let code = new_code(Timestamp::now().instant().timestamp())?;
        let json = serde_json::to_string(grant).map_err(|e| Error::invalid("grant", e))?;
        let key = self.keys().oauth_code(&secret_hash(&code));
        let set = commands::create_with_ttl(&key, &json, self.config().code_ttl);
        let created: Option<String> = self.cmd_once(&set).await?;
        created.map(|_| Secret::new(code)).ok_or(Error::Conflict {
            key,
            owner: "an existing code".to_owned(),
        })
    }

    /// Redeems `code` for `client_id` at `redirect_uri`. Single use and atomic: among any
    /// number of concurrent consumers exactly one gets [`CodeRedemption::Redeemed`]; a later
    /// use is [`CodeRedemption::Replayed`]. One round trip.
    #[operation]
    pub async fn consume_code(
        &self,
        code: &str,
        client_id: &str,
        redirect_uri: &str,
    ) -> Result<CodeRedemption> {
        let keys = self.keys();
        let call = commands::oauth::codes::code_consumption(keys, code, client_id, redirect_uri);
        let reply: Vec<String> = self.script_once(&call).await?;
        let key = keys.oauth_code(&secret_hash(code));
        let now = Timestamp::now().instant().timestamp();
        commands::oauth::codes::code_redemption(reply, &key, code, now, self.config().code_ttl)
    }

    /// Records that `family` was issued from the redeemed `code`, so a replay of the code can
    /// revoke it. Returns false if `code` is not a redeemed code. One round trip.
    #[operation]
    pub async fn bind_code_family(&self, code: &str, family: &str) -> Result<bool> {
        check_family(family)?;
        let call = commands::oauth::codes::bind_code_family(self.keys(), code, family);
        let bound: u32 = self.script(&call).await?;
        Ok(bound == 1)
    }

    /// On a replayed code (RFC 6749 section 4.1.2): revokes the refresh family issued from its
    /// first use, with that family's access tokens. Returns whether one was revoked.
    #[operation]
    pub async fn revoke_code_grant(&self, redemption: &CodeRedemption) -> Result<bool> {
        match redemption {
            CodeRedemption::Replayed {
                family: Some(family),
            } => self.revoke_family(family).await,
            _ => Ok(false),
        }
    }
}
