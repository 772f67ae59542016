//! ACME state: HTTP-01 challenges (with a TTL) and account keys.

use super::{maybe, operation, Storage, MODE};
use crate::commands::{self, WriteOutcome};
use crate::error::{Error, Result};
use crate::model::{self, Challenge, Fence, Secret, Timestamp};

impl Storage {
    /// Stores the answer to an HTTP-01 challenge for [`challenge_ttl`] (default 3600 s), as
    /// `{token, authorization, expires_at}` like the existing deployment. One round trip.
    ///
    /// [`challenge_ttl`]: crate::StorageConfig::challenge_ttl
    #[operation]
    pub async fn store_challenge(&self, token: &str, authorization: &str) -> Result<Challenge> {
        let ttl = self.config().challenge_ttl;
        let expires = chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX);
        let mut challenge = Challenge {
            token: token.to_owned(),
            authorization: authorization.to_owned(),
            expires_at: Timestamp::from_utc(Timestamp::now().instant() + expires),
            extra: Default::default(),
        };
        let json = model::encode(&mut challenge)?;
        let key = self.keys().challenge(token);
        let set = commands::set(&key, &json, Some(ttl.as_secs()));
        self.cmd::<()>(&set).await?;
        Ok(challenge)
    }

    /// The pending challenge for `token`, if it has not expired. One round trip.
    #[operation]
    pub async fn get_challenge(&self, token: &str) -> Result<Option<Challenge>> {
        model::check_challenge_token(token)?;
        let key = self.keys().challenge(token);
        self.read(&key).await
    }

    /// Removes the challenge for `token`. Returns whether there was one. One round trip.
    #[operation]
    pub async fn delete_challenge(&self, token: &str) -> Result<bool> {
        model::check_challenge_token(token)?;
        let key = self.keys().challenge(token);
        let removed: u32 = self.cmd_once(&commands::del(&key)).await?;
        Ok(removed > 0)
    }

    /// Stores an ACME account key (PEM) for `provider` and `email`. `provider` is the name the
    /// caller uses (the old certificate manager used the directory host with `.` replaced by
    /// `_`). One round trip.
    #[operation]
    pub async fn store_account_key(&self, provider: &str, email: &str, pem: &Secret) -> Result<()> {
        let email = model::account_key_owner(provider, email, pem)?;
        let key = self.keys().account_key(provider, &email);
        let set = commands::set(&key, pem.expose(), None);
        self.cmd::<()>(&set).await
    }

    /// [`store_account_key`](Self::store_account_key), refused with [`Error::Fenced`] (nothing
    /// written) if `fence`'s lock has issued a newer token: the registration lost its lock.
    /// One round trip.
    #[operation]
    pub async fn store_account_key_fenced(
        &self,
        provider: &str,
        email: &str,
        pem: &Secret,
        fence: &Fence,
    ) -> Result<()> {
        let email = model::account_key_owner(provider, email, pem)?;
        let key = self.keys().account_key(provider, &email);
        let call = commands::acme::fenced_set(self.keys(), &key, pem.expose(), fence);
        let reply: String = self.script(&call).await?;
        match WriteOutcome::parse(&reply)? {
            WriteOutcome::Written => Ok(()),
            WriteOutcome::Fenced { newest } => Err(Error::Fenced {
                lock: fence.lock.clone(),
                token: fence.token,
                newest,
            }),
            other => Err(other.into_error()),
        }
    }

    /// The ACME account key for `provider` and `email`, if stored. One round trip.
    #[operation]
    pub async fn get_account_key(&self, provider: &str, email: &str) -> Result<Option<Secret>> {
        model::check_provider(provider)?;
        let key = self
            .keys()
            .account_key(provider, &model::canonical_email(email)?);
        let pem: Option<String> = self
            .read_cmd(&commands::get(&key))
            .await
            .map_err(|e| e.about(&key))?;
        Ok(pem.map(Secret::new))
    }
}
