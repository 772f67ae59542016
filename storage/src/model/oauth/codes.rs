//! Authorization codes (RFC 6749 section 4.1, with PKCE): what a code grants, and how its
//! redemption ends.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use super::non_empty;
use super::secrets::fill_random;
use crate::error::{Error, Result};
use crate::model::validate;

/// A new authorization code: its issue time (Unix s, 8 bytes) and 24 random bytes. The time
/// lets an unknown code be told apart from an expired one without storing anything.
pub fn new_code(now: i64) -> Result<String> {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&now.to_be_bytes());
    fill_random(&mut bytes[8..])?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// When `code` was issued, if it is one of ours.
pub fn code_issued_at(code: &str) -> Option<i64> {
    let bytes = URL_SAFE_NO_PAD.decode(code).ok()?;
    let stamp: [u8; 8] = bytes.get(..8)?.try_into().ok()?;
    (bytes.len() == 32).then(|| i64::from_be_bytes(stamp))
}

/// What an authorization code grants, bound when it is issued.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeGrant {
    /// The client it was issued to.
    pub client_id: String,
    /// The redirect URI it was issued for; redemption must present the same.
    pub redirect_uri: String,
    /// The scope granted.
    pub scope: String,
    /// The user who authorized it.
    pub user: String,
    /// The PKCE challenge (RFC 7636).
    pub code_challenge: String,
    /// `S256` or `plain`.
    pub code_challenge_method: String,
}

impl CodeGrant {
    /// Checks the grant before it is stored.
    pub fn check(&self) -> Result<()> {
        validate::record_id("client_id", &self.client_id)?;
        validate::redirect_uri("redirect_uri", &self.redirect_uri)?;
        non_empty("user", &self.user)?;
        match self.code_challenge_method.as_str() {
            "S256" | "plain" => non_empty("code_challenge", &self.code_challenge),
            _ => Err(Error::invalid(
                "code_challenge_method",
                "must be S256 or plain",
            )),
        }
    }
}

/// The outcome of redeeming an authorization code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CodeRedemption {
    /// First use: the grant, to issue tokens from.
    Redeemed(CodeGrant),
    /// The code was already used. Revoke what was issued from it
    /// ([`revoke_code_grant`](crate::blocking::Storage::revoke_code_grant)).
    Replayed {
        /// The refresh family issued from the first use, if it was recorded.
        family: Option<String>,
    },
    /// The code was ours but its lifetime is over.
    Expired,
    /// Not a code this server issued, or not recently.
    Unknown,
    /// Issued to another client; the code stays usable by its own client.
    WrongClient,
    /// Issued for another redirect URI; the code stays usable with it.
    WrongRedirectUri,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_carry_their_issue_time() {
        let code = new_code(1_755_681_302).unwrap();
        assert_eq!(code.len(), 43);
        assert_eq!(code_issued_at(&code), Some(1_755_681_302));
        assert_eq!(code_issued_at("not-a-code"), None);
        assert_ne!(new_code(1).unwrap(), new_code(1).unwrap());
    }
}
