//! Access tokens' introspection data (RFC 7662), and the members of the per-user and
//! per-client grant indexes that make "revoke everything of this user" possible.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::non_empty;
use crate::error::{Error, Result};
use crate::model::{Record, Timestamp};

/// Introspection data of an access token, stored at `oauth:token:{jti}` for its lifetime.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccessToken {
    /// Its id (the JWT `jti`); part of its key.
    pub jti: String,
    /// The client it was issued to.
    pub client_id: String,
    /// The user it acts for.
    pub user: String,
    /// The scope granted.
    pub scope: String,
    /// When it was issued.
    pub issued_at: Timestamp,
    /// When it expires; also its TTL in Redis.
    pub expires_at: Timestamp,
    /// The refresh family it was issued with, revoked with it.
    #[serde(default)]
    pub family: Option<String>,
    /// Fields this version does not know, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Record for AccessToken {
    const ID_FIELD: &'static str = "jti";

    fn id(&self) -> &str {
        &self.jti
    }

    fn normalize(&mut self) -> Result<()> {
        crate::model::id_key("jti", &self.jti)?;
        non_empty("client_id", &self.client_id)?;
        non_empty("user", &self.user)
    }
}

impl AccessToken {
    /// Its expiry in Unix milliseconds, which must be after `now_ms`: a token stored dead
    /// would never be found, and its TTL would be zero.
    pub(crate) fn expiry_ms_after(&self, now_ms: i64) -> Result<i64> {
        let expires = self.expires_at.instant().timestamp_millis();
        if expires <= now_ms {
            return Err(Error::invalid("expires_at", "is in the past"));
        }
        Ok(expires)
    }
}

/// The member an index keeps for an access token or a refresh family.
pub fn grant_member(kind: GrantKind, id: &str) -> String {
    match kind {
        GrantKind::AccessToken => format!("token:{id}"),
        GrantKind::RefreshFamily => format!("family:{id}"),
    }
}

/// What an index member stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrantKind {
    /// An access token, by jti.
    AccessToken,
    /// A refresh family, by id.
    RefreshFamily,
}

/// Splits an index member back into its kind and id.
pub fn parse_grant_member(member: &str) -> Option<(GrantKind, &str)> {
    if let Some(jti) = member.strip_prefix("token:") {
        Some((GrantKind::AccessToken, jti))
    } else {
        member
            .strip_prefix("family:")
            .map(|family| (GrantKind::RefreshFamily, family))
    }
}

/// The access-token jtis and the refresh families among a grant index's members.
pub fn split_grants(members: &[String]) -> (Vec<&str>, Vec<&str>) {
    let mut jtis = Vec::new();
    let mut families = Vec::new();
    for member in members {
        match parse_grant_member(member) {
            Some((GrantKind::AccessToken, jti)) => jtis.push(jti),
            Some((GrantKind::RefreshFamily, family)) => families.push(family),
            None => {}
        }
    }
    (jtis, families)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grant_members_round_trip() {
        let member = grant_member(GrantKind::RefreshFamily, "F");
        assert_eq!(
            parse_grant_member(&member),
            Some((GrantKind::RefreshFamily, "F"))
        );
        let member = grant_member(GrantKind::AccessToken, "j");
        assert_eq!(
            parse_grant_member(&member),
            Some((GrantKind::AccessToken, "j"))
        );
        assert_eq!(parse_grant_member("other"), None);
    }
}
