//! Registered clients (RFC 7591).

use super::{maybe, operation, Storage, MODE};
use crate::commands::{delete_indexed, put_indexed, Indexed, ListingQuery, Put, WriteOutcome};
use crate::error::{Error, Result};
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
        let keys = self.keys();
        let id = &registered.client.client_id;
        let target = Indexed {
            record: &keys.oauth_client(id),
            index: &keys.oauth_client_index(),
            member: id,
            feed: None,
        };
        let call = put_indexed(keys, &target, &json, Put::CreateOnly, lifetime);
        let reply: String = self.script_once(&call).await?;
        match WriteOutcome::parse(&reply)? {
            WriteOutcome::Written => Ok(registered),
            _ => Err(Error::Conflict {
                key: keys.oauth_client(id),
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
        let keys = self.keys();
        let id = &client.client_id;
        let target = Indexed {
            record: &keys.oauth_client(id),
            index: &keys.oauth_client_index(),
            member: id,
            feed: None,
        };
        let call = put_indexed(keys, &target, &json, Put::Replace, lifetime);
        let reply: String = self.script(&call).await?;
        WriteOutcome::parse(&reply)?;
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
        let key = self
            .keys()
            .oauth_client(model::id_key("client_id", client_id)?);
        self.update(key, edit).await
    }

    /// Removes a client. Returns whether there was one. One round trip.
    #[operation]
    pub async fn delete_client(&self, client_id: &str) -> Result<bool> {
        let id = model::id_key("client_id", client_id)?;
        let keys = self.keys();
        let target = Indexed {
            record: &keys.oauth_client(id),
            index: &keys.oauth_client_index(),
            member: id,
            feed: None,
        };
        let call = delete_indexed(keys, &target);
        let removed: u32 = self.script_once(&call).await?;
        Ok(removed > 0)
    }

    /// Every registered client, by id. One round trip.
    #[operation]
    pub async fn list_clients(&self) -> Result<Listing<OAuthClient>> {
        let keys = self.keys();
        let query = ListingQuery::of_set(keys.oauth_client_index(), keys.oauth_client_prefix());
        self.listing(query, None, |a: &OAuthClient, b| {
            a.client_id.cmp(&b.client_id)
        })
        .await
    }
}
