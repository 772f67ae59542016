//! Secrets at rest: how every OAuth secret is made and the only form it is stored in.
//!
//! Authorization codes, refresh tokens, device codes, state values and client secrets are
//! stored under (or as) the SHA-256 of their value, base64url-encoded, never in the clear.
//! Plain SHA-256, not a keyed hash, because every one of these values is generated here with
//! at least 192 random bits: no dictionary or brute force reaches a preimage, so a key would
//! add a secret to manage without adding protection. A dump of Redis alone therefore lets
//! nobody use them, and a lookup stays one round trip (hash, then `GET`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// `n` random bytes from the operating system, base64url-encoded.
pub fn random_token(n: usize) -> Result<String> {
    let mut bytes = vec![0u8; n];
    fill_random(&mut bytes)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// The SHA-256 of `value`, base64url-encoded: the only form a secret is stored in.
pub fn secret_hash(value: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(value.as_bytes()))
}

/// Compares two hashes in time independent of where they differ.
pub fn hashes_match(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Fills `bytes` from the operating system's random source.
pub(crate) fn fill_random(bytes: &mut [u8]) -> Result<()> {
    getrandom::fill(bytes).map_err(|e| Error::Randomness {
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_stable_and_compare_safely() {
        assert_eq!(
            secret_hash("abc"),
            "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
        );
        assert!(hashes_match(&secret_hash("a"), &secret_hash("a")));
        assert!(!hashes_match(&secret_hash("a"), &secret_hash("b")));
        assert!(!hashes_match("short", "longer"));
    }
}
