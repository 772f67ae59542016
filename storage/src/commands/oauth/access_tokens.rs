//! Storing access tokens with their grant indexes, and reading the indexes back.

use redis::{Cmd, Pipeline};

use crate::keys::KeySpace;
use crate::model::oauth::access_tokens::{grant_member, AccessToken, GrantKind};

/// Adds to `pipe` the commands that record a grant in the user's and the client's indexes,
/// scored by its expiry, and let each index live as long as its longest grant, so entries
/// never outlive their grants for long. Plain pipelined commands, not a transaction: the
/// indexes live on their own slots.
pub fn index_grant(
    pipe: &mut Pipeline,
    keys: &KeySpace,
    user: &str,
    client_id: &str,
    member: &str,
    now_ms: i64,
    expires_ms: i64,
) {
    let ttl_secs = (expires_ms - now_ms).max(1000) / 1000 + 1;
    for index in [
        keys.oauth_user_grants(user),
        keys.oauth_client_grants(client_id),
    ] {
        pipe.zadd(&index, member, expires_ms).ignore();
        pipe.cmd("ZREMRANGEBYSCORE")
            .arg(&index)
            .arg("-inf")
            .arg(now_ms)
            .ignore();
        expire_at_least(pipe, &index, ttl_secs);
    }
}

/// Gives `key` at least `ttl_secs` to live: GT extends a shorter TTL, NX sets one on a key
/// that has none (GT never does).
fn expire_at_least(pipe: &mut Pipeline, key: &str, ttl_secs: i64) {
    for condition in ["GT", "NX"] {
        pipe.cmd("EXPIRE")
            .arg(key)
            .arg(ttl_secs)
            .arg(condition)
            .ignore();
    }
}

/// Stores an access token for its lifetime and indexes it by user, by client and, if it has
/// one, by family: one pipeline, one round trip. The indexes come first: on a cluster the
/// pipeline is cut by slot and its pieces run in order, so a failure part-way leaves an
/// index entry without its token (harmless: revoking it deletes nothing), never a token
/// that "revoke everything of this user" would miss.
pub fn token_with_indexes(
    keys: &KeySpace,
    token: &AccessToken,
    json: &str,
    now_ms: i64,
    expires_ms: i64,
) -> Pipeline {
    let ttl_secs = (expires_ms - now_ms).max(1000) / 1000 + 1;
    let mut pipe = redis::pipe();
    let member = grant_member(GrantKind::AccessToken, &token.jti);
    index_grant(
        &mut pipe,
        keys,
        &token.user,
        &token.client_id,
        &member,
        now_ms,
        expires_ms,
    );
    if let Some(family) = &token.family {
        let tokens = keys.oauth_family_tokens(family);
        pipe.sadd(&tokens, &token.jti).ignore();
        expire_at_least(&mut pipe, &tokens, ttl_secs);
    }
    pipe.cmd("SET")
        .arg(keys.oauth_token(&token.jti))
        .arg(json)
        .arg("EX")
        .arg(ttl_secs)
        .ignore();
    pipe
}

/// The live members of a grant index (expiry after `now_ms`).
pub fn live_grants(index: &str, now_ms: i64) -> Cmd {
    let mut cmd = redis::cmd("ZRANGEBYSCORE");
    cmd.arg(index).arg(now_ms).arg("+inf");
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::cluster::{by_slot, key_of};
    use crate::model::Timestamp;

    #[test]
    fn on_a_cluster_the_indexes_are_written_before_the_token() {
        let keys = KeySpace::new("{gw}:");
        let now = Timestamp::now();
        let token = AccessToken {
            jti: "j1".into(),
            client_id: "c".into(),
            user: "u".into(),
            scope: "mcp".into(),
            issued_at: now.clone(),
            expires_at: now,
            family: Some("f1".into()),
            extra: Default::default(),
        };
        let pipe = token_with_indexes(&keys, &token, "{}", 0, 60_000);
        let pieces = by_slot(&pipe).expect("several slots");
        let first_keys: Vec<Vec<u8>> = pieces
            .iter()
            .map(|(_, piece)| key_of(piece.cmd_iter().next().unwrap()).unwrap().to_vec())
            .collect();
        let token_key = keys.oauth_token("j1").into_bytes();
        assert_eq!(first_keys.last(), Some(&token_key), "{first_keys:?}");
        assert_eq!(pieces.len(), 4, "user, client, family and token slots");
    }
}
