//! A string that never prints.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The record fields that hold secrets or their hashes (PEMs, client secrets, token
/// hashes): tools show that such a field differs, never its value.
pub const SECRET_FIELDS: [&str; 5] = [
    "fullchain_pem",
    "private_key_pem",
    "github_client_secret",
    "client_secret_hash",
    "owner_token_hash",
];

/// A secret stored in a record (a client secret, a token hash). It is written to Redis as a
/// plain JSON string, like the existing deployment does, but `Debug` shows only its length.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself; call only where it is needed.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({} bytes)", self.0.len())
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret::new(value)
    }
}
