//! OAuth authorization-server state: clients, codes, access and refresh tokens, the device
//! flow and state parameters. Secrets are stored hashed (see `crate::oauth`).

use super::storage::Storage;
use super::{maybe, MODE};
use crate::commands::{self, WriteOutcome};
use crate::error::{Error, Result};
use crate::keys::KeySpace;
use crate::model::{self, Listing, Secret, Timestamp};
use crate::oauth::{
    self, AccessToken, ClientRegistration, CodeGrant, CodeRedemption, DeviceDecision, DevicePoll,
    DeviceStart, GrantKind, IssuedRefresh, OAuthClient, RefreshGrant, RefreshOutcome,
    RegisteredClient, RotationReply,
};

fn now_ms() -> i64 {
    Timestamp::now().instant().timestamp_millis()
}

impl Storage {
    /// Registers a client (RFC 7591) and returns it with its secret, shown this once; only
    /// the secret's hash is stored. A `lifetime` becomes the record's TTL. One round trip.
    #[maybe]
    #[tracing::instrument(name = "register_client", skip_all, fields(mode = MODE))]
    pub async fn register_client(
        &self,
        registration: ClientRegistration,
    ) -> Result<RegisteredClient> {
        let lifetime = registration.lifetime;
        let mut registered = registration.into_client(Timestamp::now())?;
        let json = model::encode(&mut registered.client)?;
        self.ready().await?;
        let keys = &self.inner.keys;
        let id = &registered.client.client_id;
        let call = commands::put_indexed(
            &keys.oauth_client(id),
            &keys.oauth_client_index(),
            id,
            &json,
            true,
            lifetime,
        );
        let reply: String = self.inner.connection.script(&call).await?;
        match WriteOutcome::parse(&reply)? {
            WriteOutcome::Written => Ok(registered),
            _ => Err(Error::Conflict {
                key: keys.oauth_client(id),
                owner: id.clone(),
            }),
        }
    }

    /// The client `client_id`, if registered (and not expired). One round trip.
    #[maybe]
    #[tracing::instrument(name = "get_client", skip_all, fields(mode = MODE))]
    pub async fn get_client(&self, client_id: &str) -> Result<Option<OAuthClient>> {
        let key = self
            .inner
            .keys
            .oauth_client(model::id_key("client_id", client_id)?);
        self.ready().await?;
        self.read(&key).await
    }

    /// Whether `secret` is the client's secret (compared as hashes, in constant time). False
    /// for an unknown or public client. One round trip.
    #[maybe]
    #[tracing::instrument(name = "verify_client_secret", skip_all, fields(mode = MODE))]
    pub async fn verify_client_secret(&self, client_id: &str, secret: &str) -> Result<bool> {
        let client = self.get_client(client_id).await?;
        let stored = client.and_then(|c| c.client_secret_hash);
        Ok(stored.is_some_and(|hash| oauth::hashes_match(&hash, &oauth::secret_hash(secret))))
    }

    /// Changes a client with `edit`, atomically against other writers; the record keeps its
    /// TTL. Two round trips.
    #[maybe]
    #[tracing::instrument(name = "update_client", skip_all, fields(mode = MODE))]
    pub async fn update_client(
        &self,
        client_id: &str,
        edit: impl FnMut(&mut OAuthClient),
    ) -> Result<OAuthClient> {
        let key = self
            .inner
            .keys
            .oauth_client(model::id_key("client_id", client_id)?);
        self.update(key, edit).await
    }

    /// Removes a client. Returns whether there was one. One round trip.
    #[maybe]
    #[tracing::instrument(name = "delete_client", skip_all, fields(mode = MODE))]
    pub async fn delete_client(&self, client_id: &str) -> Result<bool> {
        let id = model::id_key("client_id", client_id)?;
        self.ready().await?;
        let keys = &self.inner.keys;
        let call = commands::delete_indexed(&keys.oauth_client(id), &keys.oauth_client_index(), id);
        let removed: u32 = self.inner.connection.script(&call).await?;
        Ok(removed > 0)
    }

    /// Every registered client, by id. One round trip.
    #[maybe]
    #[tracing::instrument(name = "list_clients", skip_all, fields(mode = MODE))]
    pub async fn list_clients(&self) -> Result<Listing<OAuthClient>> {
        let keys = &self.inner.keys;
        let call = commands::list_indexed(&keys.oauth_client_index(), &keys.oauth_client_prefix());
        self.listing(call, KeySpace::oauth_client, |a: &OAuthClient, b| {
            a.client_id.cmp(&b.client_id)
        })
        .await
    }

    /// Issues an authorization code bound to `grant`, living [`code_ttl`] (default 10
    /// minutes). Returns the code; only its hash is stored. One round trip.
    ///
    /// [`code_ttl`]: crate::StorageConfig::code_ttl
    #[maybe]
    #[tracing::instrument(name = "issue_code", skip_all, fields(mode = MODE))]
    pub async fn issue_code(&self, grant: &CodeGrant) -> Result<Secret> {
        grant.check()?;
        let code = oauth::new_code(Timestamp::now().instant().timestamp())?;
        let json = serde_json::to_string(grant).map_err(|e| Error::invalid("grant", e))?;
        self.ready().await?;
        let key = self.inner.keys.oauth_code(&oauth::secret_hash(&code));
        let set = oauth::create_with_ttl(&key, &json, self.inner.config.code_ttl);
        let created: Option<String> = self.inner.connection.cmd(&set).await?;
        created.map(|_| Secret::new(code)).ok_or(Error::Conflict {
            key,
            owner: "an existing code".to_owned(),
        })
    }

    /// Redeems `code` for `client_id` at `redirect_uri`. Single use and atomic: among any
    /// number of concurrent consumers exactly one gets [`CodeRedemption::Redeemed`]; a later
    /// use is [`CodeRedemption::Replayed`]. One round trip.
    #[maybe]
    #[tracing::instrument(name = "consume_code", skip_all, fields(mode = MODE))]
    pub async fn consume_code(
        &self,
        code: &str,
        client_id: &str,
        redirect_uri: &str,
    ) -> Result<CodeRedemption> {
        self.ready().await?;
        let keys = &self.inner.keys;
        let call = oauth::consume_code(keys, code, client_id, redirect_uri);
        let reply: Vec<String> = self.inner.connection.script(&call).await?;
        let key = keys.oauth_code(&oauth::secret_hash(code));
        let now = Timestamp::now().instant().timestamp();
        oauth::code_redemption(reply, &key, code, now, self.inner.config.code_ttl)
    }

    /// Records that `family` was issued from the redeemed `code`, so a replay of the code can
    /// revoke it. Returns false if `code` is not a redeemed code. One round trip.
    #[maybe]
    #[tracing::instrument(name = "bind_code_family", skip_all, fields(mode = MODE))]
    pub async fn bind_code_family(&self, code: &str, family: &str) -> Result<bool> {
        self.ready().await?;
        let call = oauth::bind_code_family(&self.inner.keys, code, family);
        let bound: u32 = self.inner.connection.script(&call).await?;
        Ok(bound == 1)
    }

    /// On a replayed code (RFC 6749 section 4.1.2): revokes the refresh family issued from its
    /// first use, with that family's access tokens. Returns whether one was revoked.
    #[maybe]
    #[tracing::instrument(name = "revoke_code_grant", skip_all, fields(mode = MODE))]
    pub async fn revoke_code_grant(&self, redemption: &CodeRedemption) -> Result<bool> {
        match redemption {
            CodeRedemption::Replayed {
                family: Some(family),
            } => self.revoke_family(family).await,
            _ => Ok(false),
        }
    }

    /// Stores an access token's introspection data for its lifetime (its `expires_at`) and
    /// indexes it by user and by client (and by family, if it has one), so that "revoke
    /// everything of this user or client" works. Index entries expire with their tokens. One
    /// round trip.
    #[maybe]
    #[tracing::instrument(name = "store_access_token", skip_all, fields(mode = MODE))]
    pub async fn store_access_token(&self, mut token: AccessToken) -> Result<AccessToken> {
        let json = model::encode(&mut token)?;
        let now = now_ms();
        let expires = token.expires_at.instant().timestamp_millis();
        if expires <= now {
            return Err(Error::invalid("expires_at", "is in the past"));
        }
        self.ready().await?;
        let pipe = oauth::store_access_token(&self.inner.keys, &token, &json, now, expires);
        self.inner.connection.pipe::<()>(&pipe).await?;
        Ok(token)
    }

    /// The introspection data of `jti` (RFC 7662), if the token is live: unexpired and not
    /// revoked. One round trip.
    #[maybe]
    #[tracing::instrument(name = "introspect_access_token", skip_all, fields(mode = MODE))]
    pub async fn introspect_access_token(&self, jti: &str) -> Result<Option<AccessToken>> {
        let key = self.inner.keys.oauth_token(model::id_key("jti", jti)?);
        self.ready().await?;
        self.read(&key).await
    }

    /// Revokes the access token `jti` (RFC 7009). Returns whether it was live. One round
    /// trip.
    #[maybe]
    #[tracing::instrument(name = "revoke_access_token", skip_all, fields(mode = MODE))]
    pub async fn revoke_access_token(&self, jti: &str) -> Result<bool> {
        let key = self.inner.keys.oauth_token(model::id_key("jti", jti)?);
        self.ready().await?;
        let removed: u32 = self.inner.connection.cmd(&commands::del(&key)).await?;
        Ok(removed > 0)
    }

    /// Revokes every live access token and refresh family of `user`. Returns how many were
    /// live. Two round trips, plus two per refresh family.
    #[maybe]
    #[tracing::instrument(name = "revoke_user_grants", skip_all, fields(mode = MODE))]
    pub async fn revoke_user_grants(&self, user: &str) -> Result<usize> {
        self.ready().await?;
        let index = self.inner.keys.oauth_user_grants(user);
        self.revoke_indexed_grants(&index).await
    }

    /// Revokes every live access token and refresh family of `client_id`. Returns how many
    /// were live. Two round trips, plus two per refresh family.
    #[maybe]
    #[tracing::instrument(name = "revoke_client_grants", skip_all, fields(mode = MODE))]
    pub async fn revoke_client_grants(&self, client_id: &str) -> Result<usize> {
        self.ready().await?;
        let index = self.inner.keys.oauth_client_grants(client_id);
        self.revoke_indexed_grants(&index).await
    }

    #[maybe]
    async fn revoke_indexed_grants(&self, index: &str) -> Result<usize> {
        let members: Vec<String> = self
            .inner
            .connection
            .cmd(&oauth::live_grants(index, now_ms()))
            .await?;
        let keys = &self.inner.keys;
        let (jtis, families) = oauth::split_grants(&members);
        // The tokens and the index itself in one round trip; the index's own count is last.
        let doomed = jtis.iter().map(|jti| keys.oauth_token(jti));
        let pipe = oauth::delete_each(doomed.chain(std::iter::once(index.to_owned())));
        let deleted: Vec<u32> = self.inner.connection.pipe(&pipe).await?;
        let mut revoked = deleted.iter().take(jtis.len()).filter(|n| **n > 0).count();
        for family in families {
            revoked += usize::from(self.revoke_family(family).await?);
        }
        Ok(revoked)
    }

    /// Starts a refresh token family for `grant` and returns its first token; only its hash
    /// is stored. The family lives [`refresh_family_ttl`] (default 30 days). Two round trips.
    ///
    /// [`refresh_family_ttl`]: crate::StorageConfig::refresh_family_ttl
    #[maybe]
    #[tracing::instrument(name = "issue_refresh_token", skip_all, fields(mode = MODE))]
    pub async fn issue_refresh_token(&self, grant: &RefreshGrant) -> Result<IssuedRefresh> {
        model::id_key("client_id", &grant.client_id)?;
        if grant.user.trim().is_empty() {
            return Err(Error::invalid("user", "must not be empty"));
        }
        let family = oauth::random_token(16)?;
        let token = oauth::new_refresh_token(&family)?;
        let lifetime = self.inner.config.refresh_family_ttl;
        self.ready().await?;
        let keys = &self.inner.keys;
        let create =
            oauth::create_family(keys, &family, grant, &oauth::secret_hash(&token), lifetime);
        self.inner.connection.pipe::<()>(&create).await?;
        let now = now_ms();
        let expires = now + i64::try_from(lifetime.as_millis()).unwrap_or(i64::MAX / 2);
        let member = oauth::grant_member(GrantKind::RefreshFamily, &family);
        let mut index = redis::pipe();
        oauth::index_grant(
            &mut index,
            keys,
            &grant.user,
            &grant.client_id,
            &member,
            now,
            expires,
        );
        self.inner.connection.pipe::<()>(&index).await?;
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
    #[maybe]
    #[tracing::instrument(name = "rotate_refresh_token", skip_all, fields(mode = MODE))]
    pub async fn rotate_refresh_token(
        &self,
        token: &str,
        client_id: &str,
    ) -> Result<RefreshOutcome> {
        let Some(family) = oauth::family_of(token) else {
            return Ok(RefreshOutcome::Unknown);
        };
        let successor = oauth::new_refresh_token(family)?;
        self.ready().await?;
        let call = oauth::rotate_family(
            &self.inner.keys,
            family,
            &oauth::secret_hash(token),
            &oauth::secret_hash(&successor),
            now_ms(),
            self.inner.config.refresh_grace,
            client_id,
        );
        let reply: Vec<String> = self.inner.connection.script(&call).await?;
        match oauth::rotation_reply(reply, family)? {
            RotationReply::Issued { retry, user, scope } => {
                let issued = IssuedRefresh {
                    family: family.to_owned(),
                    token: Secret::new(successor),
                    user,
                    scope,
                };
                Ok(if retry {
                    RefreshOutcome::Retried(issued)
                } else {
                    RefreshOutcome::Rotated(issued)
                })
            }
            RotationReply::Other(outcome) => {
                if let RefreshOutcome::Reused { family } = &outcome {
                    tracing::warn!("refresh token reuse: family revoked");
                    self.revoke_family(family).await?;
                }
                Ok(outcome)
            }
        }
    }

    /// Revokes a refresh family and every access token issued in it. Returns whether the
    /// family was live. Two round trips (one if it issued no access token).
    #[maybe]
    #[tracing::instrument(name = "revoke_family", skip_all, fields(mode = MODE))]
    pub async fn revoke_family(&self, family: &str) -> Result<bool> {
        self.ready().await?;
        let keys = &self.inner.keys;
        let call = oauth::revoke_family(keys, family);
        let reply: Vec<String> = self.inner.connection.script(&call).await?;
        let (revoked, jtis) = oauth::family_revocation(reply);
        if !jtis.is_empty() {
            let pipe = oauth::delete_each(jtis.iter().map(|jti| keys.oauth_token(jti)));
            self.inner.connection.pipe::<()>(&pipe).await?;
        }
        Ok(revoked)
    }

    /// Starts the device flow (RFC 8628) for `client_id`: a device code (only its hash is
    /// stored) and a short user code, living [`device_ttl`] (default 900 s). Two round trips.
    ///
    /// [`device_ttl`]: crate::StorageConfig::device_ttl
    #[maybe]
    #[tracing::instrument(name = "start_device_authorization", skip_all, fields(mode = MODE))]
    pub async fn start_device_authorization(
        &self,
        client_id: &str,
        scope: &str,
    ) -> Result<DeviceStart> {
        model::id_key("client_id", client_id)?;
        let config = &self.inner.config;
        let device_code = oauth::random_token(32)?;
        let device_hash = oauth::secret_hash(&device_code);
        self.ready().await?;
        let keys = &self.inner.keys;
        for _ in 0..config.max_update_attempts {
            let user_code = oauth::new_user_code()?;
            let claim = oauth::create_with_ttl(
                &keys.device_user_code(&user_code),
                &device_hash,
                config.device_ttl,
            );
            let claimed: Option<String> = self.inner.connection.cmd(&claim).await?;
            if claimed.is_none() {
                continue; // another device holds this user code right now
            }
            let create = oauth::create_device(
                keys,
                &device_hash,
                &user_code,
                client_id,
                scope,
                config.device_interval,
                config.device_ttl,
            );
            self.inner.connection.pipe::<()>(&create).await?;
            return Ok(DeviceStart {
                device_code: Secret::new(device_code),
                user_code,
                expires_in: config.device_ttl,
                interval: config.device_interval,
            });
        }
        Err(self.contention(keys.device_user_code("*")))
    }

    /// Approves the device authorization of `user_code` (as typed) for `user`. Two round
    /// trips.
    #[maybe]
    #[tracing::instrument(name = "approve_device", skip_all, fields(mode = MODE))]
    pub async fn approve_device(&self, user_code: &str, user: &str) -> Result<DeviceDecision> {
        if user.trim().is_empty() {
            return Err(Error::invalid("user", "must not be empty"));
        }
        self.decide_device(user_code, Some(user)).await
    }

    /// Denies the device authorization of `user_code` (as typed). Two round trips.
    #[maybe]
    #[tracing::instrument(name = "deny_device", skip_all, fields(mode = MODE))]
    pub async fn deny_device(&self, user_code: &str) -> Result<DeviceDecision> {
        self.decide_device(user_code, None).await
    }

    #[maybe]
    async fn decide_device(&self, user_code: &str, user: Option<&str>) -> Result<DeviceDecision> {
        let user_code = oauth::normalize_user_code(user_code)?;
        self.ready().await?;
        let keys = &self.inner.keys;
        let get = commands::get(&keys.device_user_code(&user_code));
        let Some(device_hash) = self.inner.connection.cmd::<Option<String>>(&get).await? else {
            return Ok(DeviceDecision::Unknown);
        };
        let call = oauth::decide_device(keys, &device_hash, user);
        let reply: String = self.inner.connection.script(&call).await?;
        Ok(oauth::device_decision(reply))
    }

    /// A device's poll for its token: enforces the interval (`slow_down`), and reports an
    /// approval exactly once. One round trip.
    #[maybe]
    #[tracing::instrument(name = "poll_device", skip_all, fields(mode = MODE))]
    pub async fn poll_device(&self, device_code: &str, client_id: &str) -> Result<DevicePoll> {
        self.ready().await?;
        let call = oauth::poll_device(&self.inner.keys, device_code, client_id, now_ms());
        let reply: Vec<String> = self.inner.connection.script(&call).await?;
        oauth::device_poll(reply)
    }

    /// Stores the payload of an OAuth `state` parameter for [`state_ttl`] (default 300 s),
    /// under the hash of the state. One round trip.
    ///
    /// [`state_ttl`]: crate::StorageConfig::state_ttl
    #[maybe]
    #[tracing::instrument(name = "store_state", skip_all, fields(mode = MODE))]
    pub async fn store_state(&self, state: &str, payload: &str) -> Result<()> {
        if state.len() < 16 {
            return Err(Error::invalid("state", "must be at least 16 characters"));
        }
        self.ready().await?;
        let key = self.inner.keys.oauth_state(&oauth::secret_hash(state));
        let set = oauth::create_with_ttl(&key, payload, self.inner.config.state_ttl);
        let created: Option<String> = self.inner.connection.cmd(&set).await?;
        created.map(drop).ok_or(Error::Conflict {
            key,
            owner: "an existing state".to_owned(),
        })
    }

    /// Takes the payload of `state`, once: a second call gets `None`. One round trip.
    #[maybe]
    #[tracing::instrument(name = "consume_state", skip_all, fields(mode = MODE))]
    pub async fn consume_state(&self, state: &str) -> Result<Option<String>> {
        self.ready().await?;
        let key = self.inner.keys.oauth_state(&oauth::secret_hash(state));
        self.inner.connection.cmd(&oauth::take(&key)).await
    }
}
