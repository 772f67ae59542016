//! An immutable view of the gateway's proxies and routes at one revision, and the lookups a
//! request needs, without I/O: what [`LiveConfig`](crate::blocking::LiveConfig) swaps in
//! atomically as changes arrive.

use std::collections::HashMap;
use std::sync::Arc;

use super::{ChangeFamily, ProxyTarget, Route, RouteMode, RouteScope};

/// The proxies and routes at one store revision. Lookups on one snapshot all see that
/// revision; a newer one replaces it whole.
#[derive(Clone, Debug, Default)]
pub struct ConfigSnapshot {
    revision: u64,
    proxies: HashMap<String, Arc<ProxyTarget>>,
    /// Enabled routes in match order: priority descending, then route id.
    routes: Vec<Arc<MatchedRoute>>,
}

/// A route with its regex compiled once, when the snapshot is built.
#[derive(Debug)]
struct MatchedRoute {
    route: Route,
    regex: Option<regex::Regex>,
}

impl MatchedRoute {
    fn new(route: Route) -> Self {
        // Stored routes passed validation, which compiles the regex; one that no longer
        // compiles matches nothing rather than failing every request.
        let regex = route
            .is_regex
            .then(|| regex::Regex::new(&route.path_pattern).ok())
            .flatten();
        MatchedRoute { route, regex }
    }

    fn matches(&self, path: &str) -> bool {
        match &self.regex {
            Some(regex) => regex.is_match(path),
            None => !self.route.is_regex && path.starts_with(&self.route.path_pattern),
        }
    }
}

impl ConfigSnapshot {
    /// A snapshot of `proxies` and `routes` (disabled routes are left out) at `revision`.
    pub fn new(revision: u64, proxies: Vec<ProxyTarget>, routes: Vec<Route>) -> Self {
        let mut snapshot = ConfigSnapshot {
            revision,
            proxies: proxies
                .into_iter()
                .map(|proxy| (proxy.proxy_hostname.clone(), Arc::new(proxy)))
                .collect(),
            routes: Vec::new(),
        };
        snapshot.routes = routes
            .into_iter()
            .filter(|route| route.enabled)
            .map(|route| Arc::new(MatchedRoute::new(route)))
            .collect();
        snapshot.sort_routes();
        snapshot
    }

    /// The store revision this snapshot shows.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// The proxy for `hostname` (any case, with or without an FQDN's final dot, as a `Host`
    /// header may carry it).
    pub fn proxy(&self, hostname: &str) -> Option<&ProxyTarget> {
        if let Some(proxy) = self.proxies.get(hostname) {
            return Some(proxy);
        }
        let hostname = hostname.strip_suffix('.').unwrap_or(hostname);
        self.proxies
            .get(hostname)
            .or_else(|| self.proxies.get(&hostname.to_ascii_lowercase()))
            .map(AsRef::as_ref)
    }

    /// How many proxies it holds.
    pub fn proxy_count(&self) -> usize {
        self.proxies.len()
    }

    /// How many enabled routes it holds.
    pub fn route_count(&self) -> usize {
        self.routes.len()
    }

    /// Whether `path` on `hostname` is served without authentication (false for an unknown
    /// host: unknown means no exclusion).
    pub fn is_auth_excluded(&self, hostname: &str, path: &str) -> bool {
        self.proxy(hostname)
            .is_some_and(|proxy| proxy.is_auth_excluded(path))
    }

    /// The route that serves `path` on `hostname`: the first enabled route in match order
    /// whose scope includes the host, which the host's `route_mode` allows, and whose
    /// pattern matches (a regex, or else a path prefix).
    pub fn route_for(&self, hostname: &str, path: &str) -> Option<&Route> {
        let proxy = self.proxy(hostname);
        let host = proxy.map_or_else(
            || hostname.to_ascii_lowercase(),
            |p| p.proxy_hostname.clone(),
        );
        self.routes
            .iter()
            .filter(|matched| {
                let route = &matched.route;
                let in_scope =
                    route.scope == RouteScope::Global || route.proxy_hostnames.contains(&host);
                in_scope && allowed_by(proxy, &route.route_id)
            })
            .find(|matched| matched.matches(path))
            .map(|matched| &matched.route)
    }

    /// This snapshot with `proxy` stored at `hostname` (or removed, for `None`), at
    /// `revision`.
    pub fn with_proxy(&self, revision: u64, hostname: &str, proxy: Option<ProxyTarget>) -> Self {
        let mut next = self.clone();
        next.revision = revision;
        match proxy {
            Some(proxy) => {
                next.proxies.insert(hostname.to_owned(), Arc::new(proxy));
            }
            None => {
                next.proxies.remove(hostname);
            }
        }
        next
    }

    /// This snapshot with `route` stored as `route_id` (or removed, for `None` or a disabled
    /// route), at `revision`.
    pub fn with_route(&self, revision: u64, route_id: &str, route: Option<Route>) -> Self {
        let mut next = self.clone();
        next.revision = revision;
        next.routes
            .retain(|matched| matched.route.route_id != route_id);
        if let Some(route) = route.filter(|route| route.enabled) {
            let at = next
                .routes
                .partition_point(|m| Route::listing_order(&m.route, &route).is_lt());
            next.routes.insert(at, Arc::new(MatchedRoute::new(route)));
        }
        next
    }

    /// This snapshot at `revision`, for a change that does not touch it.
    pub fn at(&self, revision: u64) -> Self {
        let mut next = self.clone();
        next.revision = revision;
        next
    }

    /// Its proxies, in no order.
    pub(crate) fn proxies(&self) -> impl Iterator<Item = &ProxyTarget> {
        self.proxies.values().map(AsRef::as_ref)
    }

    /// Its enabled routes, in match order.
    pub(crate) fn routes(&self) -> impl Iterator<Item = &Route> {
        self.routes.iter().map(|matched| &matched.route)
    }

    /// The records that differ between `older` and this snapshot, each with its value in
    /// `older` (as JSON; `None` where it had none): what a reconcile pass found changed
    /// behind the feed's back.
    pub(crate) fn changed_since(
        &self,
        older: &ConfigSnapshot,
    ) -> Vec<(ChangeFamily, String, Option<String>)> {
        fn proxies(snapshot: &ConfigSnapshot) -> HashMap<&str, &ProxyTarget> {
            (snapshot.proxies.iter())
                .map(|(host, proxy)| (host.as_str(), proxy.as_ref()))
                .collect()
        }
        fn routes(snapshot: &ConfigSnapshot) -> HashMap<&str, &Route> {
            (snapshot.routes())
                .map(|route| (route.route_id.as_str(), route))
                .collect()
        }
        let mut changed = differing(ChangeFamily::Proxy, &proxies(older), &proxies(self));
        changed.extend(differing(
            ChangeFamily::Route,
            &routes(older),
            &routes(self),
        ));
        changed
    }

    fn sort_routes(&mut self) {
        self.routes
            .sort_by(|a, b| Route::listing_order(&a.route, &b.route));
    }
}

/// Whether a proxy's `route_mode` lets `route_id` apply to it (an unknown host takes every
/// route).
fn allowed_by(proxy: Option<&ProxyTarget>, route_id: &str) -> bool {
    let Some(proxy) = proxy else {
        return true;
    };
    match proxy.route_mode {
        RouteMode::All => !proxy.disabled_routes.iter().any(|r| r == route_id),
        RouteMode::Selective => proxy.enabled_routes.iter().any(|r| r == route_id),
        RouteMode::None => false,
    }
}

/// The ids whose record differs between `then` and `now`, in id order, with the record in
/// `then` as JSON.
fn differing<T: PartialEq + serde::Serialize>(
    family: ChangeFamily,
    then: &HashMap<&str, &T>,
    now: &HashMap<&str, &T>,
) -> Vec<(ChangeFamily, String, Option<String>)> {
    let mut ids: Vec<&str> = then.keys().chain(now.keys()).copied().collect();
    ids.sort_unstable();
    ids.dedup();
    ids.into_iter()
        .filter(|id| then.get(id) != now.get(id))
        .map(|id| {
            let before = then
                .get(id)
                .and_then(|record| serde_json::to_string(record).ok());
            (family, id.to_owned(), before)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot() -> ConfigSnapshot {
        let mut localhost = ProxyTarget::new("localhost", "http://127.0.0.1:9000");
        localhost.auth_excluded_paths = Some(vec!["/token".into()]);
        let mut api = ProxyTarget::new("api.example.com", "http://b:1");
        api.route_mode = RouteMode::Selective;
        api.enabled_routes = vec!["token".into(), "admin".into()];
        let mut admin = Route::to_url("admin", "^/admin/(users|keys)$", 60, "http://a:1");
        admin.is_regex = true;
        admin.scope = RouteScope::Proxy;
        admin.proxy_hostnames = vec!["api.example.com".into()];
        let mut off = Route::to_url("off", "/off", 999, "http://a:1");
        off.enabled = false;
        ConfigSnapshot::new(
            7,
            vec![localhost, api],
            vec![
                Route::to_url("token", "/token", 95, "http://a:1"),
                Route::to_url("docs", "/docs", 50, "http://a:1"),
                admin,
                off,
            ],
        )
    }

    #[test]
    fn lookups_follow_scope_mode_priority_and_pattern() {
        let snapshot = snapshot();
        assert_eq!(snapshot.revision(), 7);
        assert!(snapshot.proxy("LOCALHOST").is_some());
        assert!(
            snapshot.proxy("Api.Example.com.").is_some(),
            "an FQDN's dot"
        );
        assert!(snapshot.is_auth_excluded("localhost", "/token?x=1"));
        assert!(!snapshot.is_auth_excluded("unknown.example", "/token"));
        let id =
            |host: &str, path: &str| snapshot.route_for(host, path).map(|r| r.route_id.clone());
        assert_eq!(id("localhost", "/token"), Some("token".into()));
        assert_eq!(id("localhost", "/docs/x"), Some("docs".into()));
        assert_eq!(
            id("localhost", "/admin/users"),
            None,
            "admin is scoped to api"
        );
        assert_eq!(id("api.example.com", "/admin/users"), Some("admin".into()));
        assert_eq!(
            id("api.example.com", "/docs"),
            None,
            "selective: docs not enabled"
        );
        assert_eq!(
            id("localhost", "/off"),
            None,
            "disabled routes are not matched"
        );
    }

    #[test]
    fn changes_make_new_snapshots_and_leave_the_old_one_alone() {
        let old = snapshot();
        let new = old.with_route(8, "docs", None);
        assert_eq!(new.revision(), 8);
        assert!(new.route_for("localhost", "/docs").is_none());
        assert!(old.route_for("localhost", "/docs").is_some());
        let new = new.with_route(9, "top", Some(Route::to_url("top", "/", 999, "http://a:1")));
        assert_eq!(
            new.route_for("localhost", "/token").unwrap().route_id,
            "top"
        );
        let new = new.with_proxy(10, "localhost", None);
        assert!(new.proxy("localhost").is_none());
    }
}
