//! Registered clients (RFC 7591).

use super::{maybe, operation, Storage, MODE};
use crate::commands::{Indexed, Put, WriteOutcome};
use crate::error::{Error, Result};
use crate::model::family::OAUTH_CLIENTS;
use crate::model::oauth::secrets::{hashes_match, secret_hash};
use crate::model::oauth::{ClientRegistration, OAuthClient, RegisteredClient};
use crate::model::{self, Listing, Timestamp};

impl Storage {
    /// Registers a client (RFC 7591) and returns it with its secret, shown this once; only
    /// the secret's hash is stored. A `lifetime` becomes the record's TTL. One round trip.
    #[operation]
    pub async fn register_client(
        &self,
        registration: ClientRegistration,
    ) -> Result<RegisteredClient> {
        let lifetime = registration.lifetime;
        let mut registered = registration.into_client(Timestamp::now())?;
        let json = model::encode(&mut registered.client)?;
        let id = &registered.client.client_id;
        let target = Indexed::new(self.keys(), &OAUTH_CLIENTS, id);
        match self
            .put_record(&target, &json, Put::CreateOnly, lifetime)
            .await?
        {
            WriteOutcome::Written => Ok(registered),
            _ => Err(Error::Conflict {
                key: target.key().to_owned(),
                owner: id.clone(),
            }),
        }
    }

    /// Stores `client` as it is, replacing any client with its id: for restoring a backup or
    /// moving clients to another Redis (new clients go through
    /// [`register_client`](Self::register_client), which makes their id and secret). A
    /// client with an `expires_at` keeps it as the record's TTL; one already expired is
    /// [`Error::Invalid`] naming `expires_at`. One round trip.
    #[operation]
    pub async fn store_client(&self, mut client: OAuthClient) -> Result<OAuthClient> {
        let lifetime = client.remaining_lifetime(Timestamp::now())?;
        let json = model::encode(&mut client)?;
        let target = Indexed::new(self.keys(), &OAUTH_CLIENTS, &client.client_id);
        self.put_record(&target, &json, Put::Replace, lifetime)
            .await?;
        Ok(client)
    }

    /// The client `client_id`, if registered (and not expired). One round trip.
    #[operation]
    pub async fn get_client(&self, client_id: &str) -> Result<Option<OAuthClient>> {
        let key = self
            .keys()
            .oauth_client(model::id_key("client_id", client_id)?);
        self.read(&key).await
    }

    /// Whether `secret` is the client's secret (compared as hashes, in constant time). False
    /// for an unknown or public client. One round trip.
    #[operation]
    pub async fn verify_client_secret(&self, client_id: &str, secret: &str) -> Result<bool> {
        let client = self.get_client(client_id).await?;
        let stored = client.and_then(|c| c.client_secret_hash);
        Ok(stored.is_some_and(|hash| hashes_match(&hash, &secret_hash(secret))))
    }

    /// Changes a client with `edit`, atomically against other writers; the record keeps its
    /// TTL. Two round trips.
    #[operation]
    pub async fn update_client(
        &self,
        client_id: &str,
        edit: impl FnMut(&mut OAuthClient),
    ) -> Result<OAuthClient> {
        let id = model::id_key("client_id", client_id)?;
        self.update(Indexed::new(self.keys(), &OAUTH_CLIENTS, id), edit)
            .await
    }

    /// Removes a client. Returns whether there was one. One round trip.
    #[operation]
    pub async fn delete_client(&self, client_id: &str) -> Result<bool> {
        let id = model::id_key("client_id", client_id)?;
        self.delete_record(&Indexed::new(self.keys(), &OAUTH_CLIENTS, id))
            .await
    }

    /// Every registered client, by id. One round trip.
    #[operation]
    pub async fn list_clients(&self) -> Result<Listing<OAuthClient>> {
        self.list_family(&OAUTH_CLIENTS).await
    }
}
