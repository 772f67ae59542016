//! The old storage layer, as a test double that writes exactly as it did: its keys, its JSON
//! shapes (nulls included), Python's `json.dumps` spacing for auth configs, separate
//! commands, and no index set of the new layer. And what its readers refuse, so a test can
//! check that the new layer writes only what they read.
//!
//! The shapes follow the records in `fixtures/legacy-records.jsonl` and the facts in
//! `docs/DESIGN.md`.

use base64::Engine;
use serde_json::{json, Map, Value};

/// A process of the old layer, writing to one Redis under a key prefix.
pub struct LegacyWriter {
    connection: Box<dyn redis::ConnectionLike + Send>,
    prefix: String,
}

/// When the old layer's records say they were made: naive, with microseconds, as its
/// `datetime.isoformat()` wrote.
pub const CREATED_AT: &str = "2026-11-27T11:18:30.103268";

impl LegacyWriter {
    /// A writer on `connection`, under `prefix` (empty for the deployment's layout).
    pub fn new(connection: impl redis::ConnectionLike + Send + 'static, prefix: &str) -> Self {
        LegacyWriter {
            connection: Box::new(connection),
            prefix: prefix.to_owned(),
        }
    }

    fn set(&mut self, key: &str, value: &str) {
        redis::cmd("SET")
            .arg(format!("{}{key}", self.prefix))
            .arg(value)
            .query::<()>(&mut *self.connection)
            .unwrap_or_else(|e| panic!("legacy SET {key}: {e}"));
    }

    fn del(&mut self, key: &str) {
        redis::cmd("DEL")
            .arg(format!("{}{key}", self.prefix))
            .query::<()>(&mut *self.connection)
            .unwrap_or_else(|e| panic!("legacy DEL {key}: {e}"));
    }

    /// A proxy as the old layer's `store_proxy_target` wrote it; `edit` changes fields of
    /// the record first. Returns the JSON written.
    pub fn proxy(
        &mut self,
        hostname: &str,
        target_url: &str,
        edit: impl FnOnce(&mut Map<String, Value>),
    ) -> String {
        let mut record = proxy_record(hostname, target_url);
        edit(&mut record);
        let text = Value::Object(record).to_string();
        self.set(&format!("proxy:{hostname}"), &text);
        text
    }

    /// Deletes a proxy as the old layer did.
    pub fn delete_proxy(&mut self, hostname: &str) {
        self.del(&format!("proxy:{hostname}"));
    }

    /// A route with its ordering and uniqueness keys, as three separate `SET`s. Returns the
    /// JSON written.
    pub fn route(&mut self, route_id: &str, path: &str, priority: i64, target_url: &str) -> String {
        let record = json!({
            "route_id": route_id,
            "path_pattern": path,
            "target_type": "url",
            "target_value": target_url,
            "priority": priority,
            "methods": null,
            "is_regex": false,
            "description": "",
            "enabled": true,
            "scope": "global",
            "proxy_hostnames": [],
            "created_at": CREATED_AT,
            "owner_token_hash": null,
            "created_by": null,
            "auth_config": null,
            "override_proxy_auth": false,
        });
        let text = record.to_string();
        self.set(&format!("route:{route_id}"), &text);
        self.set(
            &format!("route:priority:{:04}:{route_id}", 100 - priority),
            route_id,
        );
        let encoded = base64::engine::general_purpose::STANDARD.encode(path);
        self.set(&format!("route:unique:{encoded}:{priority}"), route_id);
        text
    }

    /// A certificate with its domain keys. `issued` gives `(issued_at, expires_at)`; `None`
    /// writes a certificate the ACME flow requested but did not issue: null PEMs, dates and
    /// fingerprint. Returns the JSON written.
    pub fn certificate(
        &mut self,
        cert_name: &str,
        domains: &[&str],
        issued: Option<(&str, &str)>,
    ) -> String {
        let mut record = json!({
            "cert_name": cert_name,
            "domains": domains,
            "email": "ops@example.org",
            "acme_directory_url": "https://acme-v02.api.letsencrypt.org/directory",
            "status": "pending",
            "expires_at": null,
            "issued_at": null,
            "fingerprint": null,
            "fullchain_pem": null,
            "private_key_pem": null,
            "created_by": null,
        });
        if let Some((issued_at, expires_at)) = issued {
            record["status"] = json!("active");
            record["issued_at"] = json!(issued_at);
            record["expires_at"] = json!(expires_at);
            record["fingerprint"] = json!("sha256:legacy");
            record["fullchain_pem"] =
                json!("-----BEGIN CERTIFICATE-----\nMIIBlegacy\n-----END CERTIFICATE-----\n");
            record["private_key_pem"] =
                json!("-----BEGIN PRIVATE KEY-----\nMIIElegacy\n-----END PRIVATE KEY-----\n");
        }
        let text = record.to_string();
        self.set(&format!("cert:{cert_name}"), &text);
        for domain in domains {
            self.set(&format!("cert:domain:{domain}"), cert_name);
        }
        text
    }

    /// An auth config: its id only in the key, `json.dumps` spacing, and the old layer's own
    /// index set. Returns the JSON written.
    pub fn auth_config(&mut self, id: &str, path_pattern: &str, priority: i64) -> String {
        let record = json!({
            "path_pattern": path_pattern,
            "methods": ["*"],
            "auth_type": "oauth",
            "auth_required": true,
            "owner_token": null,
            "scopes": ["admin"],
            "allowed_users": null,
            "priority": priority,
            "description": "",
            "enabled": true,
            "created_at": "2026-11-27T11:18:30.103268+00:00",
            "created_by": "ops",
        });
        let text = python_dumps(&record);
        self.set(&format!("auth:config:pattern:{id}"), &text);
        redis::cmd("SADD")
            .arg(format!("{}auth:config:index", self.prefix))
            .arg(id)
            .query::<()>(&mut *self.connection)
            .unwrap_or_else(|e| panic!("legacy SADD auth:config:index: {e}"));
        text
    }
}

fn proxy_record(hostname: &str, target_url: &str) -> Map<String, Value> {
    let record = json!({
        "proxy_hostname": hostname,
        "target_url": target_url,
        "cert_name": null,
        "created_by": null,
        "created_at": CREATED_AT,
        "enabled": true,
        "enable_http": true,
        "enable_https": true,
        "preserve_host_header": true,
        "custom_headers": null,
        "custom_response_headers": null,
        "auth_enabled": false,
        "auth_proxy": null,
        "auth_mode": "forward",
        "auth_required_users": null,
        "auth_required_emails": null,
        "auth_required_groups": null,
        "auth_allowed_scopes": null,
        "auth_allowed_audiences": null,
        "auth_pass_headers": true,
        "auth_cookie_name": "unified_auth_token",
        "auth_header_prefix": "X-Auth-",
        "auth_excluded_paths": null,
        "route_mode": "all",
        "enabled_routes": [],
        "disabled_routes": [],
        "resource_endpoint": null,
        "resource_scopes": null,
        "resource_stateful": false,
        "resource_versions": null,
        "resource_server_info": null,
        "resource_override_backend": false,
        "resource_bearer_methods": null,
        "resource_documentation_suffix": null,
        "resource_custom_metadata": null,
        "oauth_server_issuer": null,
        "oauth_server_pkce_required": true,
        "oauth_server_override_defaults": false,
        "github_client_id": null,
        "github_client_secret": null,
        "oauth_admin_users": null,
        "auth_realm": null,
        "auth_include_metadata_urls": true,
        "auth_additional_params": null,
    });
    match record {
        Value::Object(map) => map,
        _ => unreachable!("a JSON object literal"),
    }
}

/// `value` as Python's `json.dumps` writes it: `", "` between items, `": "` after keys.
pub fn python_dumps(value: &Value) -> String {
    match value {
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(python_dumps).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(map) => {
            let items: Vec<String> = map
                .iter()
                .map(|(key, value)| {
                    format!("{}: {}", Value::from(key.as_str()), python_dumps(value))
                })
                .collect();
            format!("{{{}}}", items.join(", "))
        }
        scalar => scalar.to_string(),
    }
}

/// The record families the old layer reads.
#[derive(Clone, Copy, Debug)]
pub enum Family {
    /// `proxy:{hostname}`.
    Proxy,
    /// `route:{route_id}`.
    Route,
    /// `cert:{cert_name}`.
    Certificate,
}

impl Family {
    /// The fields its readers refuse when absent or `null` (one such record makes their whole
    /// listing raise).
    fn required(self) -> &'static [&'static str] {
        match self {
            Family::Proxy => &[
                "proxy_hostname",
                "target_url",
                "created_at",
                "enabled",
                "enable_http",
                "enable_https",
                "preserve_host_header",
                "auth_enabled",
                "auth_mode",
                "auth_pass_headers",
                "auth_cookie_name",
                "auth_header_prefix",
                "route_mode",
                "enabled_routes",
                "disabled_routes",
                "resource_stateful",
                "resource_override_backend",
                "oauth_server_pkce_required",
                "oauth_server_override_defaults",
                "auth_include_metadata_urls",
            ],
            Family::Route => &[
                "route_id",
                "path_pattern",
                "target_type",
                "target_value",
                "priority",
                "is_regex",
                "description",
                "enabled",
                "scope",
                "proxy_hostnames",
                "created_at",
                "override_proxy_auth",
            ],
            Family::Certificate => &[
                "cert_name",
                "domains",
                "email",
                "acme_directory_url",
                "status",
            ],
        }
    }
}

/// Whether the old layer's readers accept `json` as a record of `family`; the error names
/// the fields they would refuse.
pub fn check_readable(family: Family, json: &str) -> Result<(), String> {
    let record: Value = serde_json::from_str(json).map_err(|e| format!("not JSON: {e}"))?;
    let refused: Vec<&str> = family
        .required()
        .iter()
        .copied()
        .filter(|field| record.get(field).is_none_or(Value::is_null))
        .collect();
    if refused.is_empty() {
        Ok(())
    } else {
        Err(format!("{family:?} lacks or nulls {refused:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    #[test]
    fn python_spacing_matches_the_deployments_auth_config() {
        let stored = fixtures::record("auth:config:pattern:admin-area").text();
        let value: Value = serde_json::from_str(stored).unwrap();
        assert_eq!(python_dumps(&value), stored);
    }

    #[test]
    fn the_readers_check_accepts_the_deployment_and_refuses_nulls() {
        for (key, family) in [
            ("proxy:api.example.com", Family::Proxy),
            ("route:token", Family::Route),
            ("cert:pending-cert", Family::Certificate),
        ] {
            check_readable(family, fixtures::record(key).text()).unwrap();
        }
        let refused = check_readable(Family::Proxy, r#"{"proxy_hostname":"a","created_at":null}"#);
        assert!(refused.unwrap_err().contains("created_at"));
    }
}
