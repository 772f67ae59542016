//! The device authorization grant (RFC 8628): start, approve or deny, poll.

use super::{maybe, operation, Storage, MODE};
use crate::commands;
use crate::error::Result;
use crate::model::oauth::device::{approver, new_user_code, normalize_user_code};
use crate::model::oauth::secrets::{random_token, secret_hash};
use crate::model::oauth::{now_ms, DeviceDecision, DevicePoll, DeviceStart};
use crate::model::{self, Secret};

impl Storage {
    /// Starts the device flow (RFC 8628) for `client_id`: a device code (only its hash is
    /// stored) and a short user code, living [`device_ttl`] (default 900 s). Two round trips.
    ///
    /// [`device_ttl`]: crate::StorageConfig::device_ttl
    #[operation]
    pub async fn start_device_authorization(
        &self,
        client_id: &str,
        scope: &str,
    ) -> Result<DeviceStart> {
        model::id_key("client_id", client_id)?;
        let (config, keys) = (self.config(), self.keys());
        let device_code = random_token(32)?;
        let device_hash = secret_hash(&device_code);
        let mut attempts = self.attempts(&keys.device_user_code("*"));
        loop {
            attempts.next().await?;
            let user_code = new_user_code()?;
            let claim = commands::create_with_ttl(
                &keys.device_user_code(&user_code),
                &device_hash,
                config.device_ttl,
            );
            let claimed: Option<String> = self.cmd_once(&claim).await?;
            if claimed.is_none() {
                continue; // another device holds this user code right now
            }
            let create = commands::oauth::device::create_device(
                keys,
                &device_hash,
                &user_code,
                client_id,
                scope,
                config.device_interval,
                config.device_ttl,
            );
            self.pipe::<()>(&create).await?;
            return Ok(DeviceStart {
                device_code: Secret::new(device_code),
                user_code,
                expires_in: config.device_ttl,
                interval: config.device_interval,
            });
        }
    }

    /// Approves the device authorization of `user_code` (as typed) for `user`. Two round
    /// trips.
    #[operation]
    pub async fn approve_device(&self, user_code: &str, user: &str) -> Result<DeviceDecision> {
        let user = approver(user)?;
        self.decide_device(user_code, Some(user)).await
    }

    /// Denies the device authorization of `user_code` (as typed). Two round trips.
    #[operation]
    pub async fn deny_device(&self, user_code: &str) -> Result<DeviceDecision> {
        self.decide_device(user_code, None).await
    }

    #[maybe]
    async fn decide_device(&self, user_code: &str, user: Option<&str>) -> Result<DeviceDecision> {
        let user_code = normalize_user_code(user_code)?;
        let keys = self.keys();
        let user_key = keys.device_user_code(&user_code);
        let lookup = commands::get(&user_key);
        let found = self.read_cmd::<Option<String>>(&lookup).await;
        let Some(device_hash) = found.map_err(|e| e.about(&user_key))? else {
            return Ok(DeviceDecision::Unknown);
        };
        let call = commands::oauth::device::decide_device(keys, &device_hash, user);
        let reply: String = self.script_once(&call).await?;
        commands::oauth::device::device_decision(reply, &keys.device_code(&device_hash))
    }

    /// A device's poll for its token: enforces the interval (`slow_down`), and reports an
    /// approval exactly once. One round trip.
    #[operation]
    pub async fn poll_device(&self, device_code: &str, client_id: &str) -> Result<DevicePoll> {
        let call =
            commands::oauth::device::poll_device(self.keys(), device_code, client_id, now_ms());
        let reply: Vec<String> = self.script_once(&call).await?;
        commands::oauth::device::device_poll(
            reply,
            &self.keys().device_code(&secret_hash(device_code)),
        )
    }
}
