//! The device authorization grant (RFC 8628): user codes people can type, and the answers a
//! device's poll gets.

use std::time::Duration;

use super::secrets::fill_random;
use crate::error::{Error, Result};
use crate::model::Secret;

/// RFC 8628's suggested user-code alphabet: consonants only, no look-alikes, no words.
const USER_CODE_ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";
const USER_CODE_LENGTH: usize = 8;

/// A new user code, `XXXX-XXXX`, from RFC 8628's consonant alphabet.
pub fn new_user_code() -> Result<String> {
    let mut bytes = [0u8; USER_CODE_LENGTH];
    fill_random(&mut bytes)?;
    let letters: String = bytes
        .iter()
        .map(|b| char::from(USER_CODE_ALPHABET[usize::from(*b) % USER_CODE_ALPHABET.len()]))
        .collect();
    Ok(format!("{}-{}", &letters[..4], &letters[4..]))
}

/// A user code as typed (any case, with or without dash or spaces) in canonical form.
pub fn normalize_user_code(typed: &str) -> Result<String> {
    let letters: String = typed
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let valid = letters.len() == USER_CODE_LENGTH
        && letters.bytes().all(|b| USER_CODE_ALPHABET.contains(&b));
    if valid {
        Ok(format!("{}-{}", &letters[..4], &letters[4..]))
    } else {
        Err(Error::invalid("user_code", "is not a user code"))
    }
}

/// The user approving a device: someone signed in, so never empty.
pub(crate) fn approver(user: &str) -> Result<&str> {
    super::non_empty("user", user)?;
    Ok(user)
}

/// A device authorization handed to a device (RFC 8628 3.2).
#[derive(Clone, Debug)]
pub struct DeviceStart {
    /// The device code, for polling; only its hash is stored.
    pub device_code: Secret,
    /// The code the user types.
    pub user_code: String,
    /// How long both live.
    pub expires_in: Duration,
    /// The polling interval.
    pub interval: Duration,
}

/// The outcome of approving or denying a user code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceDecision {
    /// Recorded.
    Recorded,
    /// It was decided before (the status it has: approved, denied, redeemed).
    AlreadyDecided(String),
    /// No pending authorization has this user code (never issued, or expired).
    Unknown,
}

/// A device's poll, as RFC 8628 section 3.5 names the answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DevicePoll {
    /// `authorization_pending`.
    Pending,
    /// `slow_down`: polled before the interval passed; the interval grew to this.
    SlowDown {
        /// The new interval.
        interval: Duration,
    },
    /// `access_denied`.
    Denied,
    /// Approved: issue the tokens now. Reported once; later polls get `AlreadyRedeemed`.
    Approved {
        /// Who approved.
        user: String,
        /// The scope requested.
        scope: String,
    },
    /// The approval was already redeemed by an earlier poll.
    AlreadyRedeemed,
    /// `expired_token`: unknown or expired device code.
    Expired,
    /// The device code belongs to another client.
    WrongClient,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_are_typable() {
        let code = new_user_code().unwrap();
        assert_eq!(code.len(), 9);
        assert_eq!(
            normalize_user_code(&code.to_lowercase().replace('-', " ")).unwrap(),
            code
        );
        assert!(
            normalize_user_code("ABCD-EFGH").is_err(),
            "vowels are not in the alphabet"
        );
        assert!(normalize_user_code("BCD").is_err());
    }
}
