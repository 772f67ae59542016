//! Initialization as a pure decision: given what Redis holds, what must be written.
//!
//! This is where the old layers drifted (only the blocking one seeded `localhost`), so it is
//! written once, without I/O, and both modes run the same `SeedPlan`. The defaults come from
//! the compile-time table in `defaults.rs`.
//!
//! Rules:
//! - a missing default proxy or route is created;
//! - an existing default proxy keeps every field the operator set; it only gains the required
//!   `auth_excluded_paths` it lacks (a superset: operator paths stay) and resource metadata
//!   where its own is empty;
//! - an existing default route is left alone.
//!
//! The same repair runs on every read and every write of a default proxy
//! (`Record::keep_required`), so between two checks no reader ever sees `localhost` without
//! its required paths, whoever wrote it last; the check then repairs the stored record.

use serde_json::{Map, Value};

use crate::defaults::{DEFAULT_PROXIES, DEFAULT_ROUTES};
use crate::error::Result;
use crate::keys::{KeySpace, INDEX_VERSION};
use crate::model::{self, ProxyTarget, Route, Timestamp};

/// A default proxy, as declared in the seeding table.
#[derive(Debug)]
pub struct DefaultProxy {
    /// Its hostname.
    pub hostname: &'static str,
    /// Where it forwards.
    pub target_url: &'static str,
    /// Serve plain HTTP.
    pub enable_http: bool,
    /// Serve HTTPS.
    pub enable_https: bool,
    /// Pass the client's Host header on.
    pub preserve_host_header: bool,
    /// Require authentication.
    pub auth_enabled: bool,
    /// Paths that must always be served without authentication.
    pub auth_excluded_paths: &'static [&'static str],
    /// OAuth protected-resource metadata, if it publishes any.
    pub resource: Option<DefaultResource>,
}

/// Protected-resource metadata of a default proxy.
#[derive(Debug)]
pub struct DefaultResource {
    /// The resource endpoint path.
    pub endpoint: &'static str,
    /// Scopes the resource accepts.
    pub scopes: &'static [&'static str],
    /// Protocol versions it speaks.
    pub versions: &'static [&'static str],
    /// How bearer tokens may be sent.
    pub bearer_methods: &'static [&'static str],
    /// Suffix of the documentation URL.
    pub documentation_suffix: Option<&'static str>,
    /// Server information, as string pairs.
    pub server_info: &'static [(&'static str, &'static str)],
    /// Extra metadata, as string pairs.
    pub custom_metadata: &'static [(&'static str, &'static str)],
}

/// A default route, as declared in the seeding table.
#[derive(Debug)]
pub struct DefaultRoute {
    /// Its id.
    pub route_id: &'static str,
    /// The path it matches.
    pub path: &'static str,
    /// Its priority.
    pub priority: u16,
    /// The URL it forwards to.
    pub url: &'static str,
    /// What it is for.
    pub description: &'static str,
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| (*item).to_owned()).collect()
}

fn object(pairs: &[(&str, &str)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(key, value)| ((*key).to_owned(), Value::from(*value)))
        .collect()
}

impl DefaultProxy {
    /// The record to create when the proxy is missing.
    pub fn to_proxy_target(&self) -> ProxyTarget {
        let mut proxy = ProxyTarget {
            enable_http: self.enable_http,
            enable_https: self.enable_https,
            preserve_host_header: self.preserve_host_header,
            auth_enabled: self.auth_enabled,
            auth_excluded_paths: Some(strings(self.auth_excluded_paths)),
            created_by: Some("system".to_owned()),
            ..ProxyTarget::new(self.hostname, self.target_url)
        };
        self.fill_resource_metadata(&mut proxy);
        proxy
    }

    /// Brings an existing record up to the required defaults without overriding the operator.
    /// Returns whether anything changed.
    pub(crate) fn repair(&self, proxy: &mut ProxyTarget) -> bool {
        let paths = proxy.auth_excluded_paths.get_or_insert_with(Vec::new);
        let before = paths.len();
        for required in self.auth_excluded_paths {
            if !paths.iter().any(|path| path == required) {
                paths.push((*required).to_owned());
            }
        }
        let added_paths = paths.len() != before;
        let filled_metadata = self.fill_resource_metadata(proxy);
        added_paths || filled_metadata
    }

    /// Sets each resource-metadata field that is empty. Returns whether any was.
    fn fill_resource_metadata(&self, proxy: &mut ProxyTarget) -> bool {
        let Some(resource) = &self.resource else {
            return false;
        };
        let mut changed = false;
        changed |= fill(&mut proxy.resource_endpoint, || {
            resource.endpoint.to_owned()
        });
        changed |= fill(&mut proxy.resource_scopes, || strings(resource.scopes));
        changed |= fill(&mut proxy.resource_versions, || strings(resource.versions));
        changed |= fill(&mut proxy.resource_bearer_methods, || {
            strings(resource.bearer_methods)
        });
        if let Some(suffix) = resource.documentation_suffix {
            changed |= fill(&mut proxy.resource_documentation_suffix, || {
                suffix.to_owned()
            });
        }
        changed |= fill(&mut proxy.resource_server_info, || {
            object(resource.server_info)
        });
        changed |= fill(&mut proxy.resource_custom_metadata, || {
            object(resource.custom_metadata)
        });
        changed
    }
}

/// Something that can be empty: a missing value or an empty collection.
trait Emptiable {
    fn is_blank(&self) -> bool;
}

impl Emptiable for String {
    fn is_blank(&self) -> bool {
        self.is_empty()
    }
}

impl<T> Emptiable for Vec<T> {
    fn is_blank(&self) -> bool {
        self.is_empty()
    }
}

impl Emptiable for Map<String, Value> {
    fn is_blank(&self) -> bool {
        self.is_empty()
    }
}

fn fill<T: Emptiable>(slot: &mut Option<T>, default: impl FnOnce() -> T) -> bool {
    if slot.as_ref().is_some_and(|value| !value.is_blank()) {
        return false;
    }
    let value = default();
    if value.is_blank() {
        return false;
    }
    *slot = Some(value);
    true
}

impl DefaultRoute {
    /// The record to create when the route is missing.
    pub fn to_route(&self) -> Route {
        Route {
            description: self.description.to_owned(),
            created_by: Some("system".to_owned()),
            created_at: Some(Timestamp::now()),
            ..Route::to_url(self.route_id, self.path, self.priority, self.url)
        }
    }
}

/// The default proxy named `hostname` (any case, with or without an FQDN's final dot), if
/// it is one: a record that must keep its required excluded paths on every read and write.
pub(crate) fn default_proxy(hostname: &str) -> Option<&'static DefaultProxy> {
    let hostname = hostname.strip_suffix('.').unwrap_or(hostname);
    DEFAULT_PROXIES
        .iter()
        .find(|default| default.hostname.eq_ignore_ascii_case(hostname))
}

/// The keys whose values decide the plan, in the order [`SeedPlan::new`] expects them: the
/// index marker, then each default proxy, then each default route. One `MGET`.
pub(crate) fn snapshot_keys(keys: &KeySpace) -> Vec<String> {
    std::iter::once(keys.index_version())
        .chain(DEFAULT_PROXIES.iter().map(|p| keys.proxy(p.hostname)))
        .chain(DEFAULT_ROUTES.iter().map(|r| keys.route(r.route_id)))
        .collect()
}

/// A default proxy that exists but lacks required defaults.
#[derive(Debug)]
pub(crate) struct ProxyRepair {
    /// Its hostname.
    pub hostname: String,
    /// The value it was read as; the repair applies only if it still holds it.
    pub expected: Vec<u8>,
    /// The repaired record, encoded.
    pub json: String,
}

/// What initialization must write, decided from one snapshot.
#[derive(Debug, Default)]
pub(crate) struct SeedPlan {
    /// The legacy records are not yet in the index sets (see `Storage::reindex`).
    pub needs_reindex: bool,
    /// Missing default proxies: hostname and encoded record.
    pub create_proxies: Vec<(String, String)>,
    /// Existing default proxies to bring up to the defaults.
    pub repair_proxies: Vec<ProxyRepair>,
    /// Missing default routes, with their encoded records.
    pub create_routes: Vec<(Route, String)>,
}

impl SeedPlan {
    /// Decides from the values at [`snapshot_keys`]. A default proxy whose stored record is
    /// corrupt is an error naming its key: repairing it would overwrite what cannot be read.
    pub(crate) fn new(keys: &KeySpace, snapshot: &[Option<Vec<u8>>]) -> Result<Self> {
        let mut values = snapshot.iter();
        let mut plan = SeedPlan {
            needs_reindex: values.next().and_then(Option::as_deref)
                != Some(INDEX_VERSION.to_string().as_bytes()),
            ..SeedPlan::default()
        };
        for default in DEFAULT_PROXIES {
            let key = keys.proxy(default.hostname);
            match values.next().and_then(Option::as_ref) {
                None => {
                    let json = model::encode(&mut default.to_proxy_target())?;
                    plan.create_proxies
                        .push((default.hostname.to_owned(), json));
                }
                Some(raw) => {
                    let mut proxy: ProxyTarget = model::decode_as_stored(&key, raw)?;
                    if default.repair(&mut proxy) {
                        let json = model::shaped_like(model::encode(&mut proxy)?, Some(raw));
                        plan.repair_proxies.push(ProxyRepair {
                            hostname: default.hostname.to_owned(),
                            expected: raw.clone(),
                            json,
                        });
                    }
                }
            }
        }
        for default in DEFAULT_ROUTES {
            if values.next().and_then(Option::as_ref).is_none() {
                let mut route = default.to_route();
                let json = model::encode(&mut route)?;
                plan.create_routes.push((route, json));
            }
        }
        Ok(plan)
    }

    /// Whether the store is already up to date.
    pub(crate) fn is_empty(&self) -> bool {
        !self.needs_reindex
            && self.create_proxies.is_empty()
            && self.repair_proxies.is_empty()
            && self.create_routes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    fn localhost() -> &'static DefaultProxy {
        DEFAULT_PROXIES
            .iter()
            .find(|p| p.hostname == "localhost")
            .expect("localhost is a default proxy")
    }

    fn snapshot_with(proxy: Option<&str>, all_routes: bool) -> Vec<Option<Vec<u8>>> {
        let mut snapshot = vec![Some(INDEX_VERSION.to_string().into_bytes())];
        snapshot.extend(
            DEFAULT_PROXIES
                .iter()
                .map(|_| proxy.map(|p| p.as_bytes().to_vec())),
        );
        snapshot.extend(
            DEFAULT_ROUTES
                .iter()
                .map(|_| all_routes.then(|| b"{}".to_vec())),
        );
        snapshot
    }

    #[test]
    fn empty_store_creates_everything() {
        let keys = KeySpace::new("");
        let plan = SeedPlan::new(&keys, &vec![None; snapshot_keys(&keys).len()]).unwrap();
        assert!(plan.needs_reindex);
        assert_eq!(plan.create_proxies.len(), DEFAULT_PROXIES.len());
        assert_eq!(plan.create_routes.len(), DEFAULT_ROUTES.len());
        assert!(plan.repair_proxies.is_empty());
    }

    #[test]
    fn up_to_date_store_needs_nothing() {
        let mut proxy = localhost().to_proxy_target();
        let json = model::encode(&mut proxy).unwrap();
        let plan = SeedPlan::new(&KeySpace::new(""), &snapshot_with(Some(&json), true)).unwrap();
        assert!(plan.is_empty(), "{plan:?}");
    }

    #[test]
    fn repair_adds_required_paths_and_keeps_the_operators() {
        let mut proxy = ProxyTarget::new("localhost", "http://10.0.0.1:1234");
        proxy.auth_excluded_paths = Some(vec!["/operator".into(), "/token".into()]);
        proxy.resource_scopes = Some(vec!["custom".into()]);
        proxy.auth_enabled = true;
        assert!(localhost().repair(&mut proxy));
        let paths = proxy.auth_excluded_paths.clone().unwrap();
        assert_eq!(paths[0], "/operator");
        for required in localhost().auth_excluded_paths {
            assert!(paths.iter().any(|p| p == required), "{required} missing");
        }
        assert_eq!(paths.iter().filter(|p| *p == "/token").count(), 1);
        assert_eq!(proxy.target_url, "http://10.0.0.1:1234");
        assert!(proxy.auth_enabled);
        assert_eq!(proxy.resource_scopes, Some(vec!["custom".to_owned()]));
        assert_eq!(proxy.resource_endpoint.as_deref(), Some("/"));
        assert!(
            !localhost().repair(&mut proxy),
            "a second repair changes nothing"
        );
    }

    #[test]
    fn corrupt_default_proxy_is_an_error_naming_its_key() {
        let result = SeedPlan::new(&KeySpace::new("t:"), &snapshot_with(Some("{"), true));
        match result {
            Err(Error::Corrupt { key, .. }) => assert_eq!(key, "t:proxy:localhost"),
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }

    #[test]
    fn the_table_holds_the_required_defaults() {
        let localhost = localhost();
        assert_eq!(localhost.target_url, "http://127.0.0.1:9000");
        assert!(localhost.enable_http && !localhost.enable_https);
        assert!(!localhost.auth_enabled && !localhost.preserve_host_header);
        assert_eq!(localhost.auth_excluded_paths.len(), 10);
        assert_eq!(DEFAULT_ROUTES.len(), 13);
        for route in DEFAULT_ROUTES {
            let expected = if matches!(
                route.route_id,
                "acme-challenge" | "oauth-protected-resource"
            ) {
                100
            } else {
                95
            };
            assert_eq!(route.priority, expected, "{}", route.route_id);
            assert_eq!(route.url, "http://api:9000");
        }
    }
}
