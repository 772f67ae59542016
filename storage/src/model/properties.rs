//! Property tests of every model's decode, validate and encode: arbitrary bytes never panic,
//! valid records round-trip, fields this version does not know survive.

use proptest::prelude::*;
use serde_json::{json, Value};

use super::oauth::{AccessToken, OAuthClient};
use super::{decode, encode, AuthConfig, Certificate, Challenge, ProxyTarget, Record, Route};

/// Decoding anything must answer, never panic: the value came from Redis.
fn decodes_without_panic(bytes: &[u8]) {
    let _ = decode::<ProxyTarget>("proxy:a.example", bytes);
    let _ = decode::<Route>("route:r", bytes);
    let _ = decode::<Certificate>("cert:c", bytes);
    let _ = decode::<AuthConfig>("auth:config:pattern:a", bytes);
    let _ = decode::<Challenge>("challenge:t", bytes);
    let _ = decode::<OAuthClient>("oauth:client:c", bytes);
    let _ = decode::<AccessToken>("oauth:token:{j}", bytes);
}

/// A host for a URL: no `-`, since IDNA refuses labels with `--` in their third and fourth
/// places (`ab--c`), which RFC 1123 hostnames allow.
fn url_host() -> impl Strategy<Value = String> {
    proptest::collection::vec("[a-z][a-z0-9]{0,10}", 1..4).prop_map(|labels| labels.join("."))
}

fn hostname() -> impl Strategy<Value = String> {
    proptest::collection::vec("[a-z]([a-z0-9-]{0,10}[a-z0-9])?", 1..4)
        .prop_map(|labels| labels.join("."))
}

fn path() -> impl Strategy<Value = String> {
    "/[a-zA-Z0-9/._-]{0,30}"
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i32>().prop_map(Value::from),
        "[ -~]{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map("[a-z]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn proxy() -> impl Strategy<Value = ProxyTarget> {
    (
        hostname(),
        url_host(),
        proptest::collection::vec(path(), 0..4),
        any::<(bool, bool, bool)>(),
    )
        .prop_map(|(host, target, paths, (auth, http, https))| {
            let mut proxy = ProxyTarget::new(host, format!("http://{target}:8080"));
            proxy.auth_enabled = auth;
            proxy.enable_http = http;
            proxy.enable_https = https;
            proxy.auth_excluded_paths = Some(paths.into_iter().filter(|p| p != "/").collect());
            proxy
        })
}

fn route() -> impl Strategy<Value = Route> {
    ("[a-z][a-z0-9-]{0,20}", path(), 0u16..=999, url_host()).prop_map(
        |(id, path, priority, host)| Route::to_url(id, path, priority, format!("https://{host}/")),
    )
}

fn certificate() -> impl Strategy<Value = Certificate> {
    (
        "[a-z][a-z0-9_-]{0,20}",
        proptest::collection::btree_set(hostname(), 1..4),
    )
        .prop_map(|(name, domains)| Certificate::new(name, domains, "ops@example.org"))
}

/// `record` encoded, decoded from under its key, and encoded again: the same record.
fn round_trips<T: Record + PartialEq + std::fmt::Debug + Clone>(key: &str, mut record: T) {
    let json = encode(&mut record).expect("a valid record encodes");
    let back: T = decode(key, json.as_bytes()).expect("what was encoded decodes");
    assert_eq!(back, record);
}

/// An unknown field added to `record`'s JSON is still there after a decode and an encode.
fn keeps_unknown<T: Record>(key: &str, mut record: T, name: &str, value: Value) {
    let mut json: Value = serde_json::from_str(&encode(&mut record).unwrap()).unwrap();
    let field = format!("future_{name}");
    json[&field] = value.clone();
    let mut back: T = decode(key, json.to_string().as_bytes()).unwrap();
    let again: Value = serde_json::from_str(&encode(&mut back).unwrap()).unwrap();
    assert_eq!(again[&field], value);
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        decodes_without_panic(&bytes);
    }

    #[test]
    fn arbitrary_json_never_panics(value in json_value()) {
        decodes_without_panic(value.to_string().as_bytes());
    }

    #[test]
    fn legacy_shaped_records_with_arbitrary_fields_never_panic(
        field in "[a-z_]{1,24}",
        value in json_value(),
    ) {
        let mut proxy = json!({"proxy_hostname": "a.example", "target_url": "http://b:1"});
        proxy[&field] = value.clone();
        let mut route = json!({"route_id": "r", "path_pattern": "/r", "target_type": "url",
            "target_value": "http://b:1", "priority": 1});
        route[&field] = value;
        decodes_without_panic(proxy.to_string().as_bytes());
        decodes_without_panic(route.to_string().as_bytes());
    }

    #[test]
    fn valid_proxies_round_trip(proxy in proxy()) {
        let key = format!("proxy:{}", proxy.proxy_hostname);
        round_trips(&key, proxy);
    }

    #[test]
    fn valid_routes_round_trip(route in route()) {
        let key = format!("route:{}", route.route_id);
        round_trips(&key, route);
    }

    #[test]
    fn valid_certificates_round_trip(cert in certificate()) {
        let key = format!("cert:{}", cert.cert_name);
        round_trips(&key, cert);
    }

    #[test]
    fn valid_auth_configs_round_trip(id in "[a-z][a-z0-9-]{0,20}", pattern in path(), priority in -100i64..100) {
        let mut config = AuthConfig::new(id, pattern);
        config.priority = priority;
        let key = format!("auth:config:pattern:{}", config.id);
        round_trips(&key, config);
    }

    #[test]
    fn unknown_fields_survive(name in "[a-z]{1,10}", value in json_value(), proxy in proxy(), route in route(), cert in certificate()) {
        let key = format!("proxy:{}", proxy.proxy_hostname);
        keeps_unknown(&key, proxy, &name, value.clone());
        let key = format!("route:{}", route.route_id);
        keeps_unknown(&key, route, &name, value.clone());
        let key = format!("cert:{}", cert.cert_name);
        keeps_unknown(&key, cert, &name, value.clone());
        let config = AuthConfig::new("a", "/a/*");
        keeps_unknown("auth:config:pattern:a", config, &name, value);
    }
}
