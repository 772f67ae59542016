//! `ProxyTarget`: one hostname the gateway serves, where it forwards, and how it authenticates.
//!
//! The field set is the existing deployment's record, field for field; anything this version
//! does not know lands in [`ProxyTarget::extra`] and is written back unchanged.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::family::{self, Family};
use super::validate;
use super::Record;
use super::{Secret, Timestamp};
use crate::error::Result;

/// How an authenticated proxy checks requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// Validate the token and forward the request.
    #[default]
    Forward,
    /// Send unauthenticated users to the login flow.
    Redirect,
    /// Forward without checking; the backend decides.
    Passthrough,
}

/// Which routes apply to a proxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteMode {
    /// Every route except `disabled_routes`.
    #[default]
    All,
    /// Only `enabled_routes`.
    Selective,
    /// No routes: everything goes to `target_url`.
    None,
}

/// A proxy target, stored at `proxy:{proxy_hostname}`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProxyTarget {
    /// The hostname it serves, lower-cased; part of its key.
    pub proxy_hostname: String,
    /// Where requests are forwarded: an absolute `http` or `https` URL.
    pub target_url: String,
    /// The certificate that serves its HTTPS, by name (may not exist yet; the old layer writes `""` for none).
    pub cert_name: Option<String>,
    /// Who created it (a user, `system` for defaults).
    pub created_by: Option<String>,
    /// When it was created. Always written: the old readers refuse a record without it.
    pub created_at: Option<Timestamp>,
    /// Whether it is served at all.
    pub enabled: bool,
    /// Serve plain HTTP.
    pub enable_http: bool,
    /// Serve HTTPS.
    pub enable_https: bool,
    /// Pass the client's `Host` header to the target instead of the target's own.
    pub preserve_host_header: bool,
    /// Headers added to each forwarded request.
    pub custom_headers: Option<BTreeMap<String, String>>,
    /// Headers added to each response.
    pub custom_response_headers: Option<BTreeMap<String, String>>,
    /// Whether requests need authentication.
    pub auth_enabled: bool,
    /// The hostname of the proxy that runs the login flow for this one.
    pub auth_proxy: Option<String>,
    /// How an authenticated request is checked.
    pub auth_mode: AuthMode,
    /// Only these users pass (any authenticated user if unset).
    pub auth_required_users: Option<Vec<String>>,
    /// Only these emails pass.
    pub auth_required_emails: Option<Vec<String>>,
    /// Only members of these groups pass.
    pub auth_required_groups: Option<Vec<String>>,
    /// Tokens must carry one of these scopes.
    pub auth_allowed_scopes: Option<Vec<String>>,
    /// Tokens must be issued for one of these audiences.
    pub auth_allowed_audiences: Option<Vec<String>>,
    /// Pass the authenticated identity to the target in headers.
    pub auth_pass_headers: bool,
    /// The cookie that carries the session.
    pub auth_cookie_name: String,
    /// The prefix of the identity headers passed to the target.
    pub auth_header_prefix: String,
    /// Paths served without authentication (see [`ProxyTarget::is_auth_excluded`]).
    pub auth_excluded_paths: Option<Vec<String>>,
    /// Which routes apply to this proxy.
    pub route_mode: RouteMode,
    /// The routes that apply in [`RouteMode::Selective`].
    pub enabled_routes: Vec<String>,
    /// The routes that do not apply in [`RouteMode::All`].
    pub disabled_routes: Vec<String>,
    /// The path of its OAuth protected resource, if it publishes metadata (RFC 9728).
    pub resource_endpoint: Option<String>,
    /// Scopes the protected resource accepts.
    pub resource_scopes: Option<Vec<String>>,
    /// Whether the resource keeps sessions.
    pub resource_stateful: bool,
    /// Protocol versions the resource speaks.
    pub resource_versions: Option<Vec<String>>,
    /// Server information published with the metadata.
    pub resource_server_info: Option<Map<String, Value>>,
    /// Publish this metadata instead of the backend's own.
    pub resource_override_backend: bool,
    /// How bearer tokens may be sent (`header`, `body`, `query`).
    pub resource_bearer_methods: Option<Vec<String>>,
    /// Appended to the resource URL to link its documentation.
    pub resource_documentation_suffix: Option<String>,
    /// Extra metadata fields published as they are.
    pub resource_custom_metadata: Option<Map<String, Value>>,
    /// The issuer to publish when this proxy fronts its own authorization server.
    pub oauth_server_issuer: Option<String>,
    /// Whether its authorization server requires PKCE.
    pub oauth_server_pkce_required: bool,
    /// Use this proxy's authorization-server settings instead of the gateway's.
    pub oauth_server_override_defaults: bool,
    /// The GitHub OAuth app used for its logins, if it has its own.
    pub github_client_id: Option<String>,
    /// That app's secret; prints as its length.
    pub github_client_secret: Option<Secret>,
    /// Users with admin rights on its authorization server.
    pub oauth_admin_users: Option<Vec<String>>,
    /// The realm named in `WWW-Authenticate` challenges.
    pub auth_realm: Option<String>,
    /// Name the metadata URLs in `WWW-Authenticate` challenges.
    pub auth_include_metadata_urls: bool,
    /// Extra parameters for `WWW-Authenticate` challenges.
    pub auth_additional_params: Option<Map<String, Value>>,
    /// The hash of the API token that owns it; prints as its length.
    pub owner_token_hash: Option<Secret>,
    /// A counter the old layer kept for its caches.
    pub config_version: Option<u64>,
    /// When it was last changed.
    pub updated_at: Option<Timestamp>,
    /// Fields this version does not know, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for ProxyTarget {
    fn default() -> Self {
        ProxyTarget {
            proxy_hostname: String::new(),
            target_url: String::new(),
            cert_name: None,
            created_by: None,
            created_at: None,
            enabled: true,
            enable_http: true,
            enable_https: true,
            preserve_host_header: true,
            custom_headers: None,
            custom_response_headers: None,
            auth_enabled: false,
            auth_proxy: None,
            auth_mode: AuthMode::Forward,
            auth_required_users: None,
            auth_required_emails: None,
            auth_required_groups: None,
            auth_allowed_scopes: None,
            auth_allowed_audiences: None,
            auth_pass_headers: true,
            auth_cookie_name: "unified_auth_token".to_owned(),
            auth_header_prefix: "X-Auth-".to_owned(),
            auth_excluded_paths: None,
            route_mode: RouteMode::All,
            enabled_routes: Vec::new(),
            disabled_routes: Vec::new(),
            resource_endpoint: None,
            resource_scopes: None,
            resource_stateful: false,
            resource_versions: None,
            resource_server_info: None,
            resource_override_backend: false,
            resource_bearer_methods: None,
            resource_documentation_suffix: None,
            resource_custom_metadata: None,
            oauth_server_issuer: None,
            oauth_server_pkce_required: true,
            oauth_server_override_defaults: false,
            github_client_id: None,
            github_client_secret: None,
            oauth_admin_users: None,
            auth_realm: None,
            auth_include_metadata_urls: true,
            auth_additional_params: None,
            owner_token_hash: None,
            config_version: None,
            updated_at: None,
            extra: Map::new(),
        }
    }
}

impl ProxyTarget {
    /// A proxy for `hostname` forwarding to `target_url`, every other field at its default.
    /// Nothing is checked until it is stored (or [`normalize`](Self::normalize) is called).
    pub fn new(hostname: impl Into<String>, target_url: impl Into<String>) -> Self {
        ProxyTarget {
            proxy_hostname: hostname.into(),
            target_url: target_url.into(),
            created_at: Some(Timestamp::now()),
            ..ProxyTarget::default()
        }
    }

    /// Brings the record to canonical form (hostname trimmed and lower-cased) and checks every
    /// rule; the error names the first field that breaks one.
    pub fn normalize(&mut self) -> Result<()> {
        self.proxy_hostname = validate::hostname("proxy_hostname", &self.proxy_hostname)?;
        validate::http_url("target_url", &self.target_url)?;
        for path in self.auth_excluded_paths.iter().flatten() {
            validate::path("auth_excluded_paths", path)?;
        }
        for (name, value) in self.custom_headers.iter().flatten() {
            validate::header("custom_headers", name, value)?;
        }
        for (name, value) in self.custom_response_headers.iter().flatten() {
            validate::header("custom_response_headers", name, value)?;
        }
        if let Some(endpoint) = &self.resource_endpoint {
            validate::path("resource_endpoint", endpoint)?;
        }
        if let Some(auth_proxy) = &self.auth_proxy {
            validate::hostname("auth_proxy", auth_proxy)?;
        }
        Ok(())
    }

    /// Whether it serves every path without authentication: `auth_excluded_paths` holds `/`,
    /// which turns authentication off for the whole host. Stores refuse it unless the
    /// configuration allows it (`StorageConfig::with_root_auth_exclusion_allowed`).
    pub fn excludes_root_from_auth(&self) -> bool {
        self.auth_excluded_paths
            .iter()
            .flatten()
            .any(|path| path == "/")
    }

    /// Whether `path` is served without authentication. An entry ending in `/` matches as a
    /// prefix; any other entry matches the path itself or the path followed by `/` or `?`.
    ///
    /// ```
    /// use storage::ProxyTarget;
    ///
    /// let mut proxy = ProxyTarget::new("localhost", "http://127.0.0.1:9000");
    /// proxy.auth_excluded_paths = Some(vec!["/token".into(), "/.well-known/".into()]);
    /// assert!(proxy.is_auth_excluded("/token"));
    /// assert!(proxy.is_auth_excluded("/token?grant_type=refresh_token"));
    /// assert!(proxy.is_auth_excluded("/.well-known/jwks.json"));
    /// assert!(!proxy.is_auth_excluded("/tokens"));
    /// ```
    ///
    /// A default proxy (`localhost`) always excludes the paths OAuth needs, even if this
    /// record lost them:
    ///
    /// ```
    /// use storage::ProxyTarget;
    ///
    /// let bare = ProxyTarget::new("localhost", "http://127.0.0.1:9000");
    /// assert!(bare.is_auth_excluded("/token"));
    /// ```
    pub fn is_auth_excluded(&self, path: &str) -> bool {
        let own = |entry: &String| path_matches(entry, path);
        self.auth_excluded_paths.iter().flatten().any(own)
            || crate::seed::default_proxy(&self.proxy_hostname).is_some_and(|default| {
                default
                    .auth_excluded_paths
                    .iter()
                    .any(|entry| path_matches(entry, path))
            })
    }

    /// Whether this proxy publishes OAuth protected-resource metadata.
    pub fn has_resource_metadata(&self) -> bool {
        self.resource_endpoint
            .as_deref()
            .is_some_and(|endpoint| !endpoint.is_empty())
    }
}

fn path_matches(entry: &str, path: &str) -> bool {
    if entry.ends_with('/') {
        return path.starts_with(entry);
    }
    match path.strip_prefix(entry) {
        Some(rest) => rest.is_empty() || rest.starts_with('/') || rest.starts_with('?'),
        None => false,
    }
}

impl fmt::Debug for ProxyTarget {
    // Hand-written to keep the output short and the secrets out; `Secret` fields print as
    // their length.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyTarget")
            .field("proxy_hostname", &self.proxy_hostname)
            .field("target_url", &self.target_url)
            .field("enabled", &self.enabled)
            .field("auth_enabled", &self.auth_enabled)
            .field("auth_mode", &self.auth_mode)
            .field("auth_excluded_paths", &self.auth_excluded_paths)
            .field("route_mode", &self.route_mode)
            .field("resource_endpoint", &self.resource_endpoint)
            .field("github_client_secret", &self.github_client_secret)
            .field("owner_token_hash", &self.owner_token_hash)
            .field("extra_fields", &self.extra.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Record for ProxyTarget {
    const ID_FIELD: &'static str = "proxy_hostname";
    const FAMILY: Option<&'static Family> = Some(&family::PROXIES);

    fn id(&self) -> &str {
        &self.proxy_hostname
    }

    fn normalize(&mut self) -> Result<()> {
        ProxyTarget::normalize(self)
    }

    fn fill_required(&mut self) {
        self.created_at.get_or_insert_with(Timestamp::now);
    }

    fn keep_required(&mut self) {
        if let Some(default) = crate::seed::default_proxy(&self.proxy_hostname) {
            default.repair(self);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    #[test]
    fn exclusion_matching() {
        let cases = [
            ("/token", "/token", true),
            ("/token", "/token/", true),
            ("/token", "/token?x=1", true),
            ("/token", "/tokens", false),
            ("/token", "/tok", false),
            ("/device/", "/device/code", true),
            ("/device/", "/device", false),
            (
                "/.well-known/",
                "/.well-known/oauth-authorization-server",
                true,
            ),
        ];
        for (entry, path, expected) in cases {
            assert_eq!(path_matches(entry, path), expected, "{entry} vs {path}");
        }
    }

    #[test]
    fn normalize_names_the_bad_field() {
        let mut proxy = ProxyTarget::new("  Api.Example.COM ", "http://backend:8080");
        proxy.normalize().unwrap();
        assert_eq!(proxy.proxy_hostname, "api.example.com");

        let field_of = |proxy: &mut ProxyTarget| match proxy.normalize() {
            Err(Error::Invalid { field, .. }) => field,
            other => panic!("expected Invalid, got {other:?}"),
        };
        for bad in ["", "a b", "*.x", "a:80", "{gw}"] {
            assert_eq!(
                field_of(&mut ProxyTarget::new(bad, "http://b")),
                "proxy_hostname"
            );
        }
        for bad in ["ftp://b", "b:80", "http://"] {
            assert_eq!(field_of(&mut ProxyTarget::new("a", bad)), "target_url");
        }
        let mut proxy = ProxyTarget::new("a", "http://b");
        proxy.auth_excluded_paths = Some(vec!["token".into()]);
        assert_eq!(field_of(&mut proxy), "auth_excluded_paths");
    }

    #[test]
    fn debug_hides_secrets() {
        let mut proxy = ProxyTarget::new("a", "http://b");
        proxy.github_client_secret = Some(Secret::new("s3cr3t-value"));
        let shown = format!("{proxy:?}");
        assert!(!shown.contains("s3cr3t-value"), "{shown}");
        assert!(shown.contains("12 bytes"), "{shown}");
    }
}
