//! Creating, rotating and revoking refresh token families.

use std::time::Duration;

use redis::Pipeline;

use crate::commands::ScriptCall;

use super::access_tokens::index_grant;
use crate::error::{Error, Result};
use crate::keys::KeySpace;
use crate::model::oauth::access_tokens::{grant_member, GrantKind};
use crate::model::oauth::refresh::{IssuedRefresh, RefreshGrant, RefreshOutcome};
use crate::model::Secret;

/// Creates a family: its record (a hash), lifetime and current token.
pub fn create_family(
    keys: &KeySpace,
    family: &str,
    grant: &RefreshGrant,
    token_hash: &str,
    lifetime: Duration,
) -> Pipeline {
    let key = keys.oauth_family(family);
    let mut pipe = redis::pipe();
    pipe.atomic()
        .hset_multiple(
            &key,
            &[
                ("client_id", grant.client_id.as_str()),
                ("user", grant.user.as_str()),
                ("scope", grant.scope.as_str()),
                ("current", token_hash),
                ("previous", ""),
                ("rotated_at", "0"),
                ("revoked", "0"),
            ],
        )
        .ignore()
        .cmd("PEXPIRE")
        .arg(&key)
        .arg(
            u64::try_from(lifetime.as_millis())
                .unwrap_or(u64::MAX)
                .max(1),
        )
        .ignore();
    pipe
}

/// Records a new family in its user's and client's grant indexes (their own slots, so not
/// in the family's transaction).
pub fn index_family(
    keys: &KeySpace,
    grant: &RefreshGrant,
    family: &str,
    now_ms: i64,
    expires_ms: i64,
) -> Pipeline {
    let member = grant_member(GrantKind::RefreshFamily, family);
    let mut pipe = redis::pipe();
    index_grant(
        &mut pipe,
        keys,
        &grant.user,
        &grant.client_id,
        &member,
        now_ms,
        expires_ms,
    );
    pipe
}

/// The rotation script call for a presented token's hash and its successor's.
pub fn family_rotation(
    keys: &KeySpace,
    family: &str,
    presented_hash: &str,
    successor_hash: &str,
    now_ms: i64,
    grace: Duration,
    client_id: &str,
) -> ScriptCall {
    let mut call = lua_script!("refresh_rotate");
    call.key(keys.oauth_family(family))
        .key(keys.oauth_family_used(family))
        .arg(presented_hash)
        .arg(successor_hash)
        .arg(now_ms)
        .arg(u64::try_from(grace.as_millis()).unwrap_or(u64::MAX))
        .arg(client_id);
    call
}

/// How the rotation script answered, before the successor is attached.
#[derive(Debug, PartialEq, Eq)]
pub enum RotationReply {
    /// Rotated or retried, for this user and scope.
    Issued {
        /// Whether it was a grace-window retry.
        retry: bool,
        /// The family's user.
        user: String,
        /// The family's scope.
        scope: String,
    },
    /// Any other outcome.
    Other(RefreshOutcome),
}

impl RotationReply {
    /// The outcome for the caller, with `successor` attached where one was issued.
    pub(crate) fn into_outcome(self, family: &str, successor: Secret) -> RefreshOutcome {
        match self {
            RotationReply::Issued { retry, user, scope } => {
                let issued = IssuedRefresh {
                    family: family.to_owned(),
                    token: successor,
                    user,
                    scope,
                };
                if retry {
                    RefreshOutcome::Retried(issued)
                } else {
                    RefreshOutcome::Rotated(issued)
                }
            }
            RotationReply::Other(outcome) => outcome,
        }
    }
}

/// Decodes the rotation script's reply.
pub fn rotation_reply(reply: Vec<String>, family: &str, key: &str) -> Result<RotationReply> {
    let mut parts = reply.into_iter();
    let status = parts.next().unwrap_or_default();
    let mut issued = |retry| RotationReply::Issued {
        retry,
        user: parts.next().unwrap_or_default(),
        scope: parts.next().unwrap_or_default(),
    };
    Ok(match status.as_str() {
        "rotated" => issued(false),
        "retried" => issued(true),
        "reused" => RotationReply::Other(RefreshOutcome::Reused {
            family: family.to_owned(),
        }),
        "revoked" => RotationReply::Other(RefreshOutcome::Revoked),
        "wrong_client" => RotationReply::Other(RefreshOutcome::WrongClient),
        "unknown" => RotationReply::Other(RefreshOutcome::Unknown),
        "corrupt" => {
            return Err(Error::corrupt(
                key,
                "is not a refresh family record; left as it is",
            ))
        }
        other => {
            return Err(Error::Protocol {
                reason: format!("unexpected rotation reply `{other}`"),
            })
        }
    })
}

/// Marks the family revoked (if it still exists) and names its access tokens. Reply: decode
/// with [`revocation_reply`].
pub fn family_revocation(keys: &KeySpace, family: &str) -> ScriptCall {
    let mut call = lua_script!("family_revoke");
    call.key(keys.oauth_family(family))
        .key(keys.oauth_family_tokens(family));
    call
}

/// Whether the revocation script revoked a live family, and the jtis to revoke with it.
pub fn revocation_reply(reply: Vec<String>) -> (bool, Vec<String>) {
    let mut parts = reply.into_iter();
    let revoked = parts.next().as_deref() == Some("1");
    (revoked, parts.collect())
}
