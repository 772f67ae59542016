//! Registered clients (RFC 7591): what a client asks for, and the record kept for it.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::secrets::{random_token, secret_hash};
use crate::error::{Error, Result};
use crate::model::family::{self, Family};
use crate::model::{validate, Record, Secret, Timestamp};

/// What a client asks for when it registers (RFC 7591).
#[derive(Clone, Debug, Default)]
pub struct ClientRegistration {
    /// A name to show users.
    pub client_name: String,
    /// Where codes may be sent; at least one.
    pub redirect_uris: Vec<String>,
    /// Grant types it will use.
    pub grant_types: Vec<String>,
    /// The scope it may request.
    pub scope: String,
    /// Whether it gets a secret (`client_secret_basic`) or is public (`none`).
    pub confidential: bool,
    /// How long the registration lives; `None` for ever. Kept as the key's TTL.
    pub lifetime: Option<Duration>,
}

/// A registered client, stored at `oauth:client:{client_id}`. Its secret exists only as a
/// hash.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct OAuthClient {
    /// Its id, generated at registration; part of its key.
    pub client_id: String,
    /// The SHA-256 of its secret; `None` for a public client.
    #[serde(default)]
    pub client_secret_hash: Option<String>,
    /// A name to show users.
    #[serde(default)]
    pub client_name: String,
    /// Where codes may be sent.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Grant types it uses.
    #[serde(default)]
    pub grant_types: Vec<String>,
    /// The scope it may request.
    #[serde(default)]
    pub scope: String,
    /// `client_secret_basic` or `none`.
    #[serde(default)]
    pub token_endpoint_auth_method: String,
    /// When it registered.
    #[serde(default)]
    pub created_at: Option<Timestamp>,
    /// When its registration ends, if it has a lifetime.
    #[serde(default)]
    pub expires_at: Option<Timestamp>,
    /// Fields this version does not know, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthClient")
            .field("client_id", &self.client_id)
            .field("client_name", &self.client_name)
            .field("redirect_uris", &self.redirect_uris)
            .field("confidential", &self.client_secret_hash.is_some())
            .finish_non_exhaustive()
    }
}

impl Record for OAuthClient {
    const ID_FIELD: &'static str = "client_id";
    const FAMILY: Option<&'static Family> = Some(&family::OAUTH_CLIENTS);

    fn id(&self) -> &str {
        &self.client_id
    }

    fn normalize(&mut self) -> Result<()> {
        OAuthClient::normalize(self)
    }
}

impl OAuthClient {
    /// Checks every rule (an id usable in a key, at least one redirect URI, each an OAuth
    /// 2.1 redirect URI); the error names the first field that breaks one.
    pub fn normalize(&mut self) -> Result<()> {
        crate::model::id_key("client_id", &self.client_id)?;
        if self.redirect_uris.is_empty() {
            return Err(Error::invalid("redirect_uris", "needs at least one URI"));
        }
        for uri in &self.redirect_uris {
            validate::redirect_uri("redirect_uris", uri)?;
        }
        Ok(())
    }

    /// How long the registration has left at `now`: `None` for ever, [`Error::Invalid`]
    /// naming `expires_at` if it is over.
    pub(crate) fn remaining_lifetime(&self, now: Timestamp) -> Result<Option<Duration>> {
        let Some(expires_at) = &self.expires_at else {
            return Ok(None);
        };
        let left = (expires_at.instant() - now.instant())
            .to_std()
            .map_err(|_| Error::invalid("expires_at", "is in the past"))?;
        validate::duration("expires_at", left)?;
        Ok(Some(left))
    }
}

/// A new registration: the client record and, for a confidential client, its secret, shown
/// this once.
#[derive(Debug)]
pub struct RegisteredClient {
    /// What was stored.
    pub client: OAuthClient,
    /// The secret to hand to the client; only its hash is stored.
    pub client_secret: Option<Secret>,
}

impl ClientRegistration {
    /// The record to store and the secret to return. A `lifetime` must be at most ten years.
    pub fn into_client(self, now: Timestamp) -> Result<RegisteredClient> {
        if let Some(lifetime) = self.lifetime {
            validate::duration("lifetime", lifetime)?;
        }
        let client_secret = if self.confidential {
            Some(Secret::new(random_token(32)?))
        } else {
            None
        };
        let expires_at = self
            .lifetime
            .map(|lifetime| Timestamp::from_utc(now.instant() + chrono_duration(lifetime)));
        let client = OAuthClient {
            client_id: random_token(16)?,
            client_secret_hash: client_secret.as_ref().map(|s| secret_hash(s.expose())),
            client_name: self.client_name,
            redirect_uris: self.redirect_uris,
            grant_types: self.grant_types,
            scope: self.scope,
            token_endpoint_auth_method: if self.confidential {
                "client_secret_basic"
            } else {
                "none"
            }
            .to_owned(),
            created_at: Some(now),
            expires_at,
            extra: Map::new(),
        };
        Ok(RegisteredClient {
            client,
            client_secret,
        })
    }
}

fn chrono_duration(duration: Duration) -> chrono::Duration {
    chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX)
}
