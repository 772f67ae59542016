//! Every Redis key the crate touches, built in one pure place.
//!
//! The record keys are exactly the existing deployment's, so its data opens unchanged and its
//! old readers keep working. Each record family's marker and index set are declared once,
//! in [`crate::model::family`]; the index sets (and `index:cert-expiry`) are this crate's
//! own, bar the deployment's `auth:config:index`: they make listing one round trip instead
//! of a keyspace scan.
//!
//! With a hash-tag prefix such as `{gw}:`, every configuration key lands in one Redis Cluster
//! slot, so the multi-key scripts stay legal on a cluster; OAuth state spreads over the slots
//! by its own ids (see [`KeySpace::oauth_code`]). Tests check the slot of each key.

use base64::Engine;

use crate::model::family::{self, Family};

/// The index layout [`KeySpace::index_version`] records: 2 = proxies, routes and certificates.
pub const INDEX_VERSION: u32 = 2;

/// Key names under one prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeySpace {
    prefix: String,
}

impl KeySpace {
    /// Keys under `prefix` (empty for the existing deployment's layout).
    pub fn new(prefix: &str) -> Self {
        KeySpace {
            prefix: prefix.to_owned(),
        }
    }

    /// The prefix every key starts with.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn key(&self, parts: &[&str]) -> String {
        let mut key = self.prefix.clone();
        for part in parts {
            key.push_str(part);
        }
        key
    }

    /// The key of `family`'s record `id`: `{prefix}{marker}{id}`.
    pub(crate) fn record(&self, family: &Family, id: &str) -> String {
        self.key(&[family.marker, id])
    }

    /// The prefix of every record key of `family`: record key = prefix + id.
    pub(crate) fn record_prefix(&self, family: &Family) -> String {
        self.key(&[family.marker])
    }

    /// The index set of `family`.
    pub(crate) fn index(&self, family: &Family) -> String {
        self.key(&[family.index])
    }

    /// The `SCAN MATCH` pattern of `family`'s keys.
    pub(crate) fn scan_pattern(&self, family: &Family) -> String {
        self.pattern(family.marker)
    }

    /// A `SCAN MATCH` pattern for every key under this prefix that begins with `start`
    /// (`lock:` for the locks): the prefix's glob characters escaped, so it matches only
    /// itself.
    pub fn pattern(&self, start: &str) -> String {
        format!("{}{start}*", glob_escape(&self.prefix))
    }

    /// The id in a key matched by [`scan_pattern`](Self::scan_pattern), if it is a record's
    /// key (ids never contain `:`; the family's other keys do).
    pub(crate) fn id_of(&self, family: &Family, key: &str) -> Option<String> {
        let id = key
            .strip_prefix(&self.prefix)?
            .strip_prefix(family.marker)?;
        (!id.is_empty() && !id.contains(':')).then(|| id.to_owned())
    }

    /// `proxy:{hostname}`: the JSON proxy target.
    pub fn proxy(&self, hostname: &str) -> String {
        self.record(&family::PROXIES, hostname)
    }

    /// The set of hostnames that have a proxy record.
    pub fn proxy_index(&self) -> String {
        self.index(&family::PROXIES)
    }

    /// `route:{route_id}`: the JSON route.
    pub fn route(&self, route_id: &str) -> String {
        self.record(&family::ROUTES, route_id)
    }

    /// `route:priority:{100 - priority, %04d}:{route_id}`, the legacy ordering index.
    pub fn route_priority(&self, priority: u16, route_id: &str) -> String {
        let rank = format!("{:04}", 100 - i32::from(priority));
        self.key(&["route:priority:", &rank, ":", route_id])
    }

    /// `route:unique:{base64(path_pattern)}:{priority}`: who owns a path at a priority.
    pub fn route_unique(&self, path_pattern: &str, priority: u16) -> String {
        let encoded = base64::engine::general_purpose::STANDARD.encode(path_pattern);
        self.key(&["route:unique:", &encoded, ":", &priority.to_string()])
    }

    /// The set of route ids that have a route record.
    pub fn route_index(&self) -> String {
        self.index(&family::ROUTES)
    }

    /// Marks that the index sets hold every legacy record (see `Storage::reindex`); holds
    /// the index layout version.
    pub fn index_version(&self) -> String {
        self.key(&["meta:index-version"])
    }

    /// `cert:{cert_name}`: the JSON certificate.
    pub fn cert(&self, cert_name: &str) -> String {
        self.record(&family::CERTIFICATES, cert_name)
    }

    /// `cert:domain:{domain}`: the certificate that owns a domain.
    pub fn cert_domain(&self, domain: &str) -> String {
        self.key(&["cert:domain:", domain])
    }

    /// The set of certificate names that have a record.
    pub fn cert_index(&self) -> String {
        self.index(&family::CERTIFICATES)
    }

    /// Sorted set of certificate names by expiry (Unix seconds), for renewal scans.
    pub fn cert_expiry(&self) -> String {
        self.key(&["index:cert-expiry"])
    }

    /// `challenge:{token}`: a pending ACME HTTP-01 challenge.
    pub fn challenge(&self, token: &str) -> String {
        self.key(&["challenge:", token])
    }

    /// `account:{provider}:{email}`: an ACME account key (PEM).
    pub fn account_key(&self, provider: &str, email: &str) -> String {
        self.key(&["account:", provider, ":", email])
    }

    /// What precedes `{provider}:{email}` in an ACME account key.
    pub(crate) fn account_key_prefix(&self) -> String {
        self.key(&["account:"])
    }

    /// `lock:{name}`: who holds a renewal lock (always with a TTL).
    pub fn lock(&self, name: &str) -> String {
        self.key(&["lock:", name])
    }

    /// `lock:fence:{name}`: the newest fencing token issued for a lock.
    pub fn fence(&self, name: &str) -> String {
        self.key(&["lock:fence:", name])
    }

    /// `auth:config:pattern:{id}`: a JSON auth config.
    pub fn auth_config(&self, id: &str) -> String {
        self.record(&family::AUTH_CONFIGS, id)
    }

    /// `auth:config:index`: the set of auth config ids (the deployment's own index).
    pub fn auth_config_index(&self) -> String {
        self.index(&family::AUTH_CONFIGS)
    }

    /// The prefix of the high-volume OAuth families: the configured prefix without its hash
    /// tag braces, so that each key's own `{id}` tag decides its slot and tokens spread over
    /// the cluster instead of crowding the configuration's slot.
    pub(crate) fn spread_prefix(&self) -> String {
        self.prefix.replace(['{', '}'], "")
    }

    fn spread(&self, family: &str, id: &str) -> String {
        format!("{}{family}:{{{id}}}", self.spread_prefix())
    }

    /// `oauth:client:{client_id}`: a registered client (configuration slot).
    pub fn oauth_client(&self, client_id: &str) -> String {
        self.record(&family::OAUTH_CLIENTS, client_id)
    }

    /// The set of registered client ids.
    pub fn oauth_client_index(&self) -> String {
        self.index(&family::OAUTH_CLIENTS)
    }

    /// `oauth:code:{hash}`: an authorization code, under the hash of its value.
    pub fn oauth_code(&self, code_hash: &str) -> String {
        self.spread("oauth:code", code_hash)
    }

    /// `oauth:token:{jti}`: an access token's introspection data.
    pub fn oauth_token(&self, jti: &str) -> String {
        self.spread("oauth:token", jti)
    }

    /// The access tokens and refresh families of a user, scored by expiry (ms).
    pub fn oauth_user_grants(&self, user: &str) -> String {
        self.spread("oauth:user", user)
    }

    /// The access tokens and refresh families of a client, scored by expiry (ms).
    pub fn oauth_client_grants(&self, client_id: &str) -> String {
        self.spread("oauth:client-grants", client_id)
    }

    /// `oauth:refresh:{family}`: a refresh token family (hash of its current token and state).
    pub fn oauth_family(&self, family: &str) -> String {
        self.spread("oauth:refresh", family)
    }

    /// The hashes of a family's used refresh tokens (same slot as the family).
    pub fn oauth_family_used(&self, family: &str) -> String {
        format!("{}:used", self.oauth_family(family))
    }

    /// The access tokens issued in a family (same slot as the family).
    pub fn oauth_family_tokens(&self, family: &str) -> String {
        format!("{}:tokens", self.oauth_family(family))
    }

    /// `device_code:{hash}`: a device authorization, under the hash of the device code.
    pub fn device_code(&self, device_code_hash: &str) -> String {
        self.spread("device_code", device_code_hash)
    }

    /// `device_user:{user_code}`: the device code hash a user code stands for.
    pub fn device_user_code(&self, user_code: &str) -> String {
        self.spread("device_user", user_code)
    }

    /// `oauth:state:{hash}`: an OAuth state parameter's payload.
    pub fn oauth_state(&self, state_hash: &str) -> String {
        self.spread("oauth:state", state_hash)
    }

    /// `meta:revision`: the store's revision, incremented by every change to proxies, routes,
    /// certificates and auth configs.
    pub fn revision(&self) -> String {
        self.key(&["meta:revision"])
    }

    /// `meta:changes`: the change feed, a capped stream whose entry ids are the revisions.
    pub fn changes(&self) -> String {
        self.key(&["meta:changes"])
    }

    /// `meta:history`: the configuration's history, a stream whose entry ids are the
    /// revisions, like the feed's, kept longer (see `StorageConfig::history_changes`).
    pub fn history(&self) -> String {
        self.key(&["meta:history"])
    }

    /// `meta:migration`: the migration phase (`finished`, or absent for the mixed phase).
    pub fn migration_phase(&self) -> String {
        self.key(&["meta:migration"])
    }
}

/// Escapes Redis glob metacharacters so a prefix matches only itself.
fn glob_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_layout_matches_the_fixture_keys() {
        let keys = KeySpace::new("");
        assert_eq!(keys.proxy("localhost"), "proxy:localhost");
        assert_eq!(keys.route("token"), "route:token");
        assert_eq!(keys.cert("example-cert"), "cert:example-cert");
        assert_eq!(
            keys.cert_domain("www.example.com"),
            "cert:domain:www.example.com"
        );
        assert_eq!(keys.challenge("Jx7aQ"), "challenge:Jx7aQ");
        assert_eq!(
            keys.account_key("acme-v02_api_letsencrypt_org", "admin@example.com"),
            "account:acme-v02_api_letsencrypt_org:admin@example.com"
        );
        assert_eq!(keys.auth_config("x"), "auth:config:pattern:x");
        assert_eq!(
            keys.id_of(&family::CERTIFICATES, "cert:example-cert"),
            Some("example-cert".into())
        );
        assert_eq!(
            keys.id_of(&family::CERTIFICATES, "cert:domain:example.com"),
            None
        );
        assert_eq!(
            keys.route_priority(95, "token"),
            "route:priority:0005:token"
        );
        assert_eq!(
            keys.route_priority(150, "metrics"),
            "route:priority:-050:metrics"
        );
        assert_eq!(keys.route_priority(0, "x"), "route:priority:0100:x");
        assert_eq!(keys.route_unique("/token", 95), "route:unique:L3Rva2Vu:95");
        assert_eq!(
            keys.route_unique("/metrics", 150),
            "route:unique:L21ldHJpY3M=:150"
        );
        assert_eq!(
            keys.route_unique("^/admin/(users|keys)$", 60),
            "route:unique:Xi9hZG1pbi8odXNlcnN8a2V5cykk:60"
        );
    }

    #[test]
    fn keys_parse_back() {
        let keys = KeySpace::new("{gw}:");
        let proxies = &family::PROXIES;
        assert_eq!(
            keys.id_of(proxies, "{gw}:proxy:a.example"),
            Some("a.example".into())
        );
        assert_eq!(keys.id_of(proxies, "{gw}:proxy:a:b"), None);
        assert_eq!(keys.id_of(proxies, "proxy:a.example"), None);
        let routes = &family::ROUTES;
        assert_eq!(
            keys.id_of(routes, "{gw}:route:metrics"),
            Some("metrics".into())
        );
        assert_eq!(keys.id_of(routes, "{gw}:route:priority:-050:metrics"), None);
        assert_eq!(keys.id_of(routes, "{gw}:route:unique:L3Rva2Vu:95"), None);
        assert_eq!(
            keys.id_of(&family::AUTH_CONFIGS, "{gw}:auth:config:pattern:admin-area"),
            Some("admin-area".into())
        );
    }

    /// Redis Cluster's slot of a key: CRC16 of its hash tag (or of the key) mod 16384.
    fn slot(key: &str) -> u16 {
        let tagged = key
            .find('{')
            .and_then(|open| {
                let rest = &key[open + 1..];
                rest.find('}').map(|close| &rest[..close])
            })
            .filter(|tag| !tag.is_empty())
            .unwrap_or(key);
        crc16::State::<crc16::XMODEM>::calculate(tagged.as_bytes()) % 16384
    }

    #[test]
    fn slot_function_matches_redis() {
        // Values from the Redis Cluster specification and `CLUSTER KEYSLOT`.
        assert_eq!(slot("123456789"), 12739);
        assert_eq!(slot("foo"), 12182);
        assert_eq!(slot("{user1000}.following"), slot("{user1000}.followers"));
    }

    #[test]
    fn a_hash_tag_prefix_keeps_every_key_of_an_atomic_operation_in_one_slot() {
        let keys = KeySpace::new("{gw}:");
        let all = [
            keys.proxy("localhost"),
            keys.proxy("api.example.com"),
            keys.proxy_index(),
            keys.route("token"),
            keys.route_priority(95, "token"),
            keys.route_unique("/token", 95),
            keys.route_priority(150, "metrics"),
            keys.route_unique("^/admin/(users|keys)$", 60),
            keys.route_index(),
            keys.index_version(),
            keys.migration_phase(),
            keys.revision(),
            keys.changes(),
            keys.history(),
            keys.cert("example-cert"),
            keys.cert_domain("*.example.com"),
            keys.cert_index(),
            keys.cert_expiry(),
            keys.lock("example-cert"),
            keys.fence("example-cert"),
            keys.challenge("Jx7aQ"),
            keys.account_key("acme-v02_api_letsencrypt_org", "admin@example.com"),
            keys.auth_config("api"),
            keys.auth_config_index(),
        ];
        let expected = slot("{gw}:anything");
        for key in &all {
            assert_eq!(slot(key), expected, "{key}");
        }
        // Without a tag the families spread: one slot cannot be assumed.
        let plain = KeySpace::new("");
        assert_ne!(slot(&plain.proxy("localhost")), slot(&plain.route("token")));
    }

    #[test]
    fn oauth_keys_spread_by_their_own_id_and_each_operation_stays_in_one_slot() {
        let keys = KeySpace::new("{gw}:");
        assert_eq!(keys.oauth_code("abc"), "gw:oauth:code:{abc}");
        assert_eq!(slot(&keys.oauth_code("abc")), slot("abc"));
        // A rotation touches the family and its used-token set: one slot.
        assert_eq!(
            slot(&keys.oauth_family("F1")),
            slot(&keys.oauth_family_used("F1"))
        );
        assert_eq!(
            slot(&keys.oauth_family("F1")),
            slot(&keys.oauth_family_tokens("F1"))
        );
        // Clients are configuration: the configuration slot, with their index.
        assert_eq!(
            slot(&keys.oauth_client("c")),
            slot(&keys.oauth_client_index())
        );
        assert_eq!(
            slot(&keys.oauth_client("c")),
            slot(&keys.proxy("localhost"))
        );
        // No hot slot: a thousand codes, tokens or families land on many slots.
        for key_of in [
            KeySpace::oauth_code as fn(&KeySpace, &str) -> String,
            KeySpace::oauth_token,
            KeySpace::oauth_family,
            KeySpace::device_code,
            KeySpace::oauth_state,
        ] {
            let slots: std::collections::HashSet<u16> = (0..1000)
                .map(|i| slot(&key_of(&keys, &format!("id-{i}"))))
                .collect();
            assert!(slots.len() > 900, "{} slots", slots.len());
        }
    }

    #[test]
    fn scan_patterns_escape_the_prefix() {
        assert_eq!(
            KeySpace::new("a*[b]:").scan_pattern(&family::PROXIES),
            "a\\*\\[b\\]:proxy:*"
        );
        assert_eq!(
            KeySpace::new("").scan_pattern(&family::AUTH_CONFIGS),
            "auth:config:pattern:*"
        );
    }
}
