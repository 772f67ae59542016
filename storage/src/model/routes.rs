//! `Route`: a path rule that sends matching requests to a port, service, host or URL.
//!
//! Old records may lack `scope` and `proxy_hostnames`; they read as global routes.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::family::{self, Family};
use super::validate;
use super::Record;
use super::{Secret, Timestamp};
use crate::error::{Error, Result};

/// Highest route priority.
pub const MAX_PRIORITY: u16 = 999;

/// The longest regex `path_pattern`, and the most memory its compiled program may take: a
/// pattern that parses but compiles to megabytes (`a{1000}{1000}`) is refused, because
/// every gateway process compiles every route.
pub(crate) const MAX_REGEX_LEN: usize = 1024;
pub(crate) const MAX_REGEX_PROGRAM: usize = 256 * 1024;

/// What kind of destination `target_value` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetType {
    /// A local port (`target_value` is a number).
    Port,
    /// A named backend service.
    Service,
    /// A hostname served by another proxy target.
    Hostname,
    /// An absolute http(s) URL.
    Url,
}

/// The destination: a port number, or a name or URL.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TargetValue {
    /// A port, stored as a JSON number.
    Port(i64),
    /// A service name, hostname or URL, stored as a JSON string.
    Text(String),
}

/// Whether a route applies everywhere or to some proxies only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteScope {
    /// Every proxy.
    #[default]
    Global,
    /// Only the proxies in `proxy_hostnames`.
    Proxy,
}

/// A route, stored at `route:{route_id}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Route {
    /// Its id; part of its key.
    pub route_id: String,
    /// The path it matches: a prefix starting with `/`, or a regex when `is_regex`.
    pub path_pattern: String,
    /// What kind of destination `target_value` names.
    pub target_type: TargetType,
    /// Where matching requests go.
    pub target_value: TargetValue,
    /// Higher priorities are matched first; `0..=999`.
    pub priority: u16,
    /// Only these HTTP methods match (any if unset); upper-cased.
    #[serde(default)]
    pub methods: Option<Vec<String>>,
    /// Whether `path_pattern` is a regex.
    #[serde(default)]
    pub is_regex: bool,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// Whether it is matched at all; default true.
    #[serde(default = "enabled_default")]
    pub enabled: bool,
    /// Whether it applies to every proxy or to `proxy_hostnames` only.
    #[serde(default)]
    pub scope: RouteScope,
    /// The proxies it applies to when `scope` is `proxy`.
    #[serde(default)]
    pub proxy_hostnames: Vec<String>,
    /// When it was created. Always written: the old readers refuse a record without it.
    #[serde(default)]
    pub created_at: Option<Timestamp>,
    /// The hash of the API token that owns it; prints as its length.
    #[serde(default)]
    pub owner_token_hash: Option<Secret>,
    /// Who created it.
    #[serde(default)]
    pub created_by: Option<String>,
    /// Authentication rules for this route, kept as written.
    #[serde(default)]
    pub auth_config: Option<Value>,
    /// Apply `auth_config` instead of the proxy's own authentication.
    #[serde(default)]
    pub override_proxy_auth: bool,
    /// Fields this version does not know, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn enabled_default() -> bool {
    true
}

impl Route {
    /// An enabled, global route forwarding `path_pattern` to `url`.
    pub fn to_url(
        route_id: impl Into<String>,
        path_pattern: impl Into<String>,
        priority: u16,
        url: impl Into<String>,
    ) -> Self {
        Route {
            route_id: route_id.into(),
            path_pattern: path_pattern.into(),
            target_type: TargetType::Url,
            target_value: TargetValue::Text(url.into()),
            priority,
            methods: None,
            is_regex: false,
            description: String::new(),
            enabled: true,
            scope: RouteScope::Global,
            proxy_hostnames: Vec::new(),
            created_at: Some(Timestamp::now()),
            owner_token_hash: None,
            created_by: None,
            auth_config: None,
            override_proxy_auth: false,
            extra: Map::new(),
        }
    }

    /// Brings the route to canonical form (methods upper-cased, hostnames lower-cased) and
    /// checks every rule; the error names the first field that breaks one.
    pub fn normalize(&mut self) -> Result<()> {
        validate::record_id("route_id", &self.route_id)?;
        if self.priority > MAX_PRIORITY {
            return Err(Error::invalid(
                "priority",
                format!("must be within 0..={MAX_PRIORITY}"),
            ));
        }
        if self.is_regex {
            if self.path_pattern.len() > MAX_REGEX_LEN {
                return Err(Error::invalid(
                    "path_pattern",
                    format!("a regex must be at most {MAX_REGEX_LEN} bytes"),
                ));
            }
            regex::RegexBuilder::new(&self.path_pattern)
                .size_limit(MAX_REGEX_PROGRAM)
                .build()
                .map_err(|e| Error::invalid("path_pattern", e))?;
        } else {
            validate::path("path_pattern", &self.path_pattern)?;
        }
        for method in self.methods.iter_mut().flatten() {
            *method = method.trim().to_ascii_uppercase();
            if method.is_empty() || !method.chars().all(|c| c.is_ascii_alphabetic()) {
                return Err(Error::invalid("methods", "must be HTTP method names"));
            }
        }
        for hostname in &mut self.proxy_hostnames {
            *hostname = validate::hostname("proxy_hostnames", hostname)?;
        }
        match (self.scope, self.proxy_hostnames.is_empty()) {
            (RouteScope::Proxy, true) => {
                return Err(Error::invalid(
                    "proxy_hostnames",
                    "a route with scope `proxy` needs at least one hostname",
                ))
            }
            (RouteScope::Global, false) => {
                return Err(Error::invalid(
                    "scope",
                    "must be `proxy` when proxy_hostnames is not empty",
                ))
            }
            _ => {}
        }
        self.check_target()
    }

    fn check_target(&self) -> Result<()> {
        match (self.target_type, &self.target_value) {
            (TargetType::Port, TargetValue::Port(port)) if (1..=65535).contains(port) => Ok(()),
            (TargetType::Port, _) => Err(Error::invalid(
                "target_value",
                "a port target must be a number within 1..=65535",
            )),
            (TargetType::Url, TargetValue::Text(url)) => validate::http_url("target_value", url),
            (TargetType::Service | TargetType::Hostname, TargetValue::Text(name))
                if !name.trim().is_empty() =>
            {
                Ok(())
            }
            _ => Err(Error::invalid(
                "target_value",
                "must be a non-empty name or URL for this target_type",
            )),
        }
    }

    /// The order `list_routes` returns: priority descending, then route id.
    pub fn listing_order(&self, other: &Route) -> Ordering {
        other
            .priority
            .cmp(&self.priority)
            .then_with(|| self.route_id.cmp(&other.route_id))
    }
}

impl Record for Route {
    const ID_FIELD: &'static str = "route_id";
    const FAMILY: Option<&'static Family> = Some(&family::ROUTES);

    fn id(&self) -> &str {
        &self.route_id
    }

    fn normalize(&mut self) -> Result<()> {
        Route::normalize(self)
    }

    fn listing_order(a: &Self, b: &Self) -> Ordering {
        Route::listing_order(a, b)
    }

    fn fill_required(&mut self) {
        self.created_at.get_or_insert_with(Timestamp::now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(mut route: Route) -> &'static str {
        match route.normalize() {
            Err(Error::Invalid { field, .. }) => field,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn normalize_upper_cases_methods() {
        let mut route = Route::to_url("r", "/x", 50, "http://api:9000");
        route.methods = Some(vec!["get".into(), " Post ".into()]);
        route.normalize().unwrap();
        assert_eq!(route.methods, Some(vec!["GET".into(), "POST".into()]));
    }

    #[test]
    fn normalize_names_the_bad_field() {
        let base = Route::to_url("r", "/x", 50, "http://api:9000");
        assert_eq!(
            field_of(Route {
                priority: 1000,
                ..base.clone()
            }),
            "priority"
        );
        assert_eq!(
            field_of(Route {
                route_id: "a:b".into(),
                ..base.clone()
            }),
            "route_id"
        );
        assert_eq!(
            field_of(Route {
                path_pattern: "x".into(),
                ..base.clone()
            }),
            "path_pattern"
        );
        let bad_regex = Route {
            path_pattern: "^/(a".into(),
            is_regex: true,
            ..base.clone()
        };
        assert_eq!(field_of(bad_regex), "path_pattern");
        let no_hosts = Route {
            scope: RouteScope::Proxy,
            ..base.clone()
        };
        assert_eq!(field_of(no_hosts), "proxy_hostnames");
        let hosts_but_global = Route {
            proxy_hostnames: vec!["a".into()],
            ..base.clone()
        };
        assert_eq!(field_of(hosts_but_global), "scope");
        let bad_port = Route {
            target_type: TargetType::Port,
            target_value: TargetValue::Port(70000),
            ..base.clone()
        };
        assert_eq!(field_of(bad_port), "target_value");
        let ftp = Route {
            target_value: TargetValue::Text("ftp://x".into()),
            ..base
        };
        assert_eq!(field_of(ftp), "target_value");
    }

    #[test]
    fn listing_order_is_priority_then_id() {
        let mut routes = [
            Route::to_url("b", "/b", 50, "http://a"),
            Route::to_url("a", "/a", 50, "http://a"),
            Route::to_url("c", "/c", 90, "http://a"),
        ];
        routes.sort_by(Route::listing_order);
        let ids: Vec<_> = routes.iter().map(|r| r.route_id.as_str()).collect();
        assert_eq!(ids, ["c", "a", "b"]);
    }
}
