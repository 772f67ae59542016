//! ACME state besides certificates: HTTP-01 challenges and account keys.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::certificates::{canonical_email, check_base64url_word};
use super::{validate, Record, Secret, Timestamp};
use crate::error::{Error, Result};

/// A pending ACME HTTP-01 challenge, stored at `challenge:{token}` with a TTL.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Challenge {
    /// The token in the challenge URL.
    pub token: String,
    /// The key authorization to answer with.
    pub authorization: String,
    /// When it stops being useful.
    pub expires_at: Timestamp,
    /// Fields this version does not know, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An ACME challenge token: base64url characters, as RFC 8555 requires.
pub fn check_challenge_token(token: &str) -> Result<()> {
    check_base64url_word("token", token, 256)
}

/// An ACME provider name as it appears in account keys: no `:` and no whitespace.
pub fn check_provider(name: &str) -> Result<()> {
    validate::record_id("provider", name)
}

/// Checks what names an ACME account key and the PEM itself; returns the canonical email.
pub fn account_key_owner(provider: &str, email: &str, pem: &Secret) -> Result<String> {
    check_provider(provider)?;
    let email = canonical_email(email)?;
    if pem.expose().trim().is_empty() {
        return Err(Error::invalid("pem", "must not be empty"));
    }
    Ok(email)
}

impl Record for Challenge {
    const ID_FIELD: &'static str = "token";

    fn id(&self) -> &str {
        &self.token
    }

    fn normalize(&mut self) -> Result<()> {
        check_challenge_token(&self.token)
    }
}
