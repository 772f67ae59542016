//! Refresh token families: rotation on every use, reuse detection, a grace window for
//! retries. A token is `{family}.{random}`, so its family is found from the token itself and
//! rotation is one script on the family's slot.

use std::time::Duration;

use super::non_empty;
use super::secrets::random_token;
use crate::error::{Error, Result};
use crate::model::{validate, Secret};

/// A new refresh token of `family`: `{family}.{random}`, so the family (not a secret) is
/// found from the token itself and rotation is one script on the family's slot.
pub fn new_refresh_token(family: &str) -> Result<String> {
    Ok(format!("{family}.{}", random_token(32)?))
}

/// The family a refresh token belongs to, if it is shaped like one of ours.
pub fn family_of(token: &str) -> Option<&str> {
    let (family, rest) = token.split_once('.')?;
    let base64url = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    (base64url(family) && base64url(rest)).then_some(family)
}

/// What a refresh family is issued for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshGrant {
    /// The client it belongs to.
    pub client_id: String,
    /// The user it acts for.
    pub user: String,
    /// The scope granted.
    pub scope: String,
}

impl RefreshGrant {
    /// Checks the grant before a family is started for it.
    pub(crate) fn check(&self) -> Result<()> {
        validate::record_id("client_id", &self.client_id)?;
        non_empty("user", &self.user)
    }
}

/// When a family started at `now_ms` with `lifetime` ends, in Unix milliseconds.
pub(crate) fn family_expiry_ms(now_ms: i64, lifetime: Duration) -> i64 {
    now_ms.saturating_add(i64::try_from(lifetime.as_millis()).unwrap_or(i64::MAX))
}

/// A refresh family id as this crate makes them (base64url, part of a key); anything else
/// (`*`, a path, a glob) is [`Error::Invalid`] naming `family`.
pub(crate) fn check_family(family: &str) -> Result<()> {
    let shaped = !family.is_empty()
        && family.len() <= 64
        && family
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if shaped {
        Ok(())
    } else {
        Err(Error::invalid(
            "family",
            "must be a family id this storage issued",
        ))
    }
}

/// A refresh token handed out: to the client, once. Only its hash is stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedRefresh {
    /// The family it belongs to (not a secret).
    pub family: String,
    /// The token.
    pub token: Secret,
    /// The user it acts for.
    pub user: String,
    /// The scope granted.
    pub scope: String,
}

/// The outcome of presenting a refresh token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// The token was current: here is its successor; the presented token stops working.
    Rotated(IssuedRefresh),
    /// The token was rotated moments ago (within the grace window): a client retry. Here is a
    /// fresh successor; the successor handed out before stops working.
    Retried(IssuedRefresh),
    /// An already-used token: possible theft. The whole family is revoked, with the access
    /// tokens issued in it.
    Reused {
        /// The revoked family.
        family: String,
    },
    /// The family was revoked earlier.
    Revoked,
    /// The token belongs to another client; nothing changed.
    WrongClient,
    /// Not a token of a live family (never issued, or its family expired).
    Unknown,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_tokens_name_their_family() {
        let token = new_refresh_token("fam_1").unwrap();
        assert_eq!(family_of(&token), Some("fam_1"));
        assert_eq!(family_of("nodot"), None);
        assert_eq!(family_of("a.b{c}"), None);
    }
}
