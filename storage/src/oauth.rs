//! OAuth authorization-server state without I/O: records, secrets, commands and outcomes.
//!
//! **Secrets at rest.** Authorization codes, refresh tokens, device codes, state values and
//! client secrets are stored under (or as) the SHA-256 of their value, base64url-encoded, never
//! in the clear. Plain SHA-256, not a keyed hash, because every one of these values is
//! generated here with at least 192 random bits: no dictionary or brute force reaches a
//! preimage, so a key would add a secret to manage without adding protection. A dump of Redis
//! alone therefore lets nobody use them, and a lookup stays one round trip (hash, then `GET`).
//! User codes (RFC 8628) are short by design and stored as they are; they are not bearer
//! secrets: approving one needs a signed-in user.
//!
//! **Cluster.** Codes, tokens, families, devices and states carry their own id as hash tag
//! (see [`KeySpace::spread_prefix`]), so they spread over the cluster; every script touches
//! keys of one of those tags only.

use std::fmt;
use std::sync::LazyLock;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use redis::{Cmd, Pipeline, Script, ScriptInvocation};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::keys::KeySpace;
use crate::model::{Record, Secret, Timestamp};

static CODE_CONSUME: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/code_consume.lua")));
static CODE_BIND_FAMILY: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/code_bind_family.lua")));
static REFRESH_ROTATE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/refresh_rotate.lua")));
static FAMILY_REVOKE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/family_revoke.lua")));
static DEVICE_DECIDE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/device_decide.lua")));
static DEVICE_POLL: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/device_poll.lua")));

/// RFC 8628's suggested user-code alphabet: consonants only, no look-alikes, no words.
const USER_CODE_ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";
const USER_CODE_LENGTH: usize = 8;

/// `n` random bytes from the operating system, base64url-encoded.
pub fn random_token(n: usize) -> Result<String> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).map_err(|e| Error::Redis {
        reason: format!("no randomness from the operating system: {e}"),
    })?;
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

/// A new authorization code: its issue time (Unix s, 8 bytes) and 24 random bytes. The time
/// lets an unknown code be told apart from an expired one without storing anything.
pub fn new_code(now: i64) -> Result<String> {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&now.to_be_bytes());
    getrandom::fill(&mut bytes[8..]).map_err(|e| Error::Redis {
        reason: format!("no randomness from the operating system: {e}"),
    })?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// When `code` was issued, if it is one of ours.
pub fn code_issued_at(code: &str) -> Option<i64> {
    let bytes = URL_SAFE_NO_PAD.decode(code).ok()?;
    let stamp: [u8; 8] = bytes.get(..8)?.try_into().ok()?;
    (bytes.len() == 32).then(|| i64::from_be_bytes(stamp))
}

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

/// A new user code, `XXXX-XXXX`, from RFC 8628's consonant alphabet.
pub fn new_user_code() -> Result<String> {
    let mut bytes = [0u8; USER_CODE_LENGTH];
    getrandom::fill(&mut bytes).map_err(|e| Error::Redis {
        reason: format!("no randomness from the operating system: {e}"),
    })?;
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

fn non_empty(field: &'static str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        Err(Error::invalid(field, "must not be empty"))
    } else {
        Ok(())
    }
}

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
#[allow(missing_docs)] // RFC 7591 client metadata
pub struct OAuthClient {
    pub client_id: String,
    #[serde(default)]
    pub client_secret_hash: Option<String>,
    #[serde(default)]
    pub client_name: String,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub grant_types: Vec<String>,
    #[serde(default)]
    pub scope: String,
    #[serde(default)]
    pub token_endpoint_auth_method: String,
    #[serde(default)]
    pub created_at: Option<Timestamp>,
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

    fn id(&self) -> &str {
        &self.client_id
    }

    fn normalize(&mut self) -> Result<()> {
        crate::model::id_key("client_id", &self.client_id)?;
        if self.redirect_uris.is_empty() {
            return Err(Error::invalid("redirect_uris", "needs at least one URI"));
        }
        for uri in &self.redirect_uris {
            let parsed = url::Url::parse(uri).map_err(|e| Error::invalid("redirect_uris", e))?;
            if parsed.fragment().is_some() {
                return Err(Error::invalid("redirect_uris", "must not have a fragment"));
            }
        }
        Ok(())
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
    /// The record to store and the secret to return.
    pub fn into_client(self, now: Timestamp) -> Result<RegisteredClient> {
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

/// What an authorization code grants, bound when it is issued.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)] // RFC 6749 / RFC 7636 parameters
pub struct CodeGrant {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub user: String,
    pub code_challenge: String,
    pub code_challenge_method: String,
}

impl CodeGrant {
    /// Checks the grant before it is stored.
    pub fn check(&self) -> Result<()> {
        non_empty("client_id", &self.client_id)?;
        non_empty("redirect_uri", &self.redirect_uri)?;
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

/// Decodes the consume script's reply; `code` and `now` tell expired from unknown.
pub fn code_redemption(
    reply: Vec<String>,
    key: &str,
    code: &str,
    now: i64,
    code_ttl: Duration,
) -> Result<CodeRedemption> {
    let mut parts = reply.into_iter();
    Ok(match (parts.next().as_deref(), parts.next()) {
        (Some("redeemed"), Some(record)) => CodeRedemption::Redeemed(
            serde_json::from_str(&record).map_err(|e| Error::corrupt(key, e))?,
        ),
        (Some("replayed"), family) => CodeRedemption::Replayed {
            family: family.filter(|f| !f.is_empty()),
        },
        (Some("wrong_client"), _) => CodeRedemption::WrongClient,
        (Some("wrong_redirect_uri"), _) => CodeRedemption::WrongRedirectUri,
        (Some("unknown"), _) => match code_issued_at(code) {
            Some(issued) if issued <= now && now - issued < 86_400 * 366 => {
                let ttl = i64::try_from(code_ttl.as_secs()).unwrap_or(i64::MAX);
                if now - issued >= ttl {
                    CodeRedemption::Expired
                } else {
                    CodeRedemption::Unknown
                }
            }
            _ => CodeRedemption::Unknown,
        },
        (other, _) => {
            return Err(Error::Redis {
                reason: format!("unexpected code reply {other:?}"),
            })
        }
    })
}

/// Introspection data of an access token, stored at `oauth:token:{jti}` for its lifetime.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)] // RFC 7662 fields
pub struct AccessToken {
    pub jti: String,
    pub client_id: String,
    pub user: String,
    pub scope: String,
    pub issued_at: Timestamp,
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
/// one, by family: one pipeline, one round trip.
pub fn store_access_token(
    keys: &KeySpace,
    token: &AccessToken,
    json: &str,
    now_ms: i64,
    expires_ms: i64,
) -> Pipeline {
    let ttl_secs = (expires_ms - now_ms).max(1000) / 1000 + 1;
    let mut pipe = redis::pipe();
    pipe.cmd("SET")
        .arg(keys.oauth_token(&token.jti))
        .arg(json)
        .arg("EX")
        .arg(ttl_secs)
        .ignore();
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
    pipe
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

/// `DEL` of each key, pipelined: one round trip. Reply: one count per key.
pub fn delete_each(keys: impl IntoIterator<Item = String>) -> Pipeline {
    let mut pipe = redis::pipe();
    for key in keys {
        pipe.del(key);
    }
    pipe
}

/// The live members of a grant index (expiry after `now_ms`).
pub fn live_grants(index: &str, now_ms: i64) -> Cmd {
    let mut cmd = redis::cmd("ZRANGEBYSCORE");
    cmd.arg(index).arg(now_ms).arg("+inf");
    cmd
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

/// The rotation script call for a presented token's hash and its successor's.
pub fn rotate_family(
    keys: &KeySpace,
    family: &str,
    presented_hash: &str,
    successor_hash: &str,
    now_ms: i64,
    grace: Duration,
    client_id: &str,
) -> ScriptInvocation<'static> {
    let mut call = REFRESH_ROTATE.prepare_invoke();
    call.key(keys.oauth_family(family))
        .key(keys.oauth_family_used(family))
        .arg(presented_hash)
        .arg(successor_hash)
        .arg(now_ms)
        .arg(u64::try_from(grace.as_millis()).unwrap_or(u64::MAX))
        .arg(client_id);
    call
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

/// Decodes the rotation script's reply.
pub fn rotation_reply(reply: Vec<String>, family: &str) -> Result<RotationReply> {
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
        other => {
            return Err(Error::Redis {
                reason: format!("unexpected rotation reply `{other}`"),
            })
        }
    })
}

/// Marks the family revoked (if it still exists) and names its access tokens. Reply: decode
/// with [`family_revocation`].
pub fn revoke_family(keys: &KeySpace, family: &str) -> ScriptInvocation<'static> {
    let mut call = FAMILY_REVOKE.prepare_invoke();
    call.key(keys.oauth_family(family))
        .key(keys.oauth_family_tokens(family));
    call
}

/// Whether the revocation script revoked a live family, and the jtis to revoke with it.
pub fn family_revocation(reply: Vec<String>) -> (bool, Vec<String>) {
    let mut parts = reply.into_iter();
    let revoked = parts.next().as_deref() == Some("1");
    (revoked, parts.collect())
}

/// The consume script call for a code.
pub fn consume_code(
    keys: &KeySpace,
    code: &str,
    client_id: &str,
    redirect_uri: &str,
) -> ScriptInvocation<'static> {
    let mut call = CODE_CONSUME.prepare_invoke();
    call.key(keys.oauth_code(&secret_hash(code)))
        .arg(client_id)
        .arg(redirect_uri);
    call
}

/// Records on a redeemed code which family was issued from it.
pub fn bind_code_family(keys: &KeySpace, code: &str, family: &str) -> ScriptInvocation<'static> {
    let mut call = CODE_BIND_FAMILY.prepare_invoke();
    call.key(keys.oauth_code(&secret_hash(code))).arg(family);
    call
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

/// Creates a device authorization record.
pub fn create_device(
    keys: &KeySpace,
    device_hash: &str,
    user_code: &str,
    client_id: &str,
    scope: &str,
    interval: Duration,
    lifetime: Duration,
) -> Pipeline {
    let key = keys.device_code(device_hash);
    let mut pipe = redis::pipe();
    pipe.atomic()
        .hset_multiple(
            &key,
            &[
                ("client_id", client_id),
                ("scope", scope),
                ("user_code", user_code),
                ("status", "pending"),
                ("user", ""),
                ("last_poll", "0"),
            ],
        )
        .ignore()
        .hset(&key, "interval", interval.as_secs().max(1))
        .ignore()
        .cmd("EXPIRE")
        .arg(&key)
        .arg(lifetime.as_secs().max(1))
        .ignore();
    pipe
}

/// Approves (with the user) or denies the device authorization stored under `device_hash`.
pub fn decide_device(
    keys: &KeySpace,
    device_hash: &str,
    approved_by: Option<&str>,
) -> ScriptInvocation<'static> {
    let mut call = DEVICE_DECIDE.prepare_invoke();
    call.key(keys.device_code(device_hash))
        .arg(if approved_by.is_some() {
            "approved"
        } else {
            "denied"
        })
        .arg(approved_by.unwrap_or_default());
    call
}

/// The poll script call for a device code.
pub fn poll_device(
    keys: &KeySpace,
    device_code: &str,
    client_id: &str,
    now_ms: i64,
) -> ScriptInvocation<'static> {
    let mut call = DEVICE_POLL.prepare_invoke();
    call.key(keys.device_code(&secret_hash(device_code)))
        .arg(client_id)
        .arg(now_ms);
    call
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

/// Decodes the decide script's reply.
pub fn device_decision(reply: String) -> DeviceDecision {
    match reply.as_str() {
        "ok" => DeviceDecision::Recorded,
        "unknown" => DeviceDecision::Unknown,
        _ => DeviceDecision::AlreadyDecided(reply),
    }
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

/// Decodes the poll script's reply.
pub fn device_poll(reply: Vec<String>) -> Result<DevicePoll> {
    let mut parts = reply.into_iter();
    let status = parts.next().unwrap_or_default();
    Ok(match status.as_str() {
        "pending" => DevicePoll::Pending,
        "slow_down" => DevicePoll::SlowDown {
            interval: Duration::from_secs(parts.next().and_then(|s| s.parse().ok()).unwrap_or(5)),
        },
        "denied" => DevicePoll::Denied,
        "approved" => DevicePoll::Approved {
            user: parts.next().unwrap_or_default(),
            scope: parts.next().unwrap_or_default(),
        },
        "redeemed" => DevicePoll::AlreadyRedeemed,
        "expired" => DevicePoll::Expired,
        "wrong_client" => DevicePoll::WrongClient,
        other => {
            return Err(Error::Redis {
                reason: format!("unexpected device poll reply `{other}`"),
            })
        }
    })
}

/// `GETDEL key`: read a one-shot value and remove it in one step.
pub fn take(key: &str) -> Cmd {
    let mut cmd = redis::cmd("GETDEL");
    cmd.arg(key);
    cmd
}

/// `SET key value NX EX ttl`: create a short-lived value only if new.
pub fn create_with_ttl(key: &str, value: &str, ttl: Duration) -> Cmd {
    let mut cmd = redis::cmd("SET");
    cmd.arg(key)
        .arg(value)
        .arg("NX")
        .arg("EX")
        .arg(ttl.as_secs().max(1));
    cmd
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

    #[test]
    fn codes_carry_their_issue_time() {
        let code = new_code(1_755_681_302).unwrap();
        assert_eq!(code.len(), 43);
        assert_eq!(code_issued_at(&code), Some(1_755_681_302));
        assert_eq!(code_issued_at("not-a-code"), None);
        assert_ne!(new_code(1).unwrap(), new_code(1).unwrap());
    }

    #[test]
    fn expired_and_unknown_codes_differ() {
        let ttl = Duration::from_secs(600);
        let old = new_code(1_000).unwrap();
        let fresh = new_code(2_000).unwrap();
        let unknown = || vec!["unknown".to_owned()];
        assert_eq!(
            code_redemption(unknown(), "k", &old, 2_000, ttl).unwrap(),
            CodeRedemption::Expired
        );
        assert_eq!(
            code_redemption(unknown(), "k", &fresh, 2_010, ttl).unwrap(),
            CodeRedemption::Unknown
        );
        assert_eq!(
            code_redemption(unknown(), "k", "forged", 2_010, ttl).unwrap(),
            CodeRedemption::Unknown
        );
    }

    #[test]
    fn refresh_tokens_name_their_family() {
        let token = new_refresh_token("fam_1").unwrap();
        assert_eq!(family_of(&token), Some("fam_1"));
        assert_eq!(family_of("nodot"), None);
        assert_eq!(family_of("a.b{c}"), None);
    }

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
